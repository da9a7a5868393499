/** How a thread's error reads in an ActorError or an exit report. */

/** An error as `code: message`: Node's bare message for a thread not made ("EAGAIN") says little without its code. */
export function describeError(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.startsWith(code) ? `${code}: ${error.message}` : error.message;
}

/**
 * Why no thread can ever be made in this process, when `error` (thrown by new Worker()) says
 * so; undefined for a refusal that may pass (EAGAIN at the limit on threads, no room in the
 * address space). Under Node's permission model without --allow-worker, new Worker() throws
 * ERR_ACCESS_DENIED, and the permissions hold for the life of the process: tried 3 times, the
 * refusal failed start() with Node's "Access to this API has been restricted" after three
 * fault warnings, and never named the flag that lifts it.
 */
export function threadsRefused(error: Error): string | undefined {
  if ((error as { code?: unknown }).code !== 'ERR_ACCESS_DENIED') return undefined;
  return `no thread can be made in this process (${describeError(error)}): it runs under Node's permission model without --allow-worker, and perfwatch does its work on threads of its own; run node with --allow-worker`;
}
