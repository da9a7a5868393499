/**
 * The hub: it takes its members' closed buckets into its own store, so every answer of this
 * monitor (queries, history, /metrics, reports, MCP tools, alert rules) covers the cluster
 * with no change downstream. Each bucket goes into two series: the member's own (its tags
 * plus `instance`) and the cluster-wide one (its tags alone), where the store merges the
 * buckets of every member, sketches included, bin by bin: a cluster p99 is as exact as one
 * process's. The cluster-wide series also holds what the hub process records itself.
 *
 * Buckets are applied by the collector (the store's one writer). The cluster-wide series adds
 * each into its bucket of the interval after the one it was recorded in, held open while a live
 * member's is still due (awaitPeers holds the punctual members' next batches); the member's
 * own series takes it as the closed record it is, at the start it had on the member, with no
 * open sketch to fill and close (two thirds of the hub collector's work when it did), unless
 * that record would not come after the series' newest or would fall in a minute already
 * rolled up (a restarted member's first bucket, in the interval of its predecessor's last; a
 * bucket that waited past its minute for a reconnection): that one goes into the open bucket
 * of now, as the cluster-wide series' does where its own cannot be (Engine.applyBuckets). Per member the hub keeps the
 * highest seq applied in this member's epoch; a batch at or below it is acknowledged and not
 * applied again. A failed apply (the collector being replaced) answers with a new welcome,
 * which makes the member resend in order; the store knows how far into a batch a killed
 * collector got (by the member epoch's key and the seq, StoreWriter.beginBatch), so a resent
 * batch goes on after its rows applied. A member that stops talking is marked stale after
 * staleMs and forgotten after dropMs (its series stay).
 *
 * With a store on disk (HubDeps.disk, durable.ts) a batch is acknowledged only once a flush
 * that holds it committed, the flushes run between applies with the members' numbers in their
 * transaction, and a hub that starts welcomes each member with the numbers the disk holds.
 *
 * Bad input never reaches the host as a throw: an undecodable frame or a protocol breach is
 * counted (malformed), reported as a fault, and that link is reset; an entry the store
 * refuses (kind clash, cardinality, a tag named instance) is skipped, counted and named. The
 * members and their series definitions are kept within bounds (hello, define): a peer sending
 * ever new names or definitions would otherwise grow the hub without end.
 */
import { randomUUID } from 'node:crypto';
import type { AppliedBuckets } from '../engine/engine.js';
import { clearInterval, clearTimeout, setImmediate, setInterval, setTimeout, wallNow } from '../engine/real-timers.js';
import { INSTANCE_TAG, MAX_NAME_LENGTH, canonicalTags, validateName, type Registry } from '../engine/registry.js';
import { decodeSketchRange } from '../storage/sketch-codec.js';
import { DurableAcks, type HubSeq, type SeqDisk } from './durable.js';
import type { ResolvedHubOptions } from './options.js';
import type { HubConnection, HubConnections, HubTransport } from './transport.js';
import { WireError, decodeMemberMessage, type Batch, type Def, type HubMessage, type MemberMessage } from './wire.js';

/** How often a batch waiting for a late member's buckets (awaitPeers) looks again. */
const PEER_POLL_MS = 20;
/** Wait before asking a member to resend after a failed apply. */
const RESYNC_MS = 250;
/** The fewest intervals of silence after which a member is stale, and forgotten (see sweep). */
const STALE_INTERVALS = 2;
const DROP_INTERVALS = 3;
/** Forgotten members whose numbers a hub on memory keeps, for when they come back (the oldest go first). */
const FORGOTTEN_KEPT = 4_096;

export interface HubMemberStatus {
  instance: string;
  /** 'stopped': it said it was stopping (a clean stop), and is not marked stale for its silence after. */
  state: 'live' | 'stale' | 'stopped';
  connected: boolean;
  /** What carries its link now (a cluster worker: the primary's socket or its IPC channel); null when it has none. */
  via: 'socket' | 'channel' | null;
  /** Buckets applied from this member, and batches. */
  buckets: number;
  batches: number;
  /** Entries refused (see lastError) and applies that failed (resent). */
  failed: number;
  /** Batches the member dropped before the hub got them (gaps in its seqs). */
  dropped: number;
  /** Batches received and waiting for the collector. */
  queueDepth: number;
  /**
   * How far behind now the newest applied batch's closed buckets end (ms); an idle member's
   * beat, with every batch applied, moves it to the beat's time. null before its first batch,
   * and once it stopped cleanly: it is behind nothing (its lag grew with the time since).
   */
  lagMs: number | null;
  lastSeenMs: number;
  lastError: { message: string; at: number } | null;
}

export interface HubStatus {
  role: 'hub';
  transport: 'socket' | 'cluster';
  address: string;
  members: HubMemberStatus[];
  /** Frames or messages that were no valid message (each reset its link). */
  malformed: number;
  /** Members forgotten after dropMs of silence. */
  forgotten: number;
  /** Socket files left by hubs of ours that died (killed), removed when this one started. */
  reclaimed: number;
  /** The hub socket's connections: open, the limit (hub.maxConnections), refused past it, closed for no hello in time. */
  connections: HubConnections;
  lastError: { message: string; at: number } | null;
}

