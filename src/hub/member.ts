/**
 * A hub member: every interval it reads the buckets its own collector closed (StoreReader, in
 * place, as the persister does), numbers them as one batch (seq 1, 2, … within this epoch)
 * and keeps the batch until the hub acknowledges it. On every (re)connection it says hello;
 * the hub answers with the highest seq it applied, and the member drops those and resends
 * the rest in order, so a lost connection or a restarted hub loses nothing it holds and
 * counts nothing twice. Held buckets are capped (bufferLimit): past it the oldest batches go,
 * counted in `dropped`. On stop it also sends its open buckets and waits a moment for the ack,
 * so a member that exits loses no interval.
 */
import { randomUUID } from 'node:crypto';
import cluster from 'node:cluster';
import { clearImmediate, clearTimeout, monoNow, setImmediate, setTimeout, wallNow } from '../engine/real-timers.js';
import { pm2Name, processName } from '../process-name.js';
import type { Registry } from '../engine/registry.js';
import type { MetricKind } from '../engine/metrics.js';
import { SketchAccumulator } from '../engine/sketch.js';
import { widened } from '../engine/typed-arrays.js';
import type { BucketRecord, StoreReader } from '../engine/store/reader.js';
import { encodeSketchTo, sketchBytesBound } from '../storage/sketch-codec.js';
import type { ResolvedHubOptions } from './options.js';
import type { MemberTransport } from './transport.js';
import { MAX_DEFS, WireError, decodeHubMessage, type BatchColumns, type Def } from './wire.js';

/** How long stop() waits for the hub to acknowledge the last buckets. */
const FINAL_ACK_MS = 2_000;
/** A read is due this long past each bucket boundary, where the collector closes the interval's buckets (a few ms past it). */
const READ_AFTER_MS = 3;
/** A read due before the collector closed the interval looks again this long after, then twice as long each time (readDue). */
const READ_RETRY_MS = 10;

export interface MemberLinkStatus {
  role: 'member';
  transport: 'socket' | 'cluster';
  /** What carries the link now (a cluster worker: the primary's socket, or the IPC channel before it reached it and while it has lost it). */
  via: 'socket' | 'channel';
  address: string;
  instance: string;
  connected: boolean;
  /** Buckets (one series, one interval) the hub acknowledged. */
  sent: number;
  /** Connection attempts that failed, lost connections and refusals by the hub. */
  failed: number;
  /** Buckets dropped: the buffer was full, or the store's bucket ring moved past them unread. */
  dropped: number;
  /** Buckets held, waiting for the hub's acknowledgement. */
  queueDepth: number;
  /** Age (ms) of the oldest bucket held; 0 when none is. */
  lagMs: number;
  lastError: { message: string; at: number } | null;
}

/**
 * An open bucket sent whole at a stop: a monitor started again within its interval records into
 * that same bucket, and what it takes after is sent as the rest (rest()).
 */
interface SentOpen {
  start: number;
  count: number;
  sum: number;
  /** Its sketch's bins, key to count (a counter's travel without). */
  bins: Map<number, number> | undefined;
}

interface Held {
  seq: number;
  cols: BatchColumns;
  closedTo: number;
  at: number;
}

export interface MemberDeps {
  registry: Registry;
  reader: StoreReader;
  intervalMs: number;
  transport: MemberTransport;
  options: ResolvedHubOptions;
  /**
   * Names of the monitor's own series that describe this process (the runtime sampler's:
   * event-loop lag, heap, GC), sent with the application's; the rest of its own (monitor_*,
   * the machine's system metrics, the same for every process on it) stay here.
   */
  perProcess: ReadonlySet<string>;
  /** When this process's monitor started watching (its first run's start, ms): the hub counts its series' time from there. */
  watchedFrom(): number;
  /** Where its collector's closes reached: the end (ms) of its newest closed bucket, on the monitor's clock. */
  closedTo(): number;
  /** The monitor's clock, on which its buckets start (the wall clock past a step back: engine/monitor-clock.ts). */
  clock(): number;
}

/** Intervals a hello may go unanswered before the member says no hub answers (noteSilence). */
const UNANSWERED_INTERVALS = 5;

/**
 * The node:cluster worker id a member linked to its cluster's primary sends so that the hub
 * names it by its slot (cluster-ipc.ts); undefined under PM2 (which numbers its processes
 * itself), on a socket to another process's hub, or with a name of the application's.
 */
