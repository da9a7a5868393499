/**
 * A lock-free single-producer single-consumer ring of samples over a SharedArrayBuffer.
 *
 * Thread contract: one producer thread (the one that claimed the ring) and one consumer
 * (the collector actor); roles never change. A restarted collector takes over as the same
 * consumer, resuming from APPLIED.
 *
 * A sample is a series id (i32) and a value (f64). Indices are free-running 32-bit counters
 * that wrap: `(write - read) | 0` is the fill level, so no slot has to be kept empty to tell
 * full from empty (capacity is a power of two, at most 2^30).
 *
 * The header's layout is RING_HEADER below; the ids (i32) and values (f64) of the slots
 * follow it. Each 64-byte line that the sample path writes has one writer, and the cell
 * written on every sample applied (APPLIED) has a line of its own: a producer on a full ring reads
 * READ, and sharing a line with APPLIED made every such read a cache miss on a line the
 * collector was writing (false sharing).
 *
 * The producer publishes WRITE every PUBLISH_EVERY samples and on a flush that it schedules
 * at most once per turn of its event loop, so the per-sample cost is two plain stores; the
 * consumer publishes READ every few thousand samples of a drain. A sleeping collector is
 * woken by the end-of-turn flush, or sooner once the ring is half full. On the main thread the
 * flush is a setImmediate (one a turn, whatever the callbacks in it); on other threads a
 * microtask, at the end of the task that recorded: a piscina thread waits for its next task
 * in Atomics.wait without ending its turn, so a setImmediate there never ran between tasks,
 * and a task's last samples (fewer than PUBLISH_EVERY) stayed unseen until later tasks, or
 * were lost with the thread (until 2026-12-01).
 *
 * A full ring: under 'drop' the sample is dropped and counted; under 'wait' (the default) and
 * 'block' the producer first waits for the consumer to free room (see waitForProgress). A
 * producer that drops does so in a streak: it counts locally and looks at READ (and publishes
 * DROPPED) once per STREAK_CHECK drops, so a thread recording flat out into a full ring does
 * not keep the collector's lines bouncing between cores. And when a whole streak found the
 * ring still full while the collector is alive, the thread gives it the CPU for at most
 * CEDE_MS (less if room appears) before the next streak: on a machine with fewer cores than
 * busy threads, producers spinning on full rings took the CPU the collector needed to drain
 * them (with three workers and the main thread recording flat out on two cores, the
 * collector got 37% of a core under 'drop' against 56% under 'block').
 */
import { isMainThread } from 'node:worker_threads';
import { CapacityError, InvalidArgumentError, MonitorStoppedError } from '../errors.js';
import { BEAT_BY, CLOCK, TID, controlViews, ringDoorbell, type ControlViews } from './control.js';
import { defineLayout } from './layout.js';
import { clockOffset, monitorNow } from './monitor-clock.js';
import { osThreadEnded, type OsThread } from './os-thread.js';
import { monoNow, setImmediate } from './real-timers.js';
import { runnableMark } from './thread-cpu.js';

export const RING_HEADER = defineLayout({
  name: 'ring header',
  bytes: 256,
  oneWriterPerLine: true,
  sharedLines: [{ line: 3, why: 'written once per claim, attach, start or stop, never on the sample path' }],
  cells: {
    WRITE: { offset: 0, type: 'i32', writer: 'producer', meaning: 'published write index' },
    DROPPED: { offset: 4, type: 'i32', writer: 'producer', meaning: 'samples dropped on a full ring (wraps)' },
    WAITING: { offset: 8, type: 'i32', writer: 'producer', meaning: '1 while waiting on a full ring' },
    READ: { offset: 64, type: 'i32', writer: 'collector', meaning: 'published read index (frees slots)' },
    APPLIED: { offset: 128, type: 'i32', writer: 'collector', meaning: 'samples applied to the store (at or past READ)' },
    CHUNK_R0: { offset: 132, type: 'i32', writer: 'collector', meaning: 'first slot of the chunk being applied' },
    CHUNK_K: { offset: 136, type: 'i32', writer: 'collector', meaning: 'its slots, all samples; 0 when no chunk is in flight' },
    CHUNK_DONE: { offset: 140, type: 'i32', writer: 'collector', meaning: 'its samples committed, in the order grouped by series' },
    CHUNK_STAMP: { offset: 144, type: 'f64', writer: 'collector', meaning: 'the time (ms) its samples take' },
    CLAIM: { offset: 192, type: 'i32', writer: 'any thread (CAS)', meaning: "0 free, else the claiming thread's id + 1" },
    CLOSED: { offset: 196, type: 'i32', writer: 'main thread', meaning: "1 while the monitor is stopped; 2 stopped at the host's exit (records drop, counted, instead of throwing); 3 closed for good (close())" },
    CAPACITY: { offset: 200, type: 'i32', writer: 'creator', meaning: 'slots' },
    RING_ID: { offset: 204, type: 'i32', writer: 'creator', meaning: 'unique in the process' },
    OWNER_TID: { offset: 208, type: 'i32', writer: 'any thread (CAS)', meaning: 'its OS thread id (Linux; 0 unknown): a ring whose thread ended is claimed again' },
    OWNER_START: { offset: 216, type: 'f64', writer: 'any thread (CAS)', meaning: 'when that thread started (clock ticks since boot)' },
    GENERATION: { offset: 224, type: 'i32', writer: 'main thread', meaning: "bumped at each close or reopening (stop, start, close): a producer's samples pushed under an older one are dropped (counted) at its flush point, not stored" },
    ATTACHES: { offset: 228, type: 'i32', writer: 'producer', meaning: "on a handle's first ring: attachProducer() calls of that handle, in any thread (wraps): producer() past its limit hands a handle out again only once one came since its last handout" },
  },
});

