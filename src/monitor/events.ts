/**
 * The events a PerformanceMonitor emits (docs/reference.md, `on`). A listener added for any
 * other name is an error naming it and the event it most likely meant: added as it was, a
 * typo (`on('alerts', …)`, `on('actor_exit', …)`) was never called, and nothing said so.
 */
import { InvalidArgumentError } from '../errors.js';
import { didYouMean } from '../suggest.js';

export const MONITOR_EVENTS = ['start', 'stop', 'pause', 'resume', 'alert', 'alert-profile', 'profile', 'drops', 'actor-exit', 'actor-restart', 'storage-error', 'storage-recovered'] as const;

/**
 * Names EventEmitter itself gives meaning to: `newListener`, `removeListener`, and `error`,
 * which node:events' once() and on() listen to beside the event they wait for.
 */
const EMITTER_EVENTS = ['newListener', 'removeListener', 'error'];

/** The event name, when a listener may be added for it (symbols are never a typo of ours). */
export function checkEvent<E extends string | symbol>(event: E): E {
  if (typeof event === 'symbol' || MONITOR_EVENTS.includes(event as never) || EMITTER_EVENTS.includes(event as string)) return event;
  throw new InvalidArgumentError('event', `${JSON.stringify(String(event)).slice(0, 100)} is not an event of the monitor${didYouMean(String(event), MONITOR_EVENTS)} (the events: ${MONITOR_EVENTS.join(', ')})`);
}
