/**
 * The watchdog thread (see src/actors/watchdog.ts): it owns the actor workers and replaces any that
 * dies or hangs, on a thread of its own that the host's threads cannot block.
 *
 * The actors beat in the monitor's clock (src/engine/monitor-clock.ts), which it reads through
 * the control block of the first actor it is given: every actor of a monitor has the same one.
 */
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { Watchdog } from '../src/actors/watchdog.js';
import type { WatchdogRequest } from '../src/actors/protocols.js';
import { controlViews, type ControlViews } from '../src/engine/control.js';
import { monitorNow } from '../src/engine/monitor-clock.js';
import { threadWaitMs } from '../src/engine/thread-cpu.js';

const port = parentPort!;
let ctl: ControlViews | undefined;
const watchdog = new Watchdog((event, transfer) => port.postMessage(event, transfer ?? []), threadWaitMs, {
  wall: () => (ctl ? monitorNow(ctl) : Date.now()),
  mono: () => performance.now(),
});
port.on('message', (req: WatchdogRequest) => {
  if (req.op === 'start') ctl ??= controlViews(req.beat.control);
  watchdog.handle(req);
});