export const HEADER_BYTES = RING_HEADER.bytes;
export const WRITE = RING_HEADER.index.WRITE;
export const DROPPED = RING_HEADER.index.DROPPED;
export const WAITING = RING_HEADER.index.WAITING;
export const READ = RING_HEADER.index.READ;
export const APPLIED = RING_HEADER.index.APPLIED;
export const CHUNK_R0 = RING_HEADER.index.CHUNK_R0;
export const CHUNK_K = RING_HEADER.index.CHUNK_K;
export const CHUNK_DONE = RING_HEADER.index.CHUNK_DONE;
/** CHUNK_STAMP as the index of the first of its two i32 halves (copied in memory order) in the header's Int32Array. */
export const CHUNK_STAMP_I32 = RING_HEADER.index.CHUNK_STAMP * 2;
export const CLAIM = RING_HEADER.index.CLAIM;
export const CLOSED = RING_HEADER.index.CLOSED;
export const CAPACITY = RING_HEADER.index.CAPACITY;
export const RING_ID = RING_HEADER.index.RING_ID;
export const GENERATION = RING_HEADER.index.GENERATION;
export const OWNER_TID = RING_HEADER.index.OWNER_TID;
export const ATTACHES = RING_HEADER.index.ATTACHES;
/** OWNER_START as an index of the header's Float64Array. */
export const OWNER_START = RING_HEADER.index.OWNER_START;
/** CLAIM while a thread writes the OWNER cells of its claim: they belong to the tag CLAIM holds once it holds one. */
const CLAIMING = -1;

let nextRingId = 1;

/**
 * A slot whose id is TIME_MARK is not a sample: its value is the time (ms) at which the
 * ring's following samples were taken, or NaN to go back to the time they are drained.
 */
export const TIME_MARK = -2;

/** The producer publishes its write index once per this many samples (a power of two). */
export const PUBLISH_EVERY = 64;
const PUBLISH_MASK = PUBLISH_EVERY - 1;
/** A producer dropping in a streak looks at READ once per this many drops (a power of two). */
export const STREAK_CHECK = 64;
const STREAK_MASK = STREAK_CHECK - 1;
/** Longest a producer cedes the CPU after a streak of drops (ms; see the module comment). */
export const CEDE_MS = 1;
/**
 * The collector counts as alive while its last beat, or the next one it promised, is at most
 * this old (the watchdog's grace): a dead or hung one gets no CPU ceded to it.
 */
const ALIVE_MS = 300;
/** Longest single Atomics.wait while waiting for room; progress and CLOSED are checked between. */
const WAIT_SLICE_MS = 10;
/**
 * Under 'wait', a thread's waiting budget: up to WAIT_BURST_MS at once, earned back at
 * WAIT_SHARE of the time that passes. A burst the collector absorbs in a fraction of a second
 * loses nothing; sustained overload costs the thread at most a tenth of its time, and the
 * rest is dropped and counted.
 */
export const WAIT_BURST_MS = 250;
export const WAIT_SHARE = 0.1;
/**
 * How much longer than stallMs a wait goes on while the collector's thread waits for a CPU
 * (the watchdog's MAX_STARVED_MS): on a loaded machine one wait for a CPU held a live collector
 * 120-1300 ms, and a 'block' producer that gave up after 250 ms dropped what it recorded next.
 */
export const STARVED_MS = 2_000;

/** A look at the collector's thread, `tid` from the control block: runnableMark() (engine/thread-cpu.ts); tests pass their own. */
export type ThreadLook = (tid: number) => string | undefined;

/**
 * What a full ring does. 'wait': wait for the collector while it frees room, within the
 * thread's waiting budget, then drop and count. 'drop': drop and count at once. 'block':
 * wait as long as the collector frees room (no loss while it is alive). Under 'wait' and
 * 'block' a wait ends after `stallMs` without progress (a dead, hung or restarting
 * collector), and from then on samples drop at once until the collector frees room; except
 * while the collector's thread waits for a CPU (a busy machine, a CPU quota: alive, only not
 * running), which extends the wait by up to STARVED_MS.
 */
