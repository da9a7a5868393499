/**
 * The control block: a small SharedArrayBuffer shared by the coordinator, every producer
 * thread and the actors. It carries the collector's doorbell (so producers can wake a
 * sleeping collector without a message), the drain epoch (so readers can wait for new data),
 * the shared clock and the collector's counters, which status() reads without a round trip.
 *
 * Its layout is CONTROL_LAYOUT below: 64-byte lines, each written by one thread, so that a
 * thread's writes never invalidate a line another thread writes; the doorbell line is the one
 * place where producers and the collector meet, and it is written only while the collector
 * sleeps (or on a control call).
 *
 * Heartbeats: an actor stores the monitor's clock (monitor-clock.ts) in its cell (CLOCK, ALERT_CLOCK, STORAGE_CLOCK, EXPORT_CLOCK) at every round and, before it
 * waits, the time by which it will beat again (BEAT_BY, ALERT_BEAT_BY). The watchdog thread
 * declares it hung a grace period past that promise, whatever the other threads are doing,
 * less the time the actor's thread (TID, ALERT_TID, ...) spent waiting for a CPU meanwhile.
 */
import { defineLayout } from './layout.js';
import { wallNow } from './real-timers.js';

export const CONTROL_LAYOUT = defineLayout({
  name: 'control block',
  bytes: 704,
  oneWriterPerLine: true,
  sharedLines: [{ line: 0, why: 'the doorbell: a producer that finds the collector asleep clears SLEEPING, stamps RUNG_AT and bumps DOORBELL; the main thread raises MAIL and bumps DOORBELL after posting a control call; the collector raises SLEEPING before it waits and clears MAIL before it turns its event loop' },
    { line: 8, why: "the storage actor's native gate (actors/native-gate.ts): the actor enters and leaves it around each call into SQLite; the watchdog opens it for a new instance and shuts it before it terminates one; the main thread shuts it before it ends the watchdog, and seals it at its process 'exit'; beside it, the close cell, where the watchdog or the main thread asks the actor to close its connection before they end it, and the actor answers" },
  ],
  cells: {
    SLEEPING: { offset: 0, type: 'i32', writer: ['collector', 'producer'], meaning: '1 while the collector waits for data, 2 while it dozes after a burst' },
    DOORBELL: { offset: 4, type: 'i32', writer: ['producer', 'collector'], meaning: 'bumped and notified to wake the collector' },
    RUNG_AT: { offset: 8, type: 'f64', writer: 'producer', meaning: "the monitor's clock (ms) at the last wake-up" },
    MAIL: { offset: 16, type: 'i32', writer: ['main thread', 'collector'], meaning: '1 when a control call was posted to the collector since it last turned its event loop' },
    DRAIN_EPOCH: { offset: 64, type: 'i32', writer: 'collector', meaning: 'bumped after each drain that moved data (notified while DRAIN_LISTENING), each closed bucket (notified) and each hub batch applied (notified while MEMBER_LISTENING)' },
    BUCKET_EPOCH: { offset: 68, type: 'i32', writer: 'collector', meaning: 'bumped after each closed bucket' },
    CLOCK_OFFSET: { offset: 72, type: 'f64', writer: 'collector', meaning: "ms the monitor's clock runs ahead of the wall clock, which stepped back (monitor-clock.ts)" },
    CLOCK_STEPS: { offset: 80, type: 'f64', writer: 'collector', meaning: 'steps back of the wall clock found' },
    CLOCK_STEPPED_AT: { offset: 88, type: 'f64', writer: 'collector', meaning: "the monitor's clock when it last found one (0: never)" },
    CLOCK_READ: { offset: 96, type: 'f64', writer: 'collector', meaning: "the monitor's clock at its SteadyClock's last reading (0: none yet)" },
    CLOCK_READ_MONO: { offset: 104, type: 'f64', writer: 'collector', meaning: "the process's monotonic clock (ms, process.hrtime) at that reading; readers in other threads go on from the pair until the collector reads a step" },
    CLOCK_READ_SEQ: { offset: 112, type: 'i32', writer: 'collector', meaning: 'bumped (atomically) before and after the pair is written: odd while it is' },
    APPLIED_EPOCH: { offset: 116, type: 'i32', writer: 'collector', meaning: "bumped after each hub batch applied (its members' closed buckets; DRAIN_EPOCH is bumped and notified with it while MEMBER_LISTENING)" },
    STORE_PAGES: { offset: 120, type: 'f64', writer: 'collector', meaning: "the series slots' pages written so far (store/touched-pages.ts), set before each epoch bump: status()'s memory touched reads it, no series" },
    CLOCK: { offset: 128, type: 'f64', writer: 'collector', meaning: "the monitor's clock (ms) at the collector's last round (its heartbeat)" },
    INGESTED: { offset: 136, type: 'f64', writer: 'collector', meaning: 'samples applied to the store' },
    DRAIN_PASSES: { offset: 144, type: 'f64', writer: 'collector', meaning: 'drain passes that moved data' },
    BAD_SAMPLES: { offset: 152, type: 'f64', writer: 'collector', meaning: 'samples with an unknown series id' },
    SKETCH_OVERFLOW: { offset: 160, type: 'f64', writer: 'collector', meaning: 'samples with no sketch page to go to' },
    PENDING_SINCE: { offset: 168, type: 'f64', writer: 'collector', meaning: 'since when the oldest sample waits; 0 when none' },
    CLOSED_BUCKET_START: { offset: 176, type: 'f64', writer: 'collector', meaning: 'start (ms) of the newest closed bucket' },
    STARTED_AT: { offset: 184, type: 'f64', writer: 'collector', meaning: 'when the running collector started' },
    BEAT_BY: { offset: 192, type: 'f64', writer: 'collector', meaning: 'its next beat is due by then (ms)' },
    OWN_FAULTS: { offset: 200, type: 'f64', writer: 'collector', meaning: 'own readings it could not record' },
    HANG_AT: { offset: 208, type: 'f64', writer: 'collector', meaning: 'when an injected hang began (drills)' },
    TID: { offset: 216, type: 'f64', writer: 'collector', meaning: "its Linux thread id (0: unknown), for the watchdog's reading of its wait for a CPU" },
    SKETCHES_LOST: { offset: 224, type: 'f64', writer: 'collector', meaning: 'closed buckets whose sketch the log overwrote before their rollup read it' },
    SKETCH_LOG_REACH: { offset: 232, type: 'f64', writer: 'collector', meaning: "seconds of closed buckets' sketches the log holds at the last interval's rate (0: none written yet)" },
    MINUTE_SKETCH_BYTES: { offset: 240, type: 'f64', writer: 'collector', meaning: "bytes of its minute sketches (store/minutes.ts) at the last bucket boundary" },
    INGESTED_AT_READING: { offset: 248, type: 'f64', writer: 'collector', meaning: 'INGESTED at its last monitor_ingested reading, which counts from there' },
    ALERT_CLOCK: { offset: 256, type: 'f64', writer: 'alert actor', meaning: "the monitor's clock (ms) at its last beat (each round, and each series a round binds to a rule)" },
    ALERT_BEAT_BY: { offset: 264, type: 'f64', writer: 'alert actor', meaning: 'its next beat is due by then (ms)' },
    UNJUDGED: { offset: 272, type: 'f64', writer: 'alert actor', meaning: 'raw samples past the raw ring before a `last` rule saw them' },
    DRAIN_LISTENING: { offset: 280, type: 'i32', writer: 'alert actor', meaning: '1 while it has `last` rules: only then is each drain notified' },
    MEMBER_LISTENING: { offset: 284, type: 'i32', writer: 'alert actor', meaning: "1 while it has window rules: only then is each hub batch applied notified (DRAIN_EPOCH), for its members' windows" },
    ALERT_TID: { offset: 288, type: 'f64', writer: 'alert actor', meaning: 'its Linux thread id (0: unknown)' },
    PARTIAL_WINDOWS: { offset: 296, type: 'f64', writer: 'alert actor', meaning: "window rules' quantiles judged on part of their window (older sketches gone from the sketch log)" },
    QUIET_AT: { offset: 320, type: 'f64', writer: 'main thread', meaning: 'when it last published without waking the collector' },
    PAUSED: { offset: 328, type: 'i32', writer: 'main thread', meaning: '1 while its own sampling is paused' },
    HUB_READ_TO: { offset: 336, type: 'f64', writer: 'main thread', meaning: "a hub's: the monitor's clock (ms) up to which it has read its members' links and applied what they held (0: not yet); a silent member's windows move on no further (alerts/member-window.ts), nor its minutes roll up (store/rollups.ts)" },
    STORAGE_CLOCK: { offset: 384, type: 'f64', writer: 'storage actor', meaning: "the monitor's clock (ms) at its last round" },
    STORAGE_BEAT_BY: { offset: 392, type: 'f64', writer: 'storage actor', meaning: 'its next beat is due by then (ms)' },
    STORAGE_TID: { offset: 400, type: 'f64', writer: 'storage actor', meaning: 'its Linux thread id (0: unknown)' },
    EXPORT_CLOCK: { offset: 448, type: 'f64', writer: 'exporter actor', meaning: "the monitor's clock (ms) at its last round" },
    EXPORT_BEAT_BY: { offset: 456, type: 'f64', writer: 'exporter actor', meaning: 'its next beat is due by then (ms)' },
    EXPORT_TID: { offset: 464, type: 'f64', writer: 'exporter actor', meaning: 'its Linux thread id (0: unknown)' },
    STORAGE_GATE: { offset: 512, type: 'i32', writer: ['storage actor', 'watchdog', 'main thread'], meaning: 'the gate around its calls into SQLite: generation × 4 + FREE, BUSY, WANTED or SHUT; -1 sealed (actors/native-gate.ts)' },
    THREAD_REFUSED: { offset: 576, type: 'i32', writer: 'producer', meaning: "new series refused (at maxSeries, or by a full string arena or name table) in producer() threads (Atomics.add; wraps): the main thread's status, faults and reports count them (monitor/series-refusals.ts)" },
    THREAD_ARENA_REFUSED: { offset: 580, type: 'i32', writer: 'producer', meaning: "those of THREAD_REFUSED refused by the registry's full string arena, below maxSeries (Atomics.add; wraps)" },
    THREAD_NAMES_REFUSED: { offset: 584, type: 'i32', writer: 'producer', meaning: "those of THREAD_REFUSED refused for a new metric name by the registry's full name table (Atomics.add; wraps)" },
    FROZEN_SEQ: { offset: 640, type: 'i32', writer: 'collector', meaning: 'bumped (atomically) before and after FROZEN_FROM and FROZEN_TO are written: odd while they are (engine/freeze-watch.ts)' },
    FROZEN_FROM: { offset: 648, type: 'f64', writer: 'collector', meaning: "the monitor's clock (ms) where the last stop of the whole process it found began (SIGSTOP, a frozen VM or container; 0: none)" },
    FROZEN_TO: { offset: 656, type: 'f64', writer: 'collector', meaning: 'where that stop ended: nobody watched in between (analysis/watched.ts, afterFreeze)' },
    FROZEN_SINCE: { offset: 664, type: 'f64', writer: 'collector', meaning: "its last round before that stop: the stop began between there and FROZEN_FROM, in a sleep it asked for (the event-loop lag leaves out the whole span: monitor/runtime.ts)" },
    STORAGE_CLOSE: { offset: 516, type: 'i32', writer: ['watchdog', 'main thread', 'storage actor'], meaning: "the gate's next cell: generation × 4 + REQUESTED (its ender asks that instance to close its connection before it is ended) or CLOSED (it has) (actors/close-first.ts)" },
  },
});

