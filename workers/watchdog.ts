/**
 * The watchdog thread (see src/actors/watchdog.ts): it owns the actor workers and replaces any that
 * dies or hangs, on a thread of its own that the host's threads cannot block.
 */
import { parentPort } from 'node:worker_threads';
import { Watchdog } from '../src/actors/watchdog.js';
import type { WatchdogRequest } from '../src/actors/protocols.js';

const port = parentPort!;
const watchdog = new Watchdog((event, transfer) => port.postMessage(event, transfer ?? []));
port.on('message', (req: WatchdogRequest) => watchdog.handle(req));