function workerToName(d: MemberDeps): number | undefined {
  if (d.options.instance !== undefined || d.transport.kind !== 'cluster' || pm2Name() !== undefined) return undefined;
  return cluster.isWorker && cluster.worker ? cluster.worker.id : undefined;
}

/**
 * A member's default name: `host:app-N` under PM2 (stable across restarts), `worker-<id>` in
 * a node:cluster linked to its primary until the hub names it by its slot (`worker-<slot>`),
 * else `host:pid` (process-name.ts).
 */
function defaultInstance(worker: number | undefined): string {
  return worker !== undefined ? `worker-${worker}` : processName(128);
}

export class HubMember {
  /** Its name on the hub: the option, else the default, until a welcome names it otherwise. */
  private instance: string;
  private readonly worker: number | undefined;
  private readonly epoch = randomUUID();
  private readonly d: MemberDeps;
  private readonly acc = new SketchAccumulator();
  private scratch = new Int32Array(4096);
  /** A bucket's sketch as the wire has it, encoded here before its batch takes a copy (sketch()). */
  private sketchBytes = new Uint8Array(4096);
  /** Per series id: tier-1 records exported, and the start of the newest. */
  private done: number[] = [];
  private doneStart: number[] = [];
  /** Per series id: its open bucket sent at the last stop, until what it took after is sent. */
  private sentOpen: (SentOpen | undefined)[] = [];
  /** Per series id: whether it stays here (one of the monitor's own, not per process); undefined until first read. */
  private stays: (boolean | undefined)[] = [];
  /** Per series id: whether its buckets travel with their sketches (travelsSketched); undefined until first read. */
  private sketched: (boolean | undefined)[] = [];
  private held: Held[] = [];
  /** Series whose definition the hub got since its latest welcome. */
  private defined = new Set<number>();
  /** Per series id: defBytes(), once computed. */
  private defSizes: number[] = [];
  private heldEntries = 0;
  /** The newest held batch written on the link since its latest welcome (the transport may refuse one while its backlog is full). */
  private sentTo = 0;
  private seq = 0;
  private welcomed = false;
  /** The hub reset the link and the channel stayed: say hello at the next tick. */
  private rehello = false;
  /** The hub refused this member's hello (its options differ from the hub's). */
  private refused = false;
  /**
   * The hub refused this link (a reject came on it): the error its close brings (a hub at its
   * hub.maxConnections closes before it reads the hello: ECONNRESET here) is not the why.
   */
  private rejectedLink = false;
  /** The hub's round from its latest welcome, sent with every batch, and the hub's run it came from. */
  private round = 0;
  private hubRun = '';
  private connected = false;
  /** When this member last said hello. */
  private helloAt = 0;
  /** When the first hello of this link that no welcome answered yet was said (0: none waits), and whether its silence was said. */
  private unansweredSince = 0;
  private silenceSaid = false;
  private timer: NodeJS.Timeout | undefined;
  /** The read in progress, a slice a turn of the event loop (step()), and the turn it waits for. */
  private pass: Pass | null = null;
  private slice: NodeJS.Immediate | undefined;
  private ackWaiters: (() => void)[] = [];
  /** stop() began: what is held goes to the hub with a stopping beat after it. */
  private stopping = false;
  private counts = { sent: 0, failed: 0, dropped: 0 };
  private lastError: { message: string; at: number } | null = null;
  /** lastError is the hub's refusal of an entry (said of the data, not the link): an ack does not clear it. */
  private entryRefused = false;

  constructor(d: MemberDeps) {
    this.d = d;
    this.worker = workerToName(d);
    this.instance = d.options.instance ?? defaultInstance(this.worker);
  }

  start(): void {
    // A monitor stopped and started again in its process is a fresh member, its epoch aside:
    // a stop's flags kept, the next welcome with batches held said `stopping` again, and the
    // hub marked this running member stopped (and a hub on a database flushed for it).
    this.stopping = false;
    this.refused = false;
    this.rehello = false;
    this.rejectedLink = false;
    this.unansweredSince = 0;
    this.silenceSaid = false;
    this.d.transport.start({
      open: () => {
        this.connected = true;
        this.rejectedLink = false;
        this.hello();
      },
      message: (bytes) => this.onMessage(bytes),
      closed: (error) => {
        this.connected = false;
        this.welcomed = false;
        this.unansweredSince = 0;
        this.counts.failed++;
        if (error && !this.rejectedLink) this.noteError(error.message);
        this.rejectedLink = false;
      },
      drain: () => this.pump(),
    });
    this.arm();
  }

