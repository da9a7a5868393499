/**
 * Our threads, ports and timers do not keep the host alive: an idle monitor must not stop a
 * host from ending. A call that waits on them does, while it waits: a host that awaits
 * createAlertRule() or stop() and nothing else would otherwise end with it unsettled (or,
 * with the monitor running, stop it at 'beforeExit': src/monitor/host-exit.ts). One port
 * holds the event loop while any such call is pending.
 *
 * A port, not a timer: a test runner's fake timers (node:test's mock.timers, sinon's) replace
 * `setInterval` on the global and on `node:timers`, before perfwatch loads too, and a fake
 * interval holds nothing: the test's process ended with `start()` unsettled ("Promise resolution
 * is still pending but the event loop has already resolved"). No fake reaches a MessagePort.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';

let pending = 0;
let port: MessagePort | undefined;
/** The channel's other end, kept: a port whose peer was collected is closed with it, and would hold nothing. */
let peer: MessagePort | undefined;

const ignore = (): void => {};

/** Holds the host's event loop until the returned release is called (once). */
export function holdHost(): () => void {
  if (pending++ === 0) {
    ({ port1: port, port2: peer } = new MessageChannel());
    // A port with a listener is active, and an active port keeps the loop alive.
    port.on('message', ignore);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--pending === 0) {
      port?.close();
      peer?.close();
      port = peer = undefined;
    }
  };
}

/** `work`, with the host's event loop held until it settles. */
export async function holding<T>(work: Promise<T>): Promise<T> {
  const release = holdHost();
  try {
    return await work;
  } finally {
    release();
  }
}
