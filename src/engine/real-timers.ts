/**
 * The timers and clocks of perfwatch's code on the host's threads, as Node made them, whatever
 * a test runner's fake timers do to the globals afterwards.
 *
 * Teams start the monitor from their app module, so their test suites run it under
 * `jest.useFakeTimers()`, `vi.useFakeTimers()`, node:test's `mock.timers` or sinon's. Those
 * replace `setTimeout`, `setInterval`, `Date`, `performance.now` and `process.hrtime` on the
 * global (sinon's also on the `timers` and `perf_hooks` modules), and the monitor read them:
 * the samples are stamped by the collector's clock, in a thread the fakes never reach, while
 * the host's reads took "now" from the fake `Date`, so a test that advanced fake time by two
 * minutes read an empty window of the samples it had just recorded; the hold that keeps the
 * host alive while `start()` waits was a fake interval, so under node:test's mock.timers the
 * process ended with `start()` unsettled; the monitor's tick and runtime sampler stopped; a
 * full ring's wait counted its limit in a `performance.now()` that never advanced.
 *
 * So the host's side takes them here, once, when this module loads, before a test's fakes:
 * the timers from `node:timers` (a vm context's fakes, Jest's, never touch that module), the
 * clocks from `node:perf_hooks` and `process`; and `Date.now` from a fresh realm when the
 * global one is already a fake at load (Jest's `fakeTimers.enableGlobally`). Fakes installed
 * before perfwatch loads on node:test's own global are out of reach. The monitor's time is
 * real time: to test code that reads time, fake it for that code, not for perfwatch.
 */
import { performance } from 'node:perf_hooks';
import * as timers from 'node:timers';
import { runInNewContext } from 'node:vm';

const NATIVE = /\{\s*\[native code\]\s*\}\s*$/;

function isNative(fn: unknown): boolean {
  return typeof fn === 'function' && NATIVE.test(Function.prototype.toString.call(fn));
}

const dateNow: () => number = isNative(Date.now) ? Date.now : (runInNewContext('Date.now') as () => number);
const perfNow: () => number = isNative(performance.now) ? performance.now.bind(performance) : Object.getPrototypeOf(performance).now.bind(performance);
const hrtime = process.hrtime;

/** `Date.now()`, the wall clock. */
export const wallNow = (): number => dateNow();
/** `performance.now()` of this thread. */
export const monoNow = (): number => perfNow();
/** `process.hrtime()`: the monotonic clock that every thread of the process shares. */
export const processHrtime = (): [number, number] => hrtime();

export const setTimeout: typeof timers.setTimeout = timers.setTimeout;
export const clearTimeout: typeof timers.clearTimeout = timers.clearTimeout;
export const setInterval: typeof timers.setInterval = timers.setInterval;
export const clearInterval: typeof timers.clearInterval = timers.clearInterval;
export const setImmediate: typeof timers.setImmediate = timers.setImmediate;
export const clearImmediate: typeof timers.clearImmediate = timers.clearImmediate;

/**
 * Whether `process.nextTick` is a test's fake clock's now (@sinonjs/fake-timers marks each of
 * its fakes with its `clock`): sinon's `useFakeTimers()` fakes it by default, as a `toFake`
 * naming `'nextTick'` does. Node's own sockets wait on it (a server's listen() calls back
 * through it), so a front started under it never listens until the fake clock is run; no
 * timer of ours can stand in for Node's.
 */
export function nextTickFaked(): boolean {
  return (process.nextTick as { clock?: unknown }).clock !== undefined;
}