export const CONTROL_BYTES = CONTROL_LAYOUT.bytes;

const at = CONTROL_LAYOUT.index;
// Int32 cell indices.
export const SLEEPING = at.SLEEPING;
export const DOORBELL = at.DOORBELL;
export const DRAIN_EPOCH = at.DRAIN_EPOCH;
export const BUCKET_EPOCH = at.BUCKET_EPOCH;
export const APPLIED_EPOCH = at.APPLIED_EPOCH;
export const PAUSED = at.PAUSED;
export const STORAGE_GATE = at.STORAGE_GATE;
export const DRAIN_LISTENING = at.DRAIN_LISTENING;
export const MEMBER_LISTENING = at.MEMBER_LISTENING;
export const CLOCK_READ_SEQ = at.CLOCK_READ_SEQ;
export const THREAD_REFUSED = at.THREAD_REFUSED;
export const THREAD_ARENA_REFUSED = at.THREAD_ARENA_REFUSED;
export const THREAD_NAMES_REFUSED = at.THREAD_NAMES_REFUSED;
// Float64 cell indices.
export const RUNG_AT = at.RUNG_AT;
export const MAIL = at.MAIL;
export const CLOCK = at.CLOCK;
export const CLOCK_OFFSET = at.CLOCK_OFFSET;
export const CLOCK_STEPS = at.CLOCK_STEPS;
export const CLOCK_STEPPED_AT = at.CLOCK_STEPPED_AT;
export const CLOCK_READ = at.CLOCK_READ;
export const CLOCK_READ_MONO = at.CLOCK_READ_MONO;
export const INGESTED = at.INGESTED;
export const INGESTED_AT_READING = at.INGESTED_AT_READING;
export const DRAIN_PASSES = at.DRAIN_PASSES;
export const BAD_SAMPLES = at.BAD_SAMPLES;
export const SKETCH_OVERFLOW = at.SKETCH_OVERFLOW;
export const SKETCHES_LOST = at.SKETCHES_LOST;
export const SKETCH_LOG_REACH = at.SKETCH_LOG_REACH;
export const MINUTE_SKETCH_BYTES = at.MINUTE_SKETCH_BYTES;
export const STORE_PAGES = at.STORE_PAGES;
export const PENDING_SINCE = at.PENDING_SINCE;
export const CLOSED_BUCKET_START = at.CLOSED_BUCKET_START;
export const STARTED_AT = at.STARTED_AT;
export const BEAT_BY = at.BEAT_BY;
export const OWN_FAULTS = at.OWN_FAULTS;
export const HANG_AT = at.HANG_AT;
export const TID = at.TID;
export const ALERT_TID = at.ALERT_TID;
export const STORAGE_TID = at.STORAGE_TID;
export const EXPORT_TID = at.EXPORT_TID;
export const ALERT_CLOCK = at.ALERT_CLOCK;
export const ALERT_BEAT_BY = at.ALERT_BEAT_BY;
export const UNJUDGED = at.UNJUDGED;
export const PARTIAL_WINDOWS = at.PARTIAL_WINDOWS;
export const QUIET_AT = at.QUIET_AT;
export const HUB_READ_TO = at.HUB_READ_TO;
export const STORAGE_CLOCK = at.STORAGE_CLOCK;
export const STORAGE_BEAT_BY = at.STORAGE_BEAT_BY;
export const EXPORT_CLOCK = at.EXPORT_CLOCK;
export const EXPORT_BEAT_BY = at.EXPORT_BEAT_BY;
export const FROZEN_SEQ = at.FROZEN_SEQ;
export const FROZEN_FROM = at.FROZEN_FROM;
export const FROZEN_TO = at.FROZEN_TO;
export const FROZEN_SINCE = at.FROZEN_SINCE;

