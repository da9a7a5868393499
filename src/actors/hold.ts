/**
 * Our threads, ports and timers do not keep the host alive: an idle monitor must not stop a
 * host from ending. A call that waits on them does, while it waits: a host that awaits
 * createAlertRule() or stop() and nothing else would otherwise end with it unsettled (or,
 * with the monitor running, stop it at 'beforeExit': src/monitor/host-exit.ts). One timer
 * holds the event loop while any such call is pending.
 */
let pending = 0;
let timer: ReturnType<typeof setInterval> | undefined;

/** `work`, with the host's event loop held until it settles. */
export async function holding<T>(work: Promise<T>): Promise<T> {
  if (pending++ === 0) timer = setInterval(() => {}, 2 ** 30);
  try {
    return await work;
  } finally {
    if (--pending === 0) clearInterval(timer);
  }
}