  /**
   * The next read, just past the next bucket boundary (readDue). A read once an interval from
   * start() on came at the moment of the interval the monitor happened to start in: an
   * interval's buckets reached the hub up to an interval after they closed, and the hub's
   * rate on the series of a member started 0.98 s into an interval read 1.24× its own (its
   * window ends where the member's data does: monitor/query.ts, memberEnd).
   */
  private arm(): void {
    const interval = this.d.intervalMs;
    const now = this.d.clock();
    const boundary = Math.floor(now / interval) * interval + interval;
    this.timer = setTimeout(() => this.readDue(boundary, READ_RETRY_MS), boundary - now + READ_AFTER_MS);
    this.timer.unref();
  }

  /**
   * Reads the interval that ended at `boundary` once the collector closed it: a read before
   * that found none of its buckets, and they waited for the next read, an interval on. A
   * collector late for the close (a starved thread) is looked at again after `wait` ms,
   * doubled each time; by the next boundary the read goes ahead whatever it did (a held
   * collector's buckets go when they close, as before).
   */
  private readDue(boundary: number, wait: number): void {
    if (this.d.closedTo() < boundary && this.d.clock() + wait < boundary + this.d.intervalMs) {
      this.timer = setTimeout(() => this.readDue(boundary, 2 * wait), wait);
      this.timer.unref();
      return;
    }
    this.arm();
    this.tick(false);
  }

