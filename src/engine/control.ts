/**
 * The control block: a small SharedArrayBuffer shared by the coordinator, every producer
 * thread and the actors. It carries the collector's doorbell (so producers can wake a
 * sleeping collector without a message), the drain epoch (so readers can wait for new data),
 * the shared clock and the collector's counters, which status() reads without a round trip.
 *
 * Layout (64-byte lines so that cells written by different threads never share a line):
 *
 * | line | bytes   | cell                  | type  | writer     | meaning                               |
 * |------|---------|-----------------------|-------|------------|---------------------------------------|
 * | 0    | 0       | SLEEPING              | i32   | collector  | 1 while the collector waits for data  |
 * | 0    | 4       | DOORBELL              | i32   | producers  | bumped + notified to wake it          |
 * | 1    | 64      | DRAIN_EPOCH           | i32   | collector  | bumped + notified after each drain    |
 * | 1    | 68      | BUCKET_EPOCH          | i32   | collector  | bumped + notified after bucket close  |
 * | 2    | 128     | CLOCK                 | f64   | collector  | wall clock (ms) of the last drain     |
 * | 2    | 136     | INGESTED              | f64   | collector  | samples applied to the store          |
 * | 2    | 144     | DRAIN_PASSES          | f64   | collector  | drain passes that moved data          |
 * | 2    | 152     | BAD_SAMPLES           | f64   | collector  | samples with an unknown series id     |
 * | 2    | 160     | SKETCH_OVERFLOW       | f64   | collector  | samples with no sketch page to go to  |
 * | 2    | 168     | PENDING_SINCE         | f64   | collector  | since when the oldest sample waits; 0 |
 * | 2    | 184     | RUNG_AT               | f64   | producers  | wall clock (ms) of the last wake-up   |
 * | 2    | 176     | CLOSED_BUCKET_START   | f64   | collector  | start (ms) of the newest closed bucket|
 * | 3    | 192     | STARTED_AT            | f64   | collector  | when the running collector started    |
 * | 3    | 200     | ALERT_CLOCK           | f64   | alert actor| wall clock (ms) of its last round     |
 * | 3    | 208     | QUIET_AT              | f64   | main thread| when it last published without waking|
 * | 3    | 216     | BEAT_BY               | f64   | collector  | its next beat is due by then (ms)     |
 * | 3    | 224     | ALERT_BEAT_BY         | f64   | alert actor| the same for the alert actor          |
 * | 4    | 256     | OWN_FAULTS            | f64   | collector  | own readings it could not record      |
 * | 4    | 264     | UNJUDGED              | f64   | alert actor| raw samples past the raw ring before a `last` rule saw them |
 * | 4    | 272     | HANG_AT               | f64   | collector  | when an injected hang began (drills)  |
 * | 4    | 288     | PAUSED                | i32   | main thread| 1 while its own sampling is paused   |
 *
 * Heartbeats: an actor stores its clock (CLOCK, ALERT_CLOCK) at every round and, before it
 * waits, the time by which it will beat again (BEAT_BY, ALERT_BEAT_BY). The watchdog thread
 * declares it hung a grace period past that promise, whatever the other threads are doing.
 */

export const CONTROL_BYTES = 320;

// Int32 cell indices.
export const SLEEPING = 0;
export const DOORBELL = 1;
export const DRAIN_EPOCH = 16;
export const BUCKET_EPOCH = 17;
export const PAUSED = 72;

// Float64 cell indices.
export const CLOCK = 16;
export const INGESTED = 17;
export const DRAIN_PASSES = 18;
export const BAD_SAMPLES = 19;
export const SKETCH_OVERFLOW = 20;
export const PENDING_SINCE = 21;
export const CLOSED_BUCKET_START = 22;
export const RUNG_AT = 23;
export const STARTED_AT = 24;
export const ALERT_CLOCK = 25;
export const QUIET_AT = 26;
export const BEAT_BY = 27;
export const ALERT_BEAT_BY = 28;
export const OWN_FAULTS = 32;
export const UNJUDGED = 33;
export const HANG_AT = 34;

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

/**
 * Wakes the collector if it sleeps. Called by a producer right after it published its write
 * index: the collector sets SLEEPING before its last look at the rings and reads DOORBELL
 * before that look, so a publish it missed either bumps DOORBELL first (its wait returns at
 * once) or is seen by that last look. The time of the ring lets the collector measure how
 * long data waited for it.
 */
export function ringDoorbell(ctl: ControlViews): void {
  if (Atomics.load(ctl.i32, SLEEPING) !== 0) {
    Atomics.store(ctl.i32, SLEEPING, 0);
    ctl.f64[RUNG_AT] = Date.now();
    Atomics.add(ctl.i32, DOORBELL, 1);
    Atomics.notify(ctl.i32, DOORBELL, 1);
  }
}
