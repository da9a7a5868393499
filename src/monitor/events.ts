/**
 * The events a PerformanceMonitor emits (docs/reference.md, `on`). A listener added for any
 * other name is an error naming it and the event it most likely meant: added as it was, a
 * typo (`on('alerts', …)`, `on('actor_exit', …)`) was never called, and nothing said so.
 */
import type { ActorExit } from '../actors/supervisor.js';
import type { AlertTransition } from '../alerts/schema.js';
import { InvalidArgumentError } from '../errors.js';
import type { Capture } from '../profiling/schema.js';
import { didYouMean } from '../suggest.js';
import type { DropReport } from './drops.js';

export const MONITOR_EVENTS = ['start', 'stop', 'pause', 'resume', 'alert', 'alert-profile', 'profile', 'drops', 'actor-exit', 'actor-restart', 'storage-error', 'storage-recovered'] as const satisfies readonly (keyof MonitorEvents)[];

/**
 * What a listener of each event is called with: `on('alert', (t) => …)` has `t` typed as an
 * AlertTransition, where every listener's arguments were `any` (EventEmitter's), so that a
 * TypeScript service's typo in `t.too` or a wrong type compiled and failed at run time.
 */
export interface MonitorEvents {
  start: [];
  stop: [];
  pause: [];
  resume: [];
  alert: [transition: AlertTransition];
  'alert-profile': [transition: AlertTransition];
  profile: [capture: Capture];
  drops: [report: DropReport];
  'actor-exit': [exit: ActorExit];
  'actor-restart': [restart: { actor: string; restarts: number; downMs: number }];
  'storage-error': [error: { message: string }];
  'storage-recovered': [info: Record<string, never>];
}

/** EventEmitter's own events (see EMITTER_EVENTS), which a listener may be added for too. */
export type EmitterEvent = 'newListener' | 'removeListener' | 'error';

/**
 * Names EventEmitter itself gives meaning to: `newListener`, `removeListener`, and `error`,
 * which node:events' once() and on() listen to beside the event they wait for.
 */
const EMITTER_EVENTS: readonly EmitterEvent[] = ['newListener', 'removeListener', 'error'];

/** The event name, when a listener may be added for it (symbols are never a typo of ours). */
export function checkEvent<E extends string | symbol>(event: E): E {
  if (typeof event === 'symbol' || MONITOR_EVENTS.includes(event as never) || EMITTER_EVENTS.includes(event as EmitterEvent)) return event;
  throw new InvalidArgumentError('event', `${JSON.stringify(String(event)).slice(0, 100)} is not an event of the monitor${didYouMean(String(event), MONITOR_EVENTS)} (the events: ${MONITOR_EVENTS.join(', ')})`);
}