export interface ControlViews {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
}

export function createControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES);
}

export function controlViews(sab: SharedArrayBuffer): ControlViews {
  return { i32: new Int32Array(sab), f64: new Float64Array(sab) };
}

/** SLEEPING while the collector waits for any publish (the rings were empty). */
export const ASLEEP = 1;
/**
 * SLEEPING while it waits a few ms after draining a burst, to take the next ones together:
 * only an urgent publish (a ring half full, a producer about to wait) ends it early.
 */
export const DOZING = 2;

/**
 * Tells the collector a control call was posted to it: it waits with a blocking wait and
 * reads its port only when it turns its event loop, which MAIL makes it do at once. MAIL is
 * raised before DOORBELL moves, so a collector that read DOORBELL before this either sees
 * MAIL before it waits or has its wait end.
 */
export function ringMail(ctl: ControlViews): void {
  Atomics.store(ctl.i32, MAIL, 1);
  Atomics.add(ctl.i32, DOORBELL, 1);
  Atomics.notify(ctl.i32, DOORBELL);
}

/**
 * A hub's main thread has read its members' links through `at` and applied what they held
 * (Hub's turn). The alert actor moves a silent member's windows on at whole intervals, so it is
 * woken when `at` passes a boundary: with a notify alone, DRAIN_EPOCH being the collector's to
 * write (a missed one costs an interval: the next close moves them).
 */
