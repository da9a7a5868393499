/**
 * The watchdog thread (see src/watchdog.ts): it owns the actor workers and replaces any that
 * dies or hangs, on a thread of its own that the host's threads cannot block.
 */
import { parentPort } from 'node:worker_threads';
import { Watchdog, type WatchdogRequest } from '../src/watchdog.js';

const port = parentPort!;
const watchdog = new Watchdog((event, transfer) => port.postMessage(event, transfer ?? []));
port.on('message', (req: WatchdogRequest) => watchdog.handle(req));