  /**
   * Sends the open buckets too, waits up to FINAL_ACK_MS for the hub to take everything, and
   * disconnects. A link connected and not welcomed yet (a hub slow to answer its hello) is
   * waited for as well: the welcome sends what is held. What the hub has not acknowledged by
   * then is dropped, counted and said (dropHeld).
   */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    if (this.slice !== undefined) clearImmediate(this.slice);
    this.slice = undefined;
    this.stopping = true;
    this.tick(true);
    // Said even with nothing held: the hub marks this member stopped rather than stale.
    if (this.welcomed) this.sayStopping();
    if (this.held.length > 0 && (this.welcomed || (this.connected && !this.refused))) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, FINAL_ACK_MS);
        this.ackWaiters.push(() => {
          if (this.held.length === 0) {
            clearTimeout(t);
            resolve();
          }
        });
      });
    }
    this.ackWaiters = [];
    this.d.transport.stop();
    this.connected = false;
    this.welcomed = false;
    this.dropHeld();
  }

  /**
   * At stop, the batches the hub has not acknowledged (a hub away, or that refused this member)
   * go nowhere: those never written on the link are counted as dropped, and lastError says
   * them and those written and not acknowledged, which the hub may have applied (it applies a
   * batch before its acknowledgement leaves, and a hub stopping with the cluster acknowledges
   * no more): counted as dropped, those overstated the loss. Kept, a stopped member showed
   * them waiting (queueDepth) and dropped 0.
   */
  private dropHeld(): void {
    if (this.held.length === 0) return;
    let unsent = 0;
    let unsentBatches = 0;
    let written = 0;
    let writtenBatches = 0;
    for (const h of this.held) {
      if (h.seq <= this.sentTo) {
        written += h.cols.sids.length;
        writtenBatches++;
      } else {
        unsent += h.cols.sids.length;
        unsentBatches++;
      }
    }
    this.counts.dropped += unsent;
    this.held = [];
    this.heldEntries = 0;
    const parts: string[] = [];
    if (unsent > 0) parts.push(`${buckets(unsent, unsentBatches)} never sent, counted as dropped`);
    if (written > 0) parts.push(`${buckets(written, writtenBatches)} sent and not acknowledged (the hub may have applied them)`);
    // The failure that kept them here (the hub away, its refusal) stays said: it is why.
    const before = this.lastError ? `; the last failure before it: ${this.lastError.message}` : '';
    this.noteError(`the monitor stopped with buckets the hub had not acknowledged: ${parts.join('; ')}${before}`);
  }

  status(): MemberLinkStatus {
    return {
      role: 'member',
      transport: this.d.transport.kind,
      via: this.d.transport.via,
      address: this.d.transport.address,
      instance: this.instance,
      connected: this.welcomed,
      ...this.counts,
      queueDepth: this.heldEntries,
      lagMs: this.held.length > 0 ? Math.max(0, wallNow() - this.held[0]!.at) : 0,
      lastError: this.lastError,
    };
  }

  /**
   * Starts a read of what closed since the last one, in slices (step()), unless one is still
   * going; `final` (stop) reads what is left and the open buckets at once, and sends what the
   * hub has not taken.
   */
  tick(final: boolean): void {
    if (this.rehello && this.connected) {
      this.rehello = false;
      this.hello();
    } else if (this.connected && !this.welcomed && !this.refused && wallNow() - this.helloAt >= this.d.intervalMs) {
      // A hello that got no welcome in an interval is said again: a cluster worker's on the
      // channel reaches nobody while the primary's hub is stopped, and the channel stays open,
      // so nothing else would ever say it again (it held every batch from then on, for good).
      this.hello();
    }
    this.noteSilence();
    if (final) {
      const p = this.pass ?? this.newPass();
      this.pass = null;
      p.closedTo = Math.floor(wallNow() / this.d.intervalMs) * this.d.intervalMs;
      const n = this.d.registry.seriesCount();
      this.readSeries(p, n, false);
      // Then every series again for its open bucket (the closed ones are read by now).
      p.next = 0;
      this.readSeries(p, n, true);
      this.endPass(p);
      return;
    }
    if (this.pass !== null) return;
    this.pass = this.newPass();
    this.step();
  }

  private newPass(): Pass {
    return { next: 0, out: new Columns(), batches: [], first: this.seq + 1, closedTo: this.closedTo(), any: false };
  }

  /**
   * How far a read may say this member's buckets are all sent: to the last boundary passed,
   * and no further than its collector has closed (before its first close, the interval it
   * started in: nothing of this run is older). A read goes ahead by the next boundary whatever
   * the collector did (readDue); a collector held past it (starved of CPU, hung until the
   * watchdog replaced it) closed its buckets later, and a read that said the wall clock's
   * boundary had told the hub they would not come: it closed the cluster-wide buckets they
   * were due in, and they went into the interval they arrived in, a dip and a spike no member
   * recorded.
   */
  private closedTo(): number {
    const interval = this.d.intervalMs;
    const passed = Math.floor(wallNow() / interval) * interval;
    const started = Math.floor(this.d.watchedFrom() / interval) * interval;
    return Math.min(passed, Math.max(this.d.closedTo(), started));
  }

  /**
   * One slice of the read in progress: series after series for up to SLICE_MS and at most
   * SLICE_MAX_SERIES series, then what it filled goes out and the rest waits for the next turn
   * of the event loop. The read runs on the service's main thread: at 10,000 series a whole
   * read held it 17-28 ms at once (6-13 once its sketches were written without allocations),
   * which a request arriving meanwhile waited for (docs/cluster.md, "A member's read").
   */
  private step(): void {
    this.slice = undefined;
    const p = this.pass;
    if (p === null) return;
    const n = this.d.registry.seriesCount();
    const until = monoNow() + SLICE_MS;
    const most = p.next + SLICE_MAX_SERIES;
    do this.readSeries(p, Math.min(n, p.next + SLICE_SERIES), false);
    while (p.next < n && p.next < most && monoNow() < until);
    if (p.next < n) {
      this.hold(p);
      this.slice = setImmediate(() => this.step());
      this.slice.unref();
      return;
    }
    this.pass = null;
    this.endPass(p);
  }

  /** The read's last batch held and sent; a beat if the whole read found nothing. */
  private endPass(p: Pass): void {
    if (p.out.rows > 0) p.batches.push(p.out.finish());
    this.hold(p);
    // Nothing closed since: the hub may count this member caught up to closedTo (its lagMs),
    // once it applied every batch up to this seq.
    if (!p.any && this.welcomed) this.d.transport.send({ t: 'beat', seq: this.seq, closedTo: p.closedTo });
  }

  /** Holds the batches a read has filled so far and sends what the link takes. */
  private hold(p: Pass): void {
    if (p.batches.length === 0) return;
    p.any = true;
    const now = wallNow();
    for (const cols of p.batches) {
      this.held.push({ seq: ++this.seq, cols, closedTo: p.closedTo, at: now });
      this.heldEntries += cols.sids.length;
    }
    p.batches = [];
    // The oldest go; on a link the hub welcomed, never what this read took, which goes out
    // now: a bufferLimit below one interval's buckets dropped each batch before it went out,
    // and a hub that was there all along got nothing (until 2026-12-02). What is held stays
    // within bufferLimit, and one interval's buckets while the link is up.
    while (this.heldEntries > this.d.options.bufferLimit && this.held.length > 0 && !(this.welcomed && this.held[0]!.seq >= p.first)) {
      const gone = this.held.shift()!;
      this.heldEntries -= gone.cols.sids.length;
      this.counts.dropped += gone.cols.sids.length;
    }
    this.pump();
  }

  /**
   * Sends the held batches not written on this link yet, in order, until the transport refuses
   * one for its backlog (a hub that reads nothing: they stay held, bounded by bufferLimit, and
   * go at its drain or the next welcome).
   */
  private pump(): void {
    if (!this.welcomed) return;
    for (const h of this.held) {
      if (h.seq <= this.sentTo) continue;
      if (!this.sendHeld(h)) return;
      this.sentTo = h.seq;
    }
  }

  private sendHeld(h: Held): boolean {
    const defs: Def[] = [];
    const fresh: number[] = [];
    for (const sid of h.cols.sids) {
      if (this.defined.has(sid)) continue;
      this.defined.add(sid);
      fresh.push(sid);
      const info = this.d.registry.info(sid);
      defs.push([sid, info.name, info.tags, info.kind, info.unit]);
    }
    if (this.d.transport.send({ t: 'batch', seq: h.seq, round: this.round, closedTo: h.closedTo, defs, ...h.cols })) return true;
    for (const sid of fresh) this.defined.delete(sid);
    return false;
  }

  /** Tells the hub this member stops and waits for its acks: a hub on a database flushes for them then, not at its next flush. */
  private sayStopping(): void {
    this.d.transport.send({ t: 'beat', stopping: true });
  }

  /**
   * A link whose hellos no hub answers says so, once, after UNANSWERED_INTERVALS intervals:
   * a cluster worker whose primary runs no hub (its envelopes go to the application's own
   * listeners), or a socket held by something that is not a hub, showed `connected: false`,
   * `failed: 0` and no error while its batches piled up.
   */
  private noteSilence(): void {
    if (!this.connected || this.welcomed || this.refused || this.unansweredSince === 0 || this.silenceSaid) return;
    const waited = wallNow() - this.unansweredSince;
    if (waited < UNANSWERED_INTERVALS * this.d.intervalMs) return;
    this.silenceSaid = true;
    const where = this.d.transport.kind === 'cluster' ? "does the primary run a monitor with hub: 'cluster'?" : 'is what listens there a perfwatch hub?';
    this.noteError(`no hub has answered this member's hello for ${Math.round(waited / 1000)} s (its buckets are held, up to hub.bufferLimit): ${where}`);
  }

  private hello(): void {
    this.helloAt = wallNow();
    if (this.unansweredSince === 0) {
      this.unansweredSince = this.helloAt;
      this.silenceSaid = false;
    }
    // Its frame limit too: batches are cut to it, so a hub that reads less refuses the member here
    // once, where it reset the link at each batch too long for it and nothing ever arrived.
    this.d.transport.send({ t: 'hello', instance: this.instance, epoch: this.epoch, intervalMs: this.d.intervalMs, maxFrameBytes: this.d.options.maxFrameBytes, watchedFrom: this.d.watchedFrom(), ...(this.worker !== undefined ? { worker: this.worker } : {}) });
  }

  private onMessage(bytes: Uint8Array): void {
    let m;
    try {
      m = decodeHubMessage(bytes);
    } catch (error) {
      this.noteError(error instanceof WireError ? error.message : String(error));
      return;
    }
    if (m.t === 'reject') {
      this.counts.failed++;
      this.refused = true;
      this.rejectedLink = true;
      this.noteError(`the hub refused this member: ${m.field}: ${m.message}`);
      return;
    }
    if (m.t === 'refused') {
      // The batch is applied (its ack comes) without the entries the hub refused.
      this.counts.failed++;
      this.noteError(`the hub refused an entry: ${m.message}`, true);
      return;
    }
    if (m.t === 'reset') {
      // Its batches are refused until it says hello again; a member the hub refused (its
      // options differ) would only be refused again, and stays quiet.
      this.welcomed = false;
      this.counts.failed++;
      this.rehello = !this.refused;
      this.noteError(`the hub reset this link: ${m.message}`);
      return;
    }
    // A welcome overtaken by a later one of the same hub (a cluster worker's first hello is
    // answered on the IPC channel, its second on the primary's socket, and the two can cross):
    // taking its round would mark every batch with one the hub ignores, silently, for good.
    if (m.t === 'welcome' && m.hub === this.hubRun && m.round <= this.round) return;
    const upTo = m.t === 'welcome' ? m.acked : m.seq;
    this.release(upTo);
    if (m.t === 'welcome') {
      this.hubRun = m.hub;
      if (m.instance !== undefined && this.worker !== undefined) this.instance = m.instance;
      this.welcomed = true;
      this.unansweredSince = 0;
      this.d.transport.welcomed();
      this.refused = false;
      this.round = m.round;
      // The hub may be a new one that knows none of them: every series is defined again.
      this.defined.clear();
      this.sentTo = 0;
      this.pump();
      if (this.stopping && this.held.length > 0) this.sayStopping();
    }
    for (const w of this.ackWaiters) w();
  }

  private release(upTo: number): void {
    const before = this.held.length;
    while (this.held.length > 0 && this.held[0]!.seq <= upTo) {
      const h = this.held.shift()!;
      this.heldEntries -= h.cols.sids.length;
      this.counts.sent += h.cols.sids.length;
    }
    // Delivering again: a link's error kept past it (connect ENOENT, write EPIPE) read as a
    // link failing still, as the exporter clears its error at a request taken. What failed
    // stays counted; an entry the hub refused stays said (its batch is acknowledged all the same).
    if (this.held.length < before && !this.entryRefused) this.lastError = null;
  }

  /** `entry`: the hub refused an entry (see entryRefused). */
  private noteError(message: string, entry = false): void {
    this.lastError = { message, at: wallNow() };
    this.entryRefused = entry;
  }

  /**
   * The application's series' tier-1 buckets closed since their last read, oldest first per
   * series, of the series from `p.next` to `to` (and their open buckets when `final`), added to
   * the read's columns, one batch or more: each batch's frame, with the definitions of
   * its series, stays within maxFrameBytes (the hub resets a link that sends a longer frame,
   * and the member sent that batch again at each reconnection, for good: until 2026-12-01 a
   * batch was an interval's buckets whatever their size), and holds the buckets of at most
   * MAX_DEFS series, whose definitions it carries after a welcome (the hub refuses more).
   */
  private readSeries(p: Pass, to: number, final: boolean): void {
    const { registry, reader } = this.d;
    const cap = reader.layout.t1Cap;
    const budget = this.d.options.maxFrameBytes - FRAME_SLACK;
    // `sketchLen`: the bytes of the row's sketch in sketchBytes (0: none).
    const add = (id: number, r: BucketRecord, sketchLen: number): void => {
      const bytes = ROW_BYTES + sketchLen + this.defBytes(id);
      const out = p.out;
      if (out.rows > 0 && (out.size + bytes > budget || (id !== out.lastSid && out.series >= MAX_DEFS))) {
        p.batches.push(out.finish());
        p.out = new Columns();
      }
      p.out.add(id, r, this.sketchBytes, sketchLen, bytes);
    };
    for (let id = p.next; id < to; id++) {
      const stays = (this.stays[id] ??= registry.isOwn(id) && !this.d.perProcess.has(registry.info(id).name));
      if (stays) continue;
      const head = reader.bucketCount(id, 1);
      const done = this.done[id] ?? 0;
      if (head !== done) {
        // One record of margin, as the reader keeps: the writer may be rewriting the oldest.
        if (head - done > cap - 1) this.counts.dropped += head - done - (cap - 1);
        const sketched = (this.sketched[id] ??= travelsSketched(registry.info(id).kind));
        const sent = this.sentOpen[id];
        // By start, not by count: a bucket that closed after bucketCount() is read now and not
        // again; the one sent open at a stop is read again, for what it took after.
        const list = reader.buckets(id, 1, sent !== undefined ? sent.start : (this.doneStart[id] ?? -Infinity) + 1);
        for (const r of list) {
          if (sent !== undefined && r.start === sent.start) {
            this.sentOpen[id] = undefined;
            this.rest(id, r, false, sent, sketched, add);
          } else add(id, r, sketched ? this.sketch(id, r, false) : 0);
        }
        this.done[id] = head;
        if (list.length > 0) this.doneStart[id] = list[list.length - 1]!.start;
      }
      if (final) {
        const s = reader.snapshot(id);
        const sent = this.sentOpen[id];
        const sketched = travelsSketched(registry.info(id).kind);
        const r = { start: s.openStart, count: s.openCount, sum: s.openSum, min: s.openMin, max: s.openMax, last: s.openLast, sketchPos: -1, sketchLen: 0 };
        let taken = false;
        if (s.openCount > 0 && sent !== undefined && sent.start === s.openStart) taken = this.rest(id, r, true, sent, sketched, add);
        else if (s.openCount > 0 && s.openStart > (this.doneStart[id] ?? -Infinity)) {
          add(id, r, sketched ? this.sketch(id, r, true) : 0);
          taken = true;
        }
        if (taken) {
          // Sent whole: if this monitor starts again, that bucket's close sends only what it
          // took after. Until 2026-12-06 it sent nothing of it: a monitor stopped and started
          // again within an interval lost the samples of that interval's rest on the hub.
          this.doneStart[id] = s.openStart;
          let bins: Map<number, number> | undefined;
          if (sketched) {
            // The whole bucket's: what the accumulator holds after a rest is that rest alone.
            this.fill(id, r, true);
            bins = this.accBins();
          }
          this.sentOpen[id] = { start: s.openStart, count: s.openCount, sum: s.openSum, bins };
        }
      }
    }
    p.next = to;
  }

  /**
   * An upper bound of the bytes of a series' definition in a batch, [sid, name, tags, kind,
   * unit] as MessagePack: 40 for the array's, the strings' and the map's headers, the sid and
   * the kind, 10 for each tag's two headers, and the strings' bytes.
   */
  private defBytes(id: number): number {
    let bytes = this.defSizes[id];
    if (bytes === undefined) {
      const info = this.d.registry.info(id);
      bytes = 40 + Buffer.byteLength(info.name) + Buffer.byteLength(info.unit);
      for (const k in info.tags) bytes += 10 + Buffer.byteLength(k) + Buffer.byteLength(info.tags[k]!);
      this.defSizes[id] = bytes;
    }
    return bytes;
  }

  /**
   * A bucket's sketch in the wire's (the disk's) encoding, written into sketchBytes; returns
   * its bytes, 0 when it holds none. Nothing is allocated a bucket: this runs on the service's
   * main thread for every bucket of an interval (10,000 at 10,000 series).
   */
  private sketch(id: number, r: BucketRecord, open: boolean): number {
    this.fill(id, r, open);
    return this.encodeAcc();
  }

  private fill(id: number, r: BucketRecord, open: boolean): void {
    this.acc.reset();
    if (open) this.d.reader.addOpenSketch(id, this.acc);
    else this.d.reader.addSketch(1, r, this.acc);
  }

  /** The bins of the accumulator, key to count (the sketch just sent). */
  private accBins(): Map<number, number> {
    const bins = new Map<number, number>();
    this.acc.forEachBin((key, count) => bins.set(key, count));
    return bins;
  }

  /**
   * What bucket `r` (closed, or still open at a stop) took after its part `sent` went out at a
   * stop: its count and sum less the part's, its sketch less the part's bins (min, max and last
   * are the bucket's, the part's included: the hub already holds the part's). Whether it took
   * any.
   */
  private rest(id: number, r: BucketRecord, open: boolean, sent: SentOpen, sketched: boolean, add: (id: number, r: BucketRecord, sketchLen: number) => void): boolean {
    const count = r.count - sent.count;
    if (count <= 0) return false;
    let len = 0;
    if (sketched) {
      this.fill(id, r, open);
      const all = this.accBins();
      this.acc.reset();
      for (const [key, n] of all) this.acc.addKey(key, n - (sent.bins?.get(key) ?? 0));
      len = this.encodeAcc();
    }
    add(id, { ...r, count, sum: r.sum - sent.sum }, len);
    return true;
  }

  /** The accumulator's sketch in the wire's encoding, written into sketchBytes; its bytes, 0 when it holds none. */
  private encodeAcc(): number {
    if (this.acc.total === 0) return 0;
    const len = this.acc.encodedLengthBound();
    if (this.scratch.length < len) this.scratch = new Int32Array(Math.max(len, this.scratch.length * 2));
    this.acc.encodeInto(this.scratch, 0);
    const bound = sketchBytesBound(this.scratch[0]!);
    if (this.sketchBytes.length < bound) this.sketchBytes = new Uint8Array(Math.max(bound, this.sketchBytes.length * 2));
    return encodeSketchTo(this.scratch, 0, this.sketchBytes, 0);
  }
}

