/**
 * A timeout for an answer that the host's main thread waits on (an alert notification's
 * post), counted in the time its event loop was free to read the answer.
 *
 * A plain timer cannot tell a receiver that did not answer from a host that could not look:
 * when the service's own code holds the loop past the deadline (a JSON.parse of a large body
 * in a request handler, a pbkdf2Sync), the answer that came meanwhile waits in the socket,
 * and the loop's next turn runs the timers before it polls the sockets. The post was cut as
 * unanswered, counted failed and sent again: a receiver that had answered 200 in 5 ms got
 * the firing twice after a 7 s block (a second page from the on-call's pager).
 *
 * So the time is counted in steps of at most STEP_MS, each counting no more than it was
 * armed for: a step that comes late because the loop was held counts its own length, not
 * the hold, and the post gets the rest of its time once the loop is free. And the end is
 * called from a setImmediate, which runs after the loop's next poll: an answer that came
 * while the last step was held is read first, and the caller clears this before it runs.
 * A host that holds its loop in every step still ends a post within `ms` / STEP_MS held
 * steps, so nothing waits for good.
 */
import { clearImmediate, clearTimeout, monoNow, setImmediate, setTimeout } from './engine/real-timers.js';

/** The longest stretch counted at once: a post in flight costs four timer callbacks a second of it. */
const STEP_MS = 250;

export interface LoopTimeout {
  /** The answer came (or the wait was given up): `fire` will not be called. */
  clear(): void;
}

/** Calls `fire` once `ms` of the loop's free time have passed, unless clear() came first. */
export function loopTimeout(ms: number, fire: () => void): LoopTimeout {
  let counted = 0;
  let planned = 0;
  let from = 0;
  let timer: NodeJS.Timeout | undefined;
  let end: NodeJS.Immediate | undefined;
  const arm = (): void => {
    planned = Math.min(STEP_MS, ms - counted);
    from = monoNow();
    timer = setTimeout(step, planned);
    timer.unref();
  };
  const step = (): void => {
    counted += Math.min(monoNow() - from, planned);
    if (counted < ms) return arm();
    timer = undefined;
    end = setImmediate(fire);
    end.unref();
  };
  arm();
  return {
    clear: () => {
      clearTimeout(timer);
      if (end !== undefined) clearImmediate(end);
    },
  };
}
