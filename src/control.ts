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
 */

export const CONTROL_BYTES = 256;

// Int32 cell indices.
export const SLEEPING = 0;
export const DOORBELL = 1;
export const DRAIN_EPOCH = 16;
export const BUCKET_EPOCH = 17;

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