/**
 * Whether a series' buckets travel with their sketches: a gauge's and a distribution's do, so
 * the hub has their quantiles (getMetrics, p90 rules, reports) as one process has them; until
 * 2026-12-01 a gauge's did not, and on a hub its quantiles were null and a quantile rule on it
 * never fired. A counter's bins are its increments, whose quantiles no answer reads: its count
 * and sum are enough.
 */
function travelsSketched(kind: MetricKind): boolean {
  return kind !== 'counter';
}

/** A read of the closed buckets, in slices: the next series, the batch it fills and those it filled, the seq of its first, and the time it covers. */
interface Pass {
  next: number;
  out: Columns;
  batches: BatchColumns[];
  first: number;
  closedTo: number;
  /** Whether it held a batch. */
  any: boolean;
}

/**
 * A slice of a read: series read between two looks at the clock, the time it may take and
 * the series it may read before the rest waits for the event loop's next turn.
 */
const SLICE_SERIES = 256;
const SLICE_MS = 2;
const SLICE_MAX_SERIES = 1024;

/** A batch row's fixed bytes: sid (4), start (8), count, sum, min, max, last (40), sketch end (4). */
const ROW_BYTES = 56;
/** A batch frame's bytes beside its rows and definitions: the length prefix, the message's keys and numbers, the columns' headers. */
const FRAME_SLACK = 256;