export type OverflowPolicy = 'wait' | 'drop' | 'block';
export const OVERFLOW_POLICIES: readonly OverflowPolicy[] = ['wait', 'drop', 'block'];
/** Default longest wait on a ring whose consumer frees nothing. */
export const DEFAULT_STALL_MS = 250;

export function bytesFor(capacity: number): number {
  return HEADER_BYTES + 12 * capacity;
}

export interface RingOptions {
  /** Starting value of all indices; tests use values near 2^31 to cross the wrap. */
  initialIndex?: number;
}

export function createRing(capacity: number, options: RingOptions = {}): SharedArrayBuffer {
  if (!Number.isInteger(capacity) || capacity < 2 || capacity > 2 ** 30 || (capacity & (capacity - 1)) !== 0) {
    throw new InvalidArgumentError('ringCapacity', 'must be a power of two from 2 to 2^30', { value: capacity });
  }
  const sab = new SharedArrayBuffer(bytesFor(capacity));
  const hdr = new Int32Array(sab, 0, HEADER_BYTES / 4);
  const start = (options.initialIndex ?? 0) | 0;
  hdr[WRITE] = start;
  hdr[READ] = start;
  hdr[APPLIED] = start;
  hdr[CAPACITY] = capacity;
  hdr[RING_ID] = nextRingId++;
  return sab;
}

/** Whether `value` is a ring's buffer: a SharedArrayBuffer of createRing()'s size for the capacity in its header (a JSON copy of one is `{}`). */
export function isRingBuffer(value: unknown): value is SharedArrayBuffer {
  if (!(value instanceof SharedArrayBuffer) || value.byteLength < HEADER_BYTES) return false;
  const capacity = new Int32Array(value, 0, HEADER_BYTES / 4)[CAPACITY]!;
  return capacity >= 2 && (capacity & (capacity - 1)) === 0 && value.byteLength === bytesFor(capacity);
}

export interface RingStats {
  id: number;
  capacity: number;
  /** Samples published and not yet freed by the consumer. */
  fill: number;
  /** Samples dropped on a full ring, ever (wraps at 2^32). */
  dropped: number;
  /** 0 when no thread claimed it, else the claiming thread's id + 1 (-1 while a claim is being made). */
  claimedBy: number;
}

/** A look at a ring's header from any thread. */
export function ringStats(sab: SharedArrayBuffer): RingStats {
  const hdr = new Int32Array(sab, 0, HEADER_BYTES / 4);
  return {
    id: hdr[RING_ID]!,
    capacity: hdr[CAPACITY]!,
    fill: (Atomics.load(hdr, WRITE) - Atomics.load(hdr, READ)) | 0,
    dropped: Atomics.load(hdr, DROPPED) >>> 0,
    claimedBy: Atomics.load(hdr, CLAIM),
  };
}

/**
 * Takes a ring for the calling thread (`self`: its OS thread, recorded in the ring): a free
 * one, or one whose thread has ended (a piscina thread past its idleTimeout, a terminated
 * worker), which otherwise stayed claimed for good, and with 16 such threads every later one
 * was refused. False when a live thread, or one that cannot be told apart, holds it.
 *
 * Between the CAS to CLAIMING and the store of the claim, the code calls no JavaScript
 * function: V8 stops a terminated worker at function entries and loop back-edges, and one
 * stopped there left the ring CLAIMING, refused to every thread for good. So the views of
 * the slots are made before the CAS, and the time mark is written inline.
 */
export function claimRing(sab: SharedArrayBuffer, threadTag: number, self?: OsThread): boolean {
  const hdr = new Int32Array(sab, 0, HEADER_BYTES / 4);
  const f64 = new Float64Array(sab, 0, HEADER_BYTES / 8);
  const tid = self?.tid ?? 0;
  const start = self?.start ?? 0;
  const was = Atomics.compareExchange(hdr, CLAIM, 0, CLAIMING);
  if (was !== 0) {
    if (was === CLAIMING) return false;
    const owner = Atomics.load(hdr, OWNER_TID);
    if (owner === 0 || !osThreadEnded(owner, f64[OWNER_START]!)) return false;
    const capacity = hdr[CAPACITY]!;
    const ids = new Int32Array(sab, HEADER_BYTES, capacity);
    const values = new Float64Array(sab, HEADER_BYTES + 4 * capacity, capacity);
    if (Atomics.compareExchange(hdr, CLAIM, was, CLAIMING) !== was) return false;
    // The ended thread may have died waiting on a full ring, or inside a batch's time marks,
    // whose time the samples after them would take: its ring goes on at drain time, a
    // TIME_MARK back to it published as the next slot. A ring with no room for that mark is
    // not taken yet (the collector drains it).
    const w = Atomics.load(hdr, WRITE);
    if (((w - Atomics.load(hdr, READ)) | 0) >= capacity) {
      Atomics.store(hdr, CLAIM, was);
      return false;
    }
    ids[w & (capacity - 1)] = TIME_MARK;
    values[w & (capacity - 1)] = Number.NaN;
    Atomics.store(hdr, WRITE, (w + 1) | 0);
    Atomics.store(hdr, WAITING, 0);
  }
  Atomics.store(hdr, OWNER_TID, tid);
  f64[OWNER_START] = start;
  Atomics.store(hdr, CLAIM, threadTag);
  return true;
}

