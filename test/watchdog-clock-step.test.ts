// A step of the wall clock is not a hang: the actors beat in wall-clock ms, and the watchdog
// tells a step from the passing of time by its monotonic clock. Here the test steps a wall
// clock that the watchdog and its actors share (Date.now() plus a cell), 10 minutes each way,
// as NTP or `date -s` steps the system's (reproduced with libfaketime on a monitor: a step
// forward replaced the collector as silent for 600 s when the watchdog looked before it beat
// again; a step back left every actor unwatched for as long as the step).
//
// Two actors, as in a monitor: one beats every 20 ms, so the watchdog looks every few hundred
// ms, and one every 2 s (an idle actor beats once a second), whose beat before a step is what
// the watchdog finds at its next look.
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { WatchdogEvent } from '../dist/src/actors/protocols.js';
import { Watchdog } from '../dist/src/actors/watchdog.js';
import { waitFor as pollFor } from './helpers.js';

const ACTOR = new URL('./fixtures/beating-actor.mjs', import.meta.url).href;
/** f64 cells (stop: i32 cells `stop` and `stop + 1`); the skew cell is shared. */
const SKEW = 15;
const SLOW = { at: 0, by: 1, tid: 2, stop: 6, skew: SKEW };
const FAST = { at: 8, by: 9, tid: 10, stop: 22, skew: SKEW };
const TEN_MINUTES = 600_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dog: Watchdog | undefined;
afterEach(() => {
  for (const actor of ['slow', 'fast']) dog?.handle({ op: 'terminate', actor });
  dog = undefined;
});

const waitFor = <T>(what: string, ms: number, f: () => T | undefined): Promise<T> => pollFor(f, ms, what);

type Exit = Extract<WatchdogEvent, { ev: 'exit' }>;

describe('the watchdog and a step of the wall clock', () => {
  it('keeps actors that beat through a step of 10 minutes forward, then back, and replaces one within seconds once it stops after the step back', async () => {
    const control = new SharedArrayBuffer(128);
    const f64 = new Float64Array(control);
    const events: WatchdogEvent[] = [];
    dog = new Watchdog((e) => events.push(e), () => 0, { wall: () => Date.now() + f64[SKEW]!, mono: () => performance.now() });
    for (const [actor, cells, pace] of [['slow', SLOW, { everyMs: 2_000, aheadMs: 2_500 }], ['fast', FAST, {}]] as const) {
      dog.handle({ op: 'start', actor, url: ACTOR, data: { control, cells, ...pace }, beat: { control, at: cells.at, by: cells.by, tid: cells.tid } });
    }
    await waitFor('the first beats', 15_000, () => (f64[SLOW.tid] === 4242 && f64[FAST.tid] === 4242 ? true : undefined));
    await sleep(2_500);
    const exits = (): Exit[] => events.filter((e): e is Exit => e.ev === 'exit');
    // Forward, halfway between two beats of the slow actor: the watchdog looks before it beats again.
    f64[SKEW] = TEN_MINUTES;
    await sleep(3_000);
    expect(exits()).toEqual([]);
    f64[SKEW] = -TEN_MINUTES;
    await sleep(3_000);
    expect(exits()).toEqual([]);
    // Silent from now: found within its promise, the grace and the watchdog's longest sleep, not 10 minutes on.
    const stoppedAt = Date.now();
    Atomics.store(new Int32Array(control), FAST.stop, 1);
    const exit = await waitFor('the replacement', 60_000, () => exits()[0]);
    expect(exit).toMatchObject({ actor: 'fast', hung: true, expected: false });
    expect(exit.error).toMatch(/^no heartbeat for \d+ ms/);
    // Bounds a tenth of the step's, for a loaded machine: the point is seconds, not 10 minutes.
    expect(Number(/for (\d+) ms/.exec(exit.error ?? '')![1])).toBeLessThan(TEN_MINUTES / 10);
    expect(Date.now() - stoppedAt).toBeLessThan(TEN_MINUTES / 10);
  });
});