/**
 * A batch being read: rows appended into growing columns, then cut to their length. Typed
 * columns and one byte buffer for the sketches, not arrays of numbers and a Uint8Array a
 * sketch: a member reads every interval on the service's main thread.
 */
class Columns {
  /** Rows, and their bytes in a frame (fixed, sketch, a definition's bound). */
  rows = 0;
  size = 0;
  /** Series whose rows it holds (a series' rows are added one after another), and the last. */
  series = 0;
  lastSid = -1;
  // Room for MAX_DEFS series' one bucket each, a batch's usual size, before any grows.
  private sids = new Int32Array(MAX_DEFS);
  private starts = new Float64Array(MAX_DEFS);
  private stats = new Float64Array(5 * MAX_DEFS);
  private ends = new Int32Array(MAX_DEFS);
  private sketches = new Uint8Array(8192);
  private bytes = 0;

  add(sid: number, r: BucketRecord, sketch: Uint8Array, sketchLen: number, bytes: number): void {
    const i = this.rows++;
    this.size += bytes;
    if (sid !== this.lastSid) {
      this.series++;
      this.lastSid = sid;
    }
    if (i === this.sids.length) this.grow();
    this.sids[i] = sid;
    this.starts[i] = r.start;
    const s = 5 * i;
    this.stats[s] = r.count;
    this.stats[s + 1] = r.sum;
    this.stats[s + 2] = r.min;
    this.stats[s + 3] = r.max;
    this.stats[s + 4] = r.last;
    if (sketchLen > 0) {
      if (this.bytes + sketchLen > this.sketches.length) this.sketches = widened(this.sketches, Math.max(this.bytes + sketchLen, 2 * this.sketches.length));
      this.sketches.set(sketch.subarray(0, sketchLen), this.bytes);
      this.bytes += sketchLen;
    }
    this.ends[i] = this.bytes;
  }

  finish(): BatchColumns {
    const n = this.rows;
    return { sids: this.sids.slice(0, n), starts: this.starts.slice(0, n), stats: this.stats.slice(0, 5 * n), sketchEnd: this.ends.slice(0, n), sketches: this.sketches.slice(0, this.bytes) };
  }

  /** Twice the room for rows. */
  private grow(): void {
    const n = 2 * this.sids.length;
    this.sids = widened(this.sids, n);
    this.starts = widened(this.starts, n);
    this.stats = widened(this.stats, 5 * n);
    this.ends = widened(this.ends, n);
  }
}

/** `n` buckets in `batches` batches, in words. */
function buckets(n: number, batches: number): string {
  return `${n} bucket${n === 1 ? '' : 's'} (${batches} batch${batches === 1 ? '' : 'es'})`;
}