/** Counts an attachProducer() of the handle whose first ring is `first` (monitor/producer-handles.ts reads it). */
export function countAttach(first: SharedArrayBuffer): void {
  Atomics.add(new Int32Array(first, 0, HEADER_BYTES / 4), ATTACHES, 1);
}

/** attachProducer() calls of the handle whose first ring is `first` so far (wraps). */
export function attachesOf(first: SharedArrayBuffer): number {
  return Atomics.load(new Int32Array(first, 0, HEADER_BYTES / 4), ATTACHES);
}

/**
 * Whether a thread that still runs holds the ring, or may: one taking it now, or one /proc
 * cannot tell ended (elsewhere than Linux, a claim is kept for good). A ring no thread
 * ever took, or whose thread ended, is free for the next.
 */
export function ringHeldByLiveThread(sab: SharedArrayBuffer): boolean {
  const hdr = new Int32Array(sab, 0, HEADER_BYTES / 4);
  const claim = Atomics.load(hdr, CLAIM);
  if (claim === 0) return false;
  if (claim === CLAIMING) return true;
  const owner = Atomics.load(hdr, OWNER_TID);
  return owner === 0 || !osThreadEnded(owner, new Float64Array(sab, 0, HEADER_BYTES / 8)[OWNER_START]!);
}

/** CLOSED's value for a ring closed at the host's exit (monitor/host-exit.ts). */
const CLOSED_AT_EXIT = 2;
/** CLOSED's value for a ring of a monitor closed for good (close()): start() refuses, so a record is told to build a new monitor, not to call start(). */
const CLOSED_FOR_GOOD = 3;

/** What a record on a ring closed for good throws (start() refuses the same way). */
export const CLOSED_RULE = 'the monitor was closed: build a new one to monitor again';

/** The error of a record on a ring whose CLOSED is `closed` (not 0, not CLOSED_AT_EXIT); `refused`: samples taken since the last flush point that were dropped with it. */
function stoppedError(closed: number, refused = 0): MonitorStoppedError {
  const error = closed === CLOSED_FOR_GOOD ? new MonitorStoppedError(CLOSED_RULE) : new MonitorStoppedError();
  if (refused === 0) return error;
  return new MonitorStoppedError(`${error.rule} (the ${refused} samples this thread recorded since its last flush point were not stored: dropped, and counted in status().ingestion.dropped)`);
}

/** Whether a ring is closed for good (close()): a handle of its monitor would never record. */
export function ringClosedForGood(sab: SharedArrayBuffer): boolean {
  return Atomics.load(new Int32Array(sab, 0, HEADER_BYTES / 4), CLOSED) === CLOSED_FOR_GOOD;
}

/**
 * Marks a ring closed; its producer throws MonitorStoppedError on its next record, or, closed
 * `atExit` (the monitor stopped by the host's exit, not by a stop() the host called), drops
 * it: a timer or a thread of the host's still recording while the process ends is not
 * thrown at for a stop it never asked for. `forGood` (close()): the error says the monitor was
 * closed ("call start() before recording" sent the caller to a start() that refuses).
 */
export function closeRing(sab: SharedArrayBuffer, closed: boolean, atExit = false, forGood = false): void {
  const hdr = new Int32Array(sab, 0, HEADER_BYTES / 4);
  // Before CLOSED: a producer that sees the ring open again sees the new generation too, so
  // the samples it took while the ring was closed are not published into the new run.
  Atomics.add(hdr, GENERATION, 1);
  Atomics.store(hdr, CLOSED, closed ? (forGood ? CLOSED_FOR_GOOD : atExit ? CLOSED_AT_EXIT : 1) : 0);
  if (closed) Atomics.notify(hdr, READ);
}

/**
 * The producer's end. Not shared: each thread builds its own over the ring it claimed.
 * All fields are plain properties so that `push` compiles to a few loads and stores.
 */