interface Member {
  instance: string;
  /** The hub named it (a cluster worker's slot): its welcomes say the name. */
  slotNamed: boolean;
  epoch: string;
  /** This hub's number for the member's epoch: with a seq, it names a batch to the store (AppliedBuckets). */
  key: number;
  acked: number;
  /** The highest seq the hub acknowledges: `acked`, or with a disk the highest a committed flush holds. */
  saved: number;
  round: number;
  conn: HubConnection | undefined;
  lastSeen: number;
  stale: boolean;
  /** Its last beat said it was stopping: silent from then on, and not stale for it. */
  stopped: boolean;
  buckets: number;
  batches: number;
  failed: number;
  dropped: number;
  queued: number;
  closedTo: number;
  /** The newest bucket start of its batch that waits for a late member's buckets (awaitPeers); -Infinity: none waits. */
  waiting: number;
  chain: Promise<void>;
  /** With a disk: the batch whose apply failed, part of its rows maybe in the store, until it is applied whole. */
  partial?: Batch;
  lastError: { message: string; at: number } | null;
  /** Per member sid, this epoch: its definition, and at 2·sid, 2·sid+1 its member and cluster series ids (-1: not resolved yet). */
  defs: Def[];
  pairs: number[];
  /** Definitions kept in `defs`; whether one was refused (define): not kept, its rows are then refused entries. */
  defined: number;
  refusedDef: boolean;
  /** Its own series on the hub, of every epoch: retired when it is forgotten (sweep). */
  series: Set<number>;
  /**
   * When it started watching, the earliest its hellos said (-Infinity: one did not say, an
   * older member): its series' time begins there (Registry.markMember), not at the hub's start.
   */
  from: number;
}

export interface HubDeps {
  registry: Registry;
  intervalMs: number;
  transport: HubTransport;
  options: ResolvedHubOptions;
  apply(batch: AppliedBuckets): Promise<number>;
  fault(kind: string, error: unknown): void;
  /** The monitor's clock (ms). */
  clock(): number;
  /**
   * Its turn read the links through `at` (the monitor's clock) and what they held is applied:
   * a silent member's windows move on no further (control.ts, HUB_READ_TO).
   */
  readTo(at: number): void;
  /** The store goes to disk: acknowledge after the flushes this hub drives (durable.ts). */
  disk?: SeqDisk;
  /**
   * The `instance` label this process's exporters push the cluster-wide series under (its
   * export.instance, else its name); none without an exporter. A member of that name is
   * refused (hello).
   */
  exportInstance?: string;
}

export class Hub {
  private readonly d: HubDeps;
  /** This run of the hub, named in every welcome: a member orders the welcomes of one run by round. */
  private readonly run = randomUUID();
  private readonly members = new Map<string, Member>();
  /**
   * Without a disk: the numbers of members forgotten in this run (epoch and highest seq
   * applied and acknowledged), so that one that comes back is welcomed with them: welcomed
   * with 0, it counted every seq it had sent before as dropped. With a disk, DurableAcks keeps them.
   */
  private readonly forgottenSeqs = new Map<string, { epoch: string; acked: number }>();
  private readonly byConn = new Map<HubConnection, Member>();
  private malformed = 0;
  private forgotten = 0;
  /** Definitions kept across all members (Member.defined), at most maxSeries (define). */
  private defined = 0;
  /** Member epochs seen (Member.key). */
  private epochs = 0;
  /**
   * Rounds given in this run, to every member: a member takes a welcome of this run only if its
   * round is newer than the last it took, so a member forgotten and back (a new record here)
   * must not be given round 1 again, which it would ignore for good.
   */
  private rounds = 0;
  private lastError: { message: string; at: number } | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly durable: DurableAcks | undefined;
  /** With a disk: members with a batch cut by a failed apply (no flush until it is finished). */
  private readonly cut = new Set<Member>();
  private flushTimer: NodeJS.Timeout | undefined;
  /** stop() began: no flush is started for a stopping member (the hub's stop writes its own last one). */
  private stopping = false;

  constructor(d: HubDeps) {
    this.d = d;
    this.durable = d.disk && new DurableAcks(d.disk);
  }

  async start(): Promise<void> {
    // A monitor stopped and started again starts its hub again: left set from the stop, no
    // flush was started for a member stopping cleanly, whose last batches waited for the next
    // timed flush, after it had gone (lost if this hub was killed before it).
    this.stopping = false;
    if (this.durable) {
      await this.durable.load();
      this.flushTimer = setInterval(() => void this.flushDisk(false), this.durable.flushMs);
      this.flushTimer.unref();
    }
    await this.d.transport.start({
      message: (conn, bytes) => this.onBytes(conn, bytes),
      malformed: (conn, error) => this.reject(conn, error),
      closed: (conn) => {
        const m = this.byConn.get(conn);
        this.byConn.delete(conn);
        if (m && m.conn === conn) m.conn = undefined;
      },
      turnedAway: (message) => {
        this.lastError = { message, at: wallNow() };
        this.d.fault('hub-connections', new Error(message));
      },
    });
    this.turnSoon();
  }

