/** How a thread's error reads in an ActorError or an exit report. */

/** An error as `code: message`: Node's bare message for a thread not made ("EAGAIN") says little without its code. */
export function describeError(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.startsWith(code) ? `${code}: ${error.message}` : error.message;
}