export class RingWriter {
  readonly ids: Int32Array;
  readonly values: Float64Array;
  readonly capacity: number;
  readonly mask: number;
  readonly sab: SharedArrayBuffer;
  /** Local write index (i32, wraps); published to WRITE in batches. */
  w: number;
  /** Index at which the free space seen so far runs out: push goes to reserve() there. */
  limit: number;
  /**
   * Index at which push leaves its fast path for pushSlow(): the first of the end of the
   * free space seen, the next publish point, and (while no flush is scheduled) the next
   * sample. Setting it to `w` sends the next push there, which plans it again.
   */
  stop: number;
  /** True while a flush is scheduled for the end of this event-loop turn. */
  pending = false;
  /** Free slots at or below which a publish wakes the collector (half the ring used). */
  private readonly wakeRoom: number;
  readonly overflow: OverflowPolicy;
  /** Longest wait on a full ring whose consumer frees nothing; see OverflowPolicy. */
  readonly stallMs: number;
  private readonly hdr: Int32Array;
  private readonly ctl: ControlViews;
  private closed: boolean;
  /**
   * GENERATION when the samples pushed since the last flush point began to be taken (read at
   * that flush point, or at the first sample after it): a flush point that finds the ring
   * closed, or another generation (a stop, and maybe a start, came between), drops them
   * (counted) instead of publishing them, as they may have been taken while the monitor was
   * stopped. Published, they were stored at the next start's time, or, after close(), were
   * pending for good and counted nowhere.
   */
  private generation: number;
  /** Drops counted (wraps); DROPPED holds the part published so far. */
  private dropped: number;
  private publishedDropped: number;
  /** Drops in the current streak (0: not dropping). */
  private streak = 0;
  /** READ at which a wait gave up: later waits give up at once until READ moves. */
  private stalledRead: number | undefined;
  /** The waiting budget of 'wait' (ms) and when it was last earned. */
  private credit = WAIT_BURST_MS;
  private creditAt = 0;
  private readonly look: ThreadLook;
  private readonly flushCallback = (): void => {
    this.pending = false;
    this.stop = this.w;
    if (this.w !== Atomics.load(this.hdr, WRITE) || this.dropped !== this.publishedDropped) this.publish(true, false);
  };

  constructor(sab: SharedArrayBuffer, control: SharedArrayBuffer, overflow: OverflowPolicy, stallMs = DEFAULT_STALL_MS, look: ThreadLook = runnableMark) {
    this.sab = sab;
    this.look = look;
    this.hdr = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.capacity = this.hdr[CAPACITY]!;
    this.mask = this.capacity - 1;
    this.wakeRoom = this.capacity >>> 1;
    this.ids = new Int32Array(sab, HEADER_BYTES, this.capacity);
    this.values = new Float64Array(sab, HEADER_BYTES + 4 * this.capacity, this.capacity);
    this.ctl = controlViews(control);
    this.overflow = overflow;
    this.stallMs = stallMs;
    this.w = Atomics.load(this.hdr, WRITE);
    this.dropped = Atomics.load(this.hdr, DROPPED);
    this.publishedDropped = this.dropped;
    this.generation = Atomics.load(this.hdr, GENERATION);
    this.closed = Atomics.load(this.hdr, CLOSED) !== 0;
    this.limit = this.closed ? this.w : (Atomics.load(this.hdr, READ) + this.capacity) | 0;
    this.stop = this.w;
  }

  /**
   * The hot path: one comparison and two stores. Everything else (room, the publish every
   * PUBLISH_EVERY samples, scheduling the end-of-turn flush) waits at `stop`, so at most one
   * sample in PUBLISH_EVERY pays for it, and push stays small enough to inline into callers.
   */
  push(id: number, value: number): void {
    const w = this.w;
    if (w === this.stop) {
      this.pushSlow(id, value);
      return;
    }
    const i = w & this.mask;
    this.ids[i] = id;
    this.values[i] = value;
    this.w = (w + 1) | 0;
  }

  /**
   * push() that never waits, whatever the overflow policy, for a sample the host never asked
   * for (the monitor's own readings on a host thread: Producer.ownMetric): with no room now,
   * it is dropped and counted (status().ingestion.dropped), and false is returned. Apart from
   * push() so that push() stays as small as it is; it leaves the drop streak to the host's
   * own samples, whose policy it is. A closed ring throws, or drops, as push() does.
   */
  pushOrDrop(id: number, value: number): boolean {
    if (((this.limit - this.w) | 0) <= 0 && Atomics.load(this.hdr, CLOSED) === 0) {
      // The room freed since the writer last looked: setClosed(false) reads READ again (the
      // ring is open, as CLOSED says), without the waits of reserve().
      this.setClosed(false);
      if (((this.limit - this.w) | 0) <= 0) {
        this.countDropped(1);
        return false;
      }
    }
    this.push(id, value);
    return true;
  }

  /** push() at `stop`: room, publish and flush as the sample needs, then the next stop. */
  private pushSlow(id: number, value: number): void {
    if ((this.streak === 0 && this.w === Atomics.load(this.hdr, WRITE) && !this.opening()) || (((this.limit - this.w) | 0) <= 0 && !this.reserve())) {
      this.stop = this.w;
      return;
    }
    // Read after reserve(): its publish may have dropped the samples of a closed generation,
    // moving `w` back to WRITE (a `w` read before wrote past them, and published them again).
    const w = this.w;
    const i = w & this.mask;
    this.ids[i] = id;
    this.values[i] = value;
    this.w = (w + 1) | 0;
    if ((w & PUBLISH_MASK) === PUBLISH_MASK) this.refuseIfStopped(this.publish(this.filling()));
    else if (!this.pending) this.schedule();
    this.plan();
  }