  /** The next turn, just past the next multiple of its cadence: past each boundary, where the cadence divides the interval. */
  private turnSoon(): void {
    const every = Math.max(100, Math.min(this.d.options.staleMs, this.d.intervalMs) / 2);
    this.timer = setTimeout(() => this.turn(), every - (this.d.clock() % every) + 1);
    this.timer.unref();
  }

  /**
   * Judges silence, and says how far the links are read, only after the loop read them: the
   * links are read on this (the host's) thread, and a timer that comes late because the host
   * held it (sync work, a long GC) runs before the loop reads what the members sent meanwhile.
   * Judged from the timer, a hub held 8 s had a member sending all along marked stale, and past
   * dropMs forgotten, its link reset; and its alert actor, which moves a silent member's windows
   * on at the hub's closes, fired that member's `rate < 10` with 0, its buckets unread in the socket.
   */
  private turn(): void {
    const now = wallNow();
    const at = this.d.clock();
    setImmediate(() => {
      if (this.stopping) return;
      this.sweep(now);
      // The batches read are applied in order behind each member's chain: `at` once they are in.
      const applied = [...this.members.values()].map((m) => m.chain);
      void Promise.allSettled(applied).then(() => {
        if (!this.stopping) this.d.readTo(at);
      });
      this.turnSoon();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    clearInterval(this.flushTimer);
    await this.d.transport.stop();
    this.byConn.clear();
    for (const m of this.members.values()) m.conn = undefined;
    if (this.durable) {
      // The batches queued are applied and a cut one finished while the collector runs (the
      // monitor stops it after): the store's last flush then writes whole batches, with the
      // numbers that cover them (lastSeqs).
      await Promise.all([...this.members.values()].map((m) => m.chain));
      await this.finishCuts();
    }
  }

  /**
   * With a disk, once stopped: the members' numbers for the store's last flush, which covers
   * every batch the store holds; null while a batch stays cut (part of its rows in the store
   * and no number for them): then no flush may write the store again, and the disk keeps what
   * the last flush wrote, which the members' resends complete.
   */
  lastSeqs(): HubSeq[] | null {
    if (!this.durable || this.cut.size > 0) return null;
    return this.durable.numbersNow();
  }

  /**
   * With a disk: finishes the batches cut by a failed apply, then flushes between applies with
   * the members' numbers and acknowledges what that flush holds. Resolves with whether it
   * committed (false without a disk, while a batch stays cut, or when the flush failed).
   */
  async flushDisk(last: boolean): Promise<boolean> {
    if (!this.durable) return false;
    await this.finishCuts();
    return this.durable.flush(last, () => this.cut.size > 0, (seqs) => this.acknowledge(seqs));
  }

  /**
   * A member stopping cleanly waits a moment (its FINAL_ACK_MS) for the acks of what it sent
   * last: with a disk, a flush once the batches it queued are applied, so that the acks come
   * while it waits, instead of at the next flush (up to storageFlushMs later, when the member
   * has exited and a hub killed before that flush loses its last batches).
   */
  private flushFor(member: Member): void {
    if (!this.durable || this.stopping) return;
    member.chain
      .then(() => (this.stopping || member.acked <= member.saved ? false : this.flushDisk(false)))
      .catch((error: unknown) => {
        this.lastError = { message: `flushing for member "${member.instance}", which is stopping: ${(error as Error).message}`, at: wallNow() };
      });
  }

  /** After a flush committed: each member is acknowledged up to what it holds. */
  private acknowledge(seqs: HubSeq[]): void {
    for (const s of seqs) {
      const m = this.members.get(s.instance);
      if (m === undefined || m.epoch !== s.epoch || s.acked <= m.saved) continue;
      m.saved = s.acked;
      m.conn?.send({ t: 'ack', seq: s.acked });
    }
  }

  /** Applies again, each behind what its member has queued, the batches cut by a failed apply. */
  private async finishCuts(): Promise<void> {
    await Promise.all([...this.cut].map((m) => (m.chain = m.chain.then(() => this.finishCut(m)))));
  }

  /** Applies again a member's batch whose apply failed: the store goes on after the rows it applied. */
  private async finishCut(m: Member): Promise<void> {
    const batch = m.partial;
    if (batch === undefined || batch.seq <= m.acked) {
      m.partial = undefined;
      this.cut.delete(m);
      return;
    }
    await this.applyBatch(m, batch).catch(() => {});
  }

  status(now = wallNow()): HubStatus {
    return {
      role: 'hub',
      transport: this.d.transport.kind,
      address: this.d.transport.address,
      members: [...this.members.values()].map((m) => ({
        instance: m.instance,
        state: m.stopped ? 'stopped' : m.stale ? 'stale' : 'live',
        connected: m.conn !== undefined,
        via: m.conn?.via ?? null,
        buckets: m.buckets,
        batches: m.batches,
        failed: m.failed,
        dropped: m.dropped,
        queueDepth: m.queued,
        lagMs: m.closedTo > 0 && !m.stopped ? Math.max(0, now - m.closedTo) : null,
        lastSeenMs: now - m.lastSeen,
        lastError: m.lastError,
      })),
      malformed: this.malformed,
      forgotten: this.forgotten,
      reclaimed: this.d.transport.reclaimed,
      connections: this.d.transport.connections(),
      lastError: this.lastError,
    };
  }

  /**
   * Marks members stale and forgets the long silent ones. A member speaks once an interval (a
   * batch or a beat), so silence is judged over at least two intervals (stale) and three
   * (forgotten), whatever staleMs and dropMs say: with a longer interval than them (a 10 s
   * interval and the default 5 s) every healthy member was stale between its batches, or
   * forgotten.
   */
  sweep(now: number): void {
    const staleMs = Math.max(this.d.options.staleMs, STALE_INTERVALS * this.d.intervalMs);
    const dropMs = Math.max(this.d.options.dropMs, DROP_INTERVALS * this.d.intervalMs);
    for (const m of this.members.values()) {
      const idle = now - m.lastSeen;
      if (idle > dropMs) {
        this.members.delete(m.instance);
        this.defined -= m.defined;
        // Its series leave the answers of now (their history stays): a member named by its pid
        // is a new member at each restart, and each left a set of series on /metrics for good.
        for (const id of m.series) this.d.registry.retire(id, true);
        this.forgotten++;
        if (!this.durable) {
          if (this.forgottenSeqs.size >= FORGOTTEN_KEPT) this.forgottenSeqs.delete(this.forgottenSeqs.keys().next().value!);
          this.forgottenSeqs.set(m.instance, { epoch: m.epoch, acked: m.acked });
        }
        // A member silent on a link that stays open (a process paused, hung) would next speak
        // to a hub that no longer knows that link: it is reset, and a hello starts it again.
        const conn = m.conn;
        if (conn) {
          this.byConn.delete(conn);
          m.conn = undefined;
          conn.reset(`forgotten after ${idle} ms without a word from member "${m.instance}" (hub.dropMs ${this.d.options.dropMs}, at least ${DROP_INTERVALS} intervals)`);
        }
      } else {
        m.stale = !m.stopped && idle > staleMs;
      }
    }
  }

  private reject(conn: HubConnection, error: Error): void {
    this.malformed++;
    const member = this.byConn.get(conn);
    const message = `${member ? `member "${member.instance}"` : conn.label}: ${error.message}`;
    this.lastError = { message, at: wallNow() };
    if (member) member.lastError = this.lastError;
    this.d.fault('hub-malformed', new WireError(message));
    this.byConn.delete(conn);
    if (member?.conn === conn) member.conn = undefined;
    conn.reset(error.message);
  }

  private onBytes(conn: HubConnection, bytes: Uint8Array): void {
    let m: MemberMessage;
    try {
      m = decodeMemberMessage(bytes);
    } catch (error) {
      this.reject(conn, error as Error);
      return;
    }
    if (m.t === 'hello') {
      this.hello(conn, m);
      return;
    }
    const member = this.byConn.get(conn);
    if (!member) {
      this.reject(conn, new WireError(`${m.t} before hello`));
      return;
    }
    member.lastSeen = wallNow();
    member.stale = false;
    member.stopped = false;
    if (m.t === 'beat') {
      // An idle member is not behind: with every batch it numbered applied, it is caught up to
      // the beat's time (else an idle member's lag grew for as long as it recorded nothing).
      if (m.seq !== undefined && m.closedTo !== undefined && m.seq === member.acked && m.closedTo > member.closedTo) member.closedTo = m.closedTo;
      if (m.stopping) {
        member.stopped = true;
        this.flushFor(member);
      }
      return;
    }
    // Definitions hold for the whole epoch, whatever becomes of the batch that carried them.
    if (m.defs.length > 0) this.define(member, m);
    for (let i = 0; i < m.sids.length; i++) {
      const def = member.defs[m.sids[i]!];
      // A member with a definition refused has rows of it in every batch: those are refused
      // entries (resolve), not a breach.
      if (def === undefined && !member.refusedDef) {
        this.reject(conn, new WireError(`batch ${m.seq} row ${i}: sid ${m.sids[i]} was never defined`));
        return;
      }
      // A counter's samples are increments, never negative (producer.ts): one taken made the
      // cluster-wide counter go down, which Prometheus reads as a reset.
      if (def?.[3] === 'counter' && (m.stats[5 * i + 2]! < 0 || m.stats[5 * i + 1]! < 0)) {
        this.reject(conn, new WireError(`batch ${m.seq} row ${i}: series "${def[1]}" is a counter, whose increments are not negative: min ${m.stats[5 * i + 2]}, sum ${m.stats[5 * i + 1]}`));
        return;
      }
    }
    if (m.round !== member.round) return;
    if (m.seq <= member.acked) {
      conn.send({ t: 'ack', seq: member.saved });
      return;
    }
    member.queued++;
    const batch = m;
    member.chain = member.chain.then(() => this.ingest(member, batch));
  }

  private hello(conn: HubConnection, m: Extract<MemberMessage, { t: 'hello' }>): void {
    // A cluster worker left to its default name is named by its slot (cluster-ipc.ts).
    const slotName = m.worker !== undefined ? this.d.transport.memberName?.(m.worker) : undefined;
    const instance = slotName ?? m.instance;
    if (m.intervalMs !== this.d.intervalMs) {
      conn.send({ t: 'reject', field: 'collectionIntervalMs', message: `member "${instance}" collects every ${m.intervalMs} ms and this hub every ${this.d.intervalMs} ms: give both the same collectionIntervalMs` });
      this.lastError = { message: `member "${instance}": collectionIntervalMs ${m.intervalMs} differs from the hub's ${this.d.intervalMs}`, at: wallNow() };
      conn.reset();
      return;
    }
    if (m.maxFrameBytes !== undefined && m.maxFrameBytes > this.d.options.maxFrameBytes) {
      // It cuts its batches to its own limit: taken, each one past the hub's reset its link, it
      // sent it again at each reconnection (some 8 a second), and nothing of it ever arrived.
      const message = `member "${instance}" sends frames of up to ${m.maxFrameBytes} bytes (its hub.maxFrameBytes) and this hub reads at most ${this.d.options.maxFrameBytes} (the hub's hub.maxFrameBytes): give the member the hub's value or a smaller one`;
      conn.send({ t: 'reject', field: 'hub.maxFrameBytes', message });
      this.lastError = { message, at: wallNow() };
      conn.reset();
      return;
    }
    if (instance === this.d.exportInstance) {
      // Pushed, its series and the cluster-wide ones would carry the same labels: one series to
      // Prometheus, the cluster total replaced by the member's, while the exporter said sent.
      const message = `member "${instance}" has the name this hub exports its cluster-wide series under (the hub's export.instance): in Prometheus they would be the same series, and the cluster total would vanish; give the member another hub.instance, or the hub another export.instance`;
      conn.send({ t: 'reject', field: 'hub.instance', message });
      this.lastError = { message, at: wallNow() };
      conn.reset();
      return;
    }
    let member = this.members.get(instance);
    if (member && member.epoch !== m.epoch && member.conn !== undefined && member.conn !== conn && !member.stale && !member.stopped) {
      // Another process under a live member's name (two given one hub.instance): taken as a
      // restart, each hello made the other's link reset, its seqs start again and its buckets
      // count under the other's name, back and forth. Refused until that member stops or goes
      // silent (a restart whose old link the hub has not seen close yet: the member redials).
      const message = `member "${instance}" is the name of another live member of this hub (another process): give each process its own hub.instance`;
      conn.send({ t: 'reject', field: 'hub.instance', message });
      this.lastError = { message, at: wallNow() };
      conn.reset();
      return;
    }
    if (!member && this.members.size >= this.d.registry.limits.maxSeries) {
      // Each name makes a record here until it is forgotten: a peer saying hello under ever new
      // names (on one link or many) grew the hub by a record a name, 200 MB for 200,000 names
      // in seconds. A member has series of its own on the hub, so a hub of maxSeries holds no
      // more members with series than that.
      const limit = this.d.registry.limits.maxSeries;
      const message = `member "${instance}" would be one more than the ${limit} members a hub holds at most (its maxSeries: each member has series of its own); raise the hub's maxSeries, or wait until a silent member is forgotten (hub.dropMs)`;
      conn.send({ t: 'reject', field: 'maxSeries', message });
      this.lastError = { message, at: wallNow() };
      conn.reset();
      return;
    }
    if (!member) {
      const { applied, committed } = this.known(instance, m.epoch);
      member = { instance, slotNamed: false, epoch: m.epoch, key: ++this.epochs, acked: applied, saved: committed, round: 0, conn, lastSeen: 0, stale: false, stopped: false, buckets: 0, batches: 0, failed: 0, dropped: 0, queued: 0, closedTo: 0, waiting: -Infinity, chain: Promise.resolve(), lastError: null, defs: [], pairs: [], defined: 0, refusedDef: false, series: new Set(), from: m.watchedFrom ?? -Infinity };
      this.members.set(instance, member);
    }
    // A restart goes on with the series of the process before, from that one's start.
    member.from = Math.min(member.from, m.watchedFrom ?? -Infinity);
    if (member.epoch !== m.epoch) {
      // The member's process restarted: its seqs start again; its series go on adding up.
      member.epoch = m.epoch;
      member.key = ++this.epochs;
      member.acked = 0;
      member.saved = 0;
      member.partial = undefined;
      this.cut.delete(member);
      member.defs = [];
      member.pairs = [];
      this.defined -= member.defined;
      member.defined = 0;
      member.refusedDef = false;
    }
    if (member.conn && member.conn !== conn) {
      this.byConn.delete(member.conn);
      member.conn.reset();
    }
    // The link said hello under another name before: it is this member's now. Left to the
    // name before, that one showed connected for good, and a process of that name was refused
    // as another live member's rival until it went stale.
    const prior = this.byConn.get(conn);
    if (prior !== undefined && prior !== member && prior.conn === conn) prior.conn = undefined;
    member.conn = conn;
    member.slotNamed = slotName !== undefined;
    member.lastSeen = wallNow();
    member.stale = false;
    member.stopped = false;
    this.byConn.set(conn, member);
    this.welcome(member);
  }

  /**
   * What this run knows of a member epoch it has no record of: the highest seq applied (not
   * to be applied again) and the highest it may acknowledge (a flush holds it, on disk).
   */
  private known(instance: string, epoch: string): { applied: number; committed: number } {
    if (this.durable) return this.durable.known(instance, epoch);
    const left = this.forgottenSeqs.get(instance);
    this.forgottenSeqs.delete(instance);
    const acked = left?.epoch === epoch ? left.acked : 0;
    return { applied: acked, committed: acked };
  }

  /**
   * Keeps a batch's definitions for the member's epoch, within bounds, so that what members
   * (broken, hostile) send cannot grow the hub without end: at most maxSeries of them across
   * all members (past it they could never all be series of the hub's store, where each member's
   * is one of its own; kept per member, a hub of maxSeries members held maxSeries² of them), and
   * each within the registry's limits of a name and its tags (it would be refused at its first
   * row all the same, and a name of megabytes, kept, cost megabytes a series). A definition
   * past them is not kept, and named once, the batch applied without its rows; a member's
   * honest series past the hub's limits are refused so, as the store refuses them, and its
   * others go on.
   */
  private define(member: Member, m: Batch): void {
    const limit = this.d.registry.limits.maxSeries;
    let refused = 0;
    let first = '';
    for (const def of m.defs) {
      const over = this.oversize(def);
      if (over !== undefined || (member.defs[def[0]] === undefined && this.defined >= limit)) {
        // Tags past the limits are not shown: they can be megabytes.
        if (refused++ === 0) first = over !== undefined ? `series "${cut(def[1])}": ${over}` : `${this.namedDef(def)}: past the ${limit} series definitions the hub keeps for its members (its maxSeries)`;
        continue;
      }
      if (member.defs[def[0]] === undefined) {
        member.defined++;
        this.defined++;
      }
      member.defs[def[0]] = def;
      member.pairs[2 * def[0]] = -1;
    }
    if (refused === 0) return;
    member.refusedDef = true;
    this.refuse(member, `${refused} series definition${refused === 1 ? '' : 's'} of batch ${m.seq} refused, their rows left out; the first, ${first}`, 0);
  }

  /** Why a definition is past the registry's limits of a name and its tags, or undefined. */
  private oversize(def: Def): string | undefined {
    try {
      validateName(def[1]);
      canonicalTags(def[2], this.d.registry.limits);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }

  private welcome(member: Member): void {
    member.round = ++this.rounds;
    member.conn?.send(this.welcomeOf(member));
  }

  private welcomeOf(member: Member): HubMessage {
    return { t: 'welcome', acked: member.saved, round: member.round, hub: this.run, ...(member.slotNamed ? { instance: member.instance } : {}) };
  }

  private async ingest(member: Member, m: Batch): Promise<void> {
    member.queued--;
    // Batches queued behind a failed one belong to the round it ended.
    if (m.round !== member.round || m.seq <= member.acked) return;
    const spans = intervalsOf(m.starts);
    if (spans.starts.length > 0) {
      await this.awaitPeers(member, spans.starts[0]!);
      if (m.round !== member.round || m.seq <= member.acked) return;
    }
    try {
      await this.applyBatch(member, m, spans, true);
    } catch (error) {
      member.failed++;
      member.lastError = { message: `applying batch ${m.seq}: ${(error as Error).message}`, at: wallNow() };
      member.round = ++this.rounds;
      setTimeout(() => {
        member.conn?.send(this.welcomeOf(member));
      }, RESYNC_MS).unref();
      return;
    }
    if (!this.durable) member.conn?.send({ t: 'ack', seq: m.seq });
  }

  /**
   * Waits, before a batch (or a part of one: applyBatch) is applied, until every other live
   * member has sent its buckets older than `newest`, the start of its newest buckets (their
   * `closedTo` past it), or `staleMs` passed, or the hub stops. The
   * cluster-wide series has one open bucket, at a member bucket's start plus an interval
   * (bucket-rows.ts): a punctual member's next bucket would close the one a late member's
   * (a starved or stopped process) is still due in, which then landed in the interval it
   * arrived in, a dip and a spike no member recorded.
   */
  private async awaitPeers(member: Member, newest: number): Promise<void> {
    const until = wallNow() + this.graceMs();
    member.waiting = newest;
    try {
      while (!this.stopping && this.behind(member, newest) && wallNow() < until) {
        await new Promise<void>((resolve) => setTimeout(resolve, PEER_POLL_MS).unref());
      }
    } finally {
      member.waiting = -Infinity;
    }
  }

  /** How long a late member's buckets are waited for: until it is marked stale (sweep). */
  private graceMs(): number {
    return Math.max(this.d.options.staleMs, STALE_INTERVALS * this.d.intervalMs);
  }

  /**
   * Whether a live member other than `member` has not sent its buckets that start before
   * `start` (a known closedTo only). One whose own batch waits, with buckets as new or newer,
   * is not waited for: it waits for this one, and two members that each sent several
   * intervals in a batch (both held at once) would wait for each other until stale.
   */
  private behind(member: Member, start: number): boolean {
    for (const o of this.members.values()) if (o !== member && !(o.waiting >= start) && this.awaited(o) && o.closedTo < start) return true;
    return false;
  }

  /**
   * Whether the cluster-wide series waits for member `o`'s buckets: linked, live, not stopping,
   * its closedTo known and within the grace of now. A member that beats is not stale whatever
   * closedTo it says: waited for without the bound, one whose closedTo stood still (a member
   * of another build, or one that says how far its collector closed while that is down) held
   * every other member's batches a grace each, one after another.
   */
  private awaited(o: Member): boolean {
    return o.conn !== undefined && !o.stale && !o.stopped && o.closedTo > 0 && o.closedTo >= wallNow() - this.graceMs() - this.d.intervalMs;
  }

  /** The lowest closedTo of the members awaited, `member`'s taken as `closedTo` (Infinity: none). */
  private awaitedTo(member: Member, closedTo: number): number {
    let lowest = closedTo;
    for (const o of this.members.values()) if (o !== member && this.awaited(o) && o.closedTo < lowest) lowest = o.closedTo;
    return lowest;
  }

  /**
   * Applies a batch and counts it applied; throws what the apply threw. With a disk it runs
   * inside the flush gate, its number noted before it leaves, and a failure marks it cut.
   *
   * A batch whose buckets span intervals (a member late by more than one: stopped, starved,
   * its collector hung and replaced) goes in an interval at a time, oldest first, each after
   * the other members' buckets before it (awaitPeers, with `wait`). Applied whole, its newest
   * buckets closed the cluster-wide bucket its oldest were due in, or, the mutual-wait rule
   * (behind) letting the punctual members' held batches go first, theirs closed it: either way
   * a member's bucket landed in the interval it arrived in. The parts are one batch to the
   * store (its key and seq, each part's rows numbered on from the last: `offset`), so a part
   * cut by a failure, and the batch resent, goes on after the rows applied; acknowledged once
   * whole. Once a part is in, the rest follows whatever the member's round: it is applied
   * whole or resent whole, never left half applied by this hub's choice.
   */
  private async applyBatch(member: Member, m: Batch, spans = intervalsOf(m.starts), wait = false): Promise<void> {
    const last = spans.starts.length - 1;
    const gate = this.durable?.gate;
    await gate?.enter();
    // Parts that wait for other members' applies let those past a flush waiting at the gate.
    if (last > 0) gate?.span();
    try {
      let offset = 0;
      for (let j = 0; j <= last; j++) {
        if (j > 0 && wait) await this.awaitPeers(member, spans.starts[j]!);
        // The member's buckets before the next part's interval are all sent once this part is in.
        const closedTo = j < last ? Math.min(m.closedTo, spans.starts[j + 1]!) : m.closedTo;
        const batch = this.columns(member, m, spans.order, j === 0 ? 0 : spans.ends[j - 1]!, spans.ends[j]!, offset);
        batch.awaited = this.awaitedTo(member, closedTo);
        batch.holdMs = this.graceMs();
        // Read before the apply: it moves the columns to the collector.
        const buckets = batch.starts.length;
        if (buckets > 0) await this.d.apply(batch);
        offset += buckets;
        if (j < last && closedTo > member.closedTo) member.closedTo = closedTo;
      }
      if (m.seq > member.acked + 1) member.dropped += m.seq - member.acked - 1;
      member.acked = m.seq;
      member.batches++;
      member.buckets += offset;
      member.closedTo = m.closedTo;
      if (this.durable) {
        this.durable.applied(member.instance, member.epoch, m.seq);
        member.partial = undefined;
        this.cut.delete(member);
      } else member.saved = m.seq;
    } catch (error) {
      if (this.durable) {
        member.partial = m;
        this.cut.add(member);
      }
      throw error;
    } finally {
      if (last > 0) gate?.unspan();
      gate?.leave();
    }
  }

  /**
   * Rows `lo` to `hi` (in `order`, else as sent) of the batch as store columns, one row a
   * bucket with its two series (member, cluster-wide), the batch's rows before them `offset`;
   * refused rows skipped and named.
   */
  private columns(member: Member, m: Batch, order: Int32Array | undefined, lo: number, hi: number, offset: number): AppliedBuckets {
    const { sids, starts, stats, sketches, sketchEnd } = m;
    const n = hi - lo;
    const ids = new Int32Array(2 * n);
    const at = new Float64Array(n);
    const out = new Float64Array(5 * n);
    const runAt = new Int32Array(n);
    let bytes = sketches.length;
    if (n < sids.length) {
      bytes = 0;
      for (let r = lo; r < hi; r++) {
        const i = order === undefined ? r : order[r]!;
        bytes += Math.max(0, sketchEnd[i]! - (i > 0 ? sketchEnd[i - 1]! : 0));
      }
    }
    // A sketch of b bytes decodes to at most b i32 (a header byte for its length, a byte or more an integer).
    const runs = new Int32Array(1 + bytes + n);
    let pos = 1;
    let k = 0;
    for (let r = lo; r < hi; r++) {
      const i = order === undefined ? r : order[r]!;
      const from = i > 0 ? sketchEnd[i - 1]! : 0;
      const to = sketchEnd[i]!;
      const sid = sids[i]!;
      if (this.resolve(member, sid)) {
        const used = to > from ? decodeSketchRange(sketches, from, to, runs, pos) : -1;
        const held = used > 0 ? sketched(runs, pos) : 0;
        if (used === 0) this.refuse(member, `${this.named(member, sid)}: the sketch does not decode`);
        else if (held > stats[5 * i]!) this.refuse(member, `${this.named(member, sid)}: its sketch holds ${held} samples, more than the bucket's count, ${stats[5 * i]}`);
        else {
          runAt[k] = 0;
          if (used > 0) {
            runAt[k] = pos;
            pos += used;
          }
          ids[2 * k] = member.pairs[2 * sid]!;
          ids[2 * k + 1] = member.pairs[2 * sid + 1]!;
          at[k] = starts[i]!;
          for (let j = 0; j < 5; j++) out[5 * k + j] = stats[5 * i + j]!;
          k++;
        }
      }
    }
    return { key: member.key, seq: m.seq, offset, ids: ids.subarray(0, 2 * k), starts: at.subarray(0, k), stats: out.subarray(0, 5 * k), runs: runs.subarray(0, pos), runAt: runAt.subarray(0, k) };
  }

  private named(member: Member, sid: number): string {
    return this.namedDef(member.defs[sid]!);
  }

  private namedDef(def: Def): string {
    return `series "${def[1]}" ${JSON.stringify(def[2])}`;
  }

  /**
   * Whether the member's series `sid` has its two series in the hub's store, made on first use;
   * a refusal is counted and named. A row of a definition refused (define) is counted alone:
   * its refusal named it.
   */
  private resolve(member: Member, sid: number): boolean {
    if (member.pairs[2 * sid]! >= 0) return true;
    const given = member.defs[sid];
    if (given === undefined) {
      member.failed++;
      return false;
    }
    const [, name, tags, kind, unit] = given;
    try {
      if (INSTANCE_TAG in tags) throw new Error(`the tag "${INSTANCE_TAG}" is the hub's: a member's series cannot carry it`);
      const def = this.d.registry.lookupName(name);
      if (def !== undefined && def.kind !== kind) throw new Error(`kind: metric "${name}" is a ${def.kind} on the hub and a ${kind} on this member`);
      // Both or neither: a batch's rows are the same at every send (the store counts them by index).
      // Its instance tag beyond the hub's maxTags: a member may give a series that many of its own.
      // A new name comes with the series, its kind and unit, or not at all: defined first, it
      // stayed when the series was refused at maxSeries, and the names filled the name table.
      // The unit only with a new name: a known name keeps the unit it was defined with, whatever a member says.
      // Marked as they are created (HubMark); one that was there already, here.
      const own = this.d.registry.seriesId(name, { ...tags, [INSTANCE_TAG]: member.instance }, kind, true, def === undefined ? unit : undefined, { member: member.from });
      const all = this.d.registry.seriesId(name, tags, kind, false, undefined, { cluster: true });
      member.pairs[2 * sid] = own;
      member.pairs[2 * sid + 1] = all;
      // A member back under its name brings back each series it sends again.
      member.series.add(own);
      this.d.registry.retire(own, false);
      this.d.registry.markMember(own, member.from);
      this.d.registry.markCluster(all);
      return true;
    } catch (error) {
      this.refuse(member, `${this.named(member, sid)}: ${(error as Error).message}`);
      return false;
    }
  }

  /** Counts and names `entries` refused, here and to the member, whose own status would otherwise say its rows were sent. */
  private refuse(member: Member, message: string, entries = 1): void {
    member.failed += entries;
    member.lastError = { message: `member "${member.instance}": ${message}`, at: wallNow() };
    member.conn?.send({ t: 'refused', message: member.lastError.message });
  }
}

/**
 * A batch's buckets by interval: the distinct starts, oldest first, and where each one's rows
 * end in `order` (the rows sorted by start, the order sent kept within an interval; undefined:
 * as sent, already in order). A start that is no finite number leaves the batch one part, as sent.
 */
interface Intervals {
  starts: number[];
  ends: number[];
  order: Int32Array | undefined;
}

function intervalsOf(starts: Float64Array): Intervals {
  const n = starts.length;
  let sorted = true;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(starts[i]!)) return { starts: [starts[0]!], ends: [n], order: undefined };
    if (i > 0 && starts[i]! < starts[i - 1]!) sorted = false;
  }
  const order = sorted ? undefined : Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => starts[a]! - starts[b]! || a - b);
  const out: Intervals = { starts: [], ends: [], order };
  for (let r = 0; r < n; r++) {
    const s = starts[order === undefined ? r : order[r]!]!;
    if (r > 0 && s === out.starts[out.starts.length - 1]) continue;
    if (r > 0) out.ends.push(r);
    out.starts.push(s);
  }
  if (n > 0) out.ends.push(n);
  return out;
}

/**
 * The samples a decoded sketch run ([n, key, count, …] at `pos`) holds. A member's bucket has
 * at most its count in its sketch (fewer where its store had lost some); one with more would
 * move every quantile of the cluster-wide series it merges into.
 */
function sketched(runs: Int32Array, pos: number): number {
  let total = 0;
  for (let j = 0, n = runs[pos]!; j < n; j++) total += runs[pos + 2 + 2 * j]! >>> 0;
  return total;
}

/** A name as a refusal shows it: one past the registry's limit is cut there. */
function cut(name: string): string {
  return name.length > MAX_NAME_LENGTH ? `${name.slice(0, MAX_NAME_LENGTH)}…` : name;
}