export function markHubRead(ctl: ControlViews, at: number, intervalMs: number): void {
  const before = ctl.f64[HUB_READ_TO]!;
  if (!(at > before)) return;
  ctl.f64[HUB_READ_TO] = at;
  if (Math.floor(at / intervalMs) > Math.floor(before / intervalMs)) Atomics.notify(ctl.i32, DRAIN_EPOCH);
}

/**
 * Wakes the collector if it sleeps (if it dozes, only when `urgent`). Called by a producer right after it published its write
 * index: the collector sets SLEEPING before its last look at the rings and reads DOORBELL
 * before that look, so a publish it missed either bumps DOORBELL first (its wait returns at
 * once) or is seen by that last look. The time of the ring lets the collector measure how
 * long data waited for it.
 */
export function ringDoorbell(ctl: ControlViews, urgent = true): void {
  const sleeping = Atomics.load(ctl.i32, SLEEPING);
  if (sleeping === ASLEEP || (sleeping === DOZING && urgent)) {
    Atomics.store(ctl.i32, SLEEPING, 0);
    ctl.f64[RUNG_AT] = wallNow() + ctl.f64[CLOCK_OFFSET]!;
    Atomics.add(ctl.i32, DOORBELL, 1);
    Atomics.notify(ctl.i32, DOORBELL, 1);
  }
}