  /**
   * At the first sample after a flush point: notes the generation it is taken in, and looks
   * at CLOSED (another thread's stop() is seen here, not 63 samples later). False when the
   * sample is dropped (counted: the monitor was stopped by the host's exit); throws
   * MonitorStoppedError when the monitor is stopped.
   */
  private opening(): boolean {
    // GENERATION before CLOSED (closeRing stores them the other way): a start() between the
    // two makes the generation older than the open ring's, and the samples are dropped at the
    // flush point (counted), never published as the new run's.
    this.generation = Atomics.load(this.hdr, GENERATION);
    const closed = Atomics.load(this.hdr, CLOSED);
    if (closed === 0) {
      if (this.closed) this.setClosed(false);
      return true;
    }
    this.setClosed(true);
    if (closed !== CLOSED_AT_EXIT) throw stoppedError(closed);
    this.countDropped(1);
    return false;
  }

  /** After a publish that dropped `refused` samples taken while the ring was closed: the MonitorStoppedError that says so, unless the ring is open again or closed at the host's exit (counted only). */
  private refuseIfStopped(refused: number): void {
    if (refused === 0) return;
    const closed = Atomics.load(this.hdr, CLOSED);
    if (closed !== 0 && closed !== CLOSED_AT_EXIT) throw stoppedError(closed, refused);
  }

  /** An explicit flush (producer.flush()): publish(), and the MonitorStoppedError a record would get for samples it dropped as taken while the monitor was stopped. */
  flush(): void {
    this.refuseIfStopped(this.publish());
  }

  /** Sets `stop` from the current state (see stop). */
  private plan(): void {
    const w = this.w;
    if (!this.pending) {
      this.stop = w;
      return;
    }
    const room = (this.limit - w) | 0;
    const toPublish = PUBLISH_MASK - (w & PUBLISH_MASK);
    this.stop = (w + (room <= 0 ? 0 : room < toPublish ? room : toPublish)) | 0;
  }

  /**
   * True when the ring is half full, judged from the READ seen last and looked at again
   * when that says so: only then does a publish within a turn wake a sleeping collector. A
   * burst recorded in one turn of the event loop rings once, at its end-of-turn flush, and
   * the collector takes it in one pass, instead of waking at its first 64 samples and again
   * for the rest (each wake-up costs the collector's thread tens of microseconds).
   */
  private filling(): boolean {
    if (((this.limit - this.w) | 0) > this.wakeRoom) return false;
    if (this.closed) return true;
    this.limit = (Atomics.load(this.hdr, READ) + this.capacity) | 0;
    return ((this.limit - this.w) | 0) <= this.wakeRoom;
  }

  /**
   * Makes every sample pushed (and every drop counted) so far visible to the consumer, and
   * wakes it if it sleeps (`wake` false leaves a sleeping consumer to find them at its next
   * wake-up; `urgent` false, the end-of-turn flush, leaves a dozing one to its doze).
   */
  publish(wake = true, urgent = true): number {
    const generation = Atomics.load(this.hdr, GENERATION);
    const closed = Atomics.load(this.hdr, CLOSED);
    let refused = 0;
    if (closed !== 0 || generation !== this.generation) {
      // Taken while the monitor was stopped, or maybe so: dropped and counted, not published.
      refused = (this.w - Atomics.load(this.hdr, WRITE)) | 0;
      this.w = (this.w - refused) | 0;
      this.dropped = (this.dropped + refused) | 0;
      this.generation = generation;
      // The next push plans again from here (a `stop` past `w` skipped the end-of-turn flush).
      this.stop = this.w;
    }
    // Release order: the slot stores above happen before this store, and the consumer
    // reads WRITE with Atomics.load before it reads the slots.
    Atomics.store(this.hdr, WRITE, this.w);
    // A flush point ends a drop streak: the next sample looks at READ again.
    this.streak = 0;
    if (this.dropped !== this.publishedDropped) this.publishDropped();
    if (wake) ringDoorbell(this.ctl, urgent);
    if (closed !== 0) this.setClosed(true);
    return refused;
  }

  /**
   * Waits until `n` slots are free, whatever the overflow policy: a bulk record is one call
   * whose samples must all go in. It waits while the consumer frees room, at most stallMs
   * without progress; false when it gave up (the samples then follow the overflow policy).
   */
  waitForRoom(n: number): boolean {
    if (n > this.capacity) throw new CapacityError('samples', `of one call must fit the ring: at most ${this.capacity}`, { value: n });
    for (;;) {
      const read = Atomics.load(this.hdr, READ);
      this.limit = this.closed ? this.w : (read + this.capacity) | 0;
      if (((read + this.capacity - this.w) | 0) >= n) return true;
      this.publish();
      if (!this.waitForProgress(read, false)) return false;
    }
  }

