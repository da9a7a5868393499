/**
 * A running monitor does not keep its host alive: its threads, ports and timers are unref'd.
 * When the host's event loop empties with monitors still running (a service that closed its
 * server on SIGTERM and let Node end, a script that never called stop()), they are stopped
 * then, on 'beforeExit', so that what they hold reaches the disk (the rollups since the last
 * flush, the dataDir's lock) before the process ends; their stop() is the last work it does.
 * process.exit() skips 'beforeExit', and with it this, as it skips every other pending write.
 * One listener on `process` for every running monitor of the process.
 *
 * The stop given is the monitor's stop at exit: while it waits, the host's unref'd timers
 * and its threads still run, and what they record then is dropped, not thrown at (a host
 * that never called stop() has no MonitorStoppedError to expect; thrown, it ended the
 * process with code 1 and the stop's flush undone).
 */
import { holding } from '../actors/hold.js';

const running = new Map<object, () => Promise<void>>();

function onBeforeExit(): void {
  // Each is stopped once: one whose stop() fails does not bring 'beforeExit' back for ever.
  const stops = [...running.values()];
  running.clear();
  process.off('beforeExit', onBeforeExit);
  // stop() waits on our unref'd threads and ports: the host is held until it is done.
  void holding(Promise.allSettled(stops.map((stop) => stop())));
}

/** From a monitor's start() on: `stop` is called when the host's event loop empties. */
export function stopAtHostExit(monitor: object, stop: () => Promise<void>): void {
  if (running.size === 0) process.on('beforeExit', onBeforeExit);
  running.set(monitor, stop);
}

/** From its stop() on. */
export function releaseAtHostExit(monitor: object): void {
  if (!running.delete(monitor) || running.size > 0) return;
  process.off('beforeExit', onBeforeExit);
}
