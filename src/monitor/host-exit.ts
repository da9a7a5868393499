/**
 * A running monitor does not keep its host alive: its threads, ports and timers are unref'd.
 * When the host's event loop empties with monitors still running (a service that closed its
 * server on SIGTERM and let Node end, a script that never called stop()), they are stopped
 * then, on 'beforeExit', so that what they hold reaches the disk (the rollups since the last
 * flush, the dataDir's lock) before the process ends; their stop() is the last work it does.
 * process.exit() skips 'beforeExit', and with it this, as it skips every other pending write.
 * One listener on `process` for every running monitor of the process.
 */
import { holding } from '../actors/hold.js';

interface Stoppable {
  stop(): Promise<void>;
}

const running = new Set<Stoppable>();

function onBeforeExit(): void {
  // Each is stopped once: one whose stop() fails does not bring 'beforeExit' back for ever.
  const monitors = [...running];
  running.clear();
  process.off('beforeExit', onBeforeExit);
  // stop() waits on our unref'd threads and ports: the host is held until it is done.
  void holding(Promise.allSettled(monitors.map((monitor) => monitor.stop())));
}

/** From a monitor's start() on: stopped when the host's event loop empties. */
export function stopAtHostExit(monitor: Stoppable): void {
  if (running.size === 0) process.on('beforeExit', onBeforeExit);
  running.add(monitor);
}

/** From its stop() on. */
export function releaseAtHostExit(monitor: Stoppable): void {
  if (!running.delete(monitor) || running.size > 0) return;
  process.off('beforeExit', onBeforeExit);
}