  /** Samples pushed but not yet published (0 right after publish()). */
  unpublished(): number {
    return (this.w - Atomics.load(this.hdr, WRITE)) | 0;
  }

  /** Samples in the ring that the consumer has not freed yet. */
  fill(): number {
    return (this.w - Atomics.load(this.hdr, READ)) | 0;
  }

  droppedCount(): number {
    return this.dropped >>> 0;
  }

  /** Counts `n` samples dropped without being pushed (a bulk chunk that found no room). */
  countDropped(n: number): void {
    this.dropped = (this.dropped + n) | 0;
    this.publishDropped();
  }

  setClosed(closed: boolean): void {
    this.closed = closed;
    this.limit = closed ? this.w : (Atomics.load(this.hdr, READ) + this.capacity) | 0;
    this.stop = this.w;
  }

  private schedule(): void {
    this.pending = true;
    if (isMainThread) setImmediate(this.flushCallback);
    else queueMicrotask(this.flushCallback);
  }

  /**
   * Slow path when the free space seen so far ran out: refresh it from READ; on a full
   * ring, wait (per the policy) or drop and count. Returns false when the sample must be
   * dropped. Inside a drop streak, only every STREAK_CHECK-th call looks at the ring.
   */
  private reserve(): boolean {
    if (this.streak !== 0 && (++this.streak & STREAK_MASK) !== 0) {
      this.dropped = (this.dropped + 1) | 0;
      return false;
    }
    // The shared flag decides, not the local copy: a stop() closed the ring, and a start()
    // since opened it again (closeRing), which this thread learns only here. Trusting the
    // copy, a worker that recorded while the monitor was stopped threw on every record after
    // the restart, for good (the main thread's writer is reopened by start() itself).
    const closed = Atomics.load(this.hdr, CLOSED);
    if (closed !== 0) {
      this.streak = 0;
      if (closed === CLOSED_AT_EXIT) this.dropped = (this.dropped + 1) | 0;
      this.publishDropped();
      this.setClosed(true);
      if (closed === CLOSED_AT_EXIT) return false;
      throw stoppedError(closed);
    }
    if (this.closed) this.setClosed(false);
    const read = Atomics.load(this.hdr, READ);
    this.limit = (read + this.capacity) | 0;
    if (((this.limit - this.w) | 0) > 0) {
      if (this.streak !== 0) {
        this.streak = 0;
        this.publishDropped();
      }
      return true;
    }
    if (this.streak === 0) {
      // Dropping a closed generation's samples may be what frees the room.
      if (this.publish() > 0 && ((this.limit - this.w) | 0) > 0) return true;
      if (this.overflow !== 'drop' && this.waitForProgress(read, this.overflow === 'wait')) return true;
      this.streak = 1;
      if (!this.pending) this.schedule();
    } else if (this.cede(read)) {
      this.streak = 0;
      this.publishDropped();
      return true;
    }
    this.dropped = (this.dropped + 1) | 0;
    this.publishDropped();
    return false;
  }

  /**
   * After a streak of drops on a ring still full: gives a live collector the CPU until it
   * frees room, at most CEDE_MS. True when room appeared (its end is in `limit`).
   */
  /** How far the monitor's clock runs ahead of the wall clock (ms; see monitor-clock.ts). */
  clockOffset(): number {
    return clockOffset(this.ctl);
  }

  private cede(read: number): boolean {
    // A ring whose collector already stalled on it is not being drained: nothing to give.
    if (this.stalledRead === read) return false;
    const f64 = this.ctl.f64;
    if (monitorNow(this.ctl) - Math.max(f64[CLOCK]!, f64[BEAT_BY]!) > ALIVE_MS) return false;
    Atomics.store(this.hdr, WAITING, 1);
    Atomics.wait(this.hdr, READ, read, CEDE_MS);
    Atomics.store(this.hdr, WAITING, 0);
    const r = Atomics.load(this.hdr, READ);
    if (r === read) return false;
    this.limit = (r + this.capacity) | 0;
    return true;
  }

  /**
   * Waits until the consumer moves READ past `read`: true when it did (the room it freed is
   * in `limit`), false when it freed nothing for stallMs (it is dead, hung or restarting) or,
   * with `budgeted`, when the thread's waiting budget ran out. After a stall, later waits on
   * the same READ give up at once: one stall per outage, not one per sample.
   *
   * Past stallMs the wait goes on, up to STARVED_MS more, while the collector's thread waits
   * for a CPU: runnable at each look, and not run since the one before (one that runs and
   * frees nothing is hung; one asleep or ended is not being held by the machine). Judged on
   * the time alone, a live collector that a loaded machine kept off the CPUs for 250 ms cost
   * a 'block' producer the samples it recorded next (83,736 of a piscina pool's 200,000 in CI).
   *
   * No wake-up can be missed: WAITING is stored before Atomics.wait re-reads READ, and the
   * consumer stores READ before it reads WAITING (release()). Both are sequentially
   * consistent, so either the consumer sees WAITING and notifies, or the wait sees the new
   * READ and returns 'not-equal' at once.
   */
  private waitForProgress(read: number, budgeted: boolean): boolean {
    if (this.stalledRead === read) return false;
    this.stalledRead = undefined;
    const start = monoNow();
    if (budgeted) {
      this.credit = Math.min(WAIT_BURST_MS, this.credit + (start - this.creditAt) * WAIT_SHARE);
      this.creditAt = start;
      if (this.credit <= 0) return false;
    }
    let t = start;
    /** The collector's thread at the last look past stallMs (see above). */
    let mark: string | undefined;
    Atomics.store(this.hdr, WAITING, 1);
    try {
      for (;;) {
        ringDoorbell(this.ctl);
        Atomics.wait(this.hdr, READ, read, Math.min(WAIT_SLICE_MS, this.stallMs));
        const now = monoNow();
        if (budgeted) {
          this.credit -= now - t;
          this.creditAt = now;
        }
        t = now;
        const closed = Atomics.load(this.hdr, CLOSED);
        if (closed !== 0) {
          this.setClosed(true);
          if (closed === CLOSED_AT_EXIT) return false;
          throw stoppedError(closed);
        }
        const r = Atomics.load(this.hdr, READ);
        if (r !== read) {
          this.limit = (r + this.capacity) | 0;
          return true;
        }
        if (now - start >= this.stallMs) {
          const seen = now - start < this.stallMs + STARVED_MS ? this.look(this.ctl.f64[TID]!) : undefined;
          if (seen === undefined || seen === '' || (mark !== undefined && seen !== mark)) {
            this.stalledRead = read;
            return false;
          }
          mark = seen;
        }
        if (budgeted && this.credit <= 0) return false;
      }
    } finally {
      Atomics.store(this.hdr, WAITING, 0);
    }
  }

  private publishDropped(): void {
    Atomics.store(this.hdr, DROPPED, this.dropped);
    this.publishedDropped = this.dropped;
  }
}

/** The consumer's end: the collector holds one per ring. */
export class RingReader {
  readonly sab: SharedArrayBuffer;
  readonly hdr: Int32Array;
  readonly ids: Int32Array;
  readonly values: Float64Array;
  readonly capacity: number;
  readonly mask: number;
  readonly id: number;
  /** Local read index: resumes from APPLIED, which survives a consumer crash. */
  r: number;
  /** The time of the last TIME_MARK read, NaN when samples take the drain time. */
  stamp = Number.NaN;
  /**
   * Series in the last chunk the store's writer took from this ring (store/samples.ts sizes
   * the next chunk by it); a large number until a first chunk, so that one is of full size.
   */
  spread = 1 << 30;
  /**
   * Where the store's writer counts the samples it applies from this ring: in the store that
   * moves APPLIED past them (store/samples.ts), so that a consumer killed anywhere has counted
   * exactly the chunks it applied. The engine points the application's rings at the control
   * block's INGESTED; by default a cell of the reader's own, which no one reads.
   */
  counted: Float64Array<ArrayBufferLike> = new Float64Array(1);
  private droppedSeen: number;

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.hdr = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.capacity = this.hdr[CAPACITY]!;
    if (this.capacity <= 0 || sab.byteLength !== bytesFor(this.capacity)) {
      throw new CapacityError('ring', `buffer of ${sab.byteLength} bytes does not hold a ring of ${this.capacity}`);
    }
    this.mask = this.capacity - 1;
    this.id = this.hdr[RING_ID]!;
    this.ids = new Int32Array(sab, HEADER_BYTES, this.capacity);
    this.values = new Float64Array(sab, HEADER_BYTES + 4 * this.capacity, this.capacity);
    // Samples between READ and APPLIED were applied by a consumer that died before it
    // published READ: skip them, they are in the store already.
    this.r = Atomics.load(this.hdr, APPLIED);
    Atomics.store(this.hdr, READ, this.r);
    this.droppedSeen = Atomics.load(this.hdr, DROPPED);
  }

  /** Published samples not yet consumed. */
  available(): number {
    return (Atomics.load(this.hdr, WRITE) - this.r) | 0;
  }

  /** Frees consumed slots for the producer, waking it if it waits on a full ring. */
  release(): void {
    Atomics.store(this.hdr, READ, this.r);
    if (Atomics.load(this.hdr, WAITING) !== 0) Atomics.notify(this.hdr, READ);
  }

  /** Drops counted by the producer since the last call. */
  takeDropped(): number {
    const now = Atomics.load(this.hdr, DROPPED);
    const delta = (now - this.droppedSeen) >>> 0;
    this.droppedSeen = now;
    return delta;
  }

  fill(): number {
    return (Atomics.load(this.hdr, WRITE) - Atomics.load(this.hdr, READ)) | 0;
  }
}
