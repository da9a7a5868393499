/**
 * An actor whose thread the watchdog cannot make: new Worker() throws at once, with no 'error'
 * event, when the process is at its limit on threads (`ulimit -u`, a container's pids.max:
 * EAGAIN). Thrown out of the watchdog's handler, it ended the watchdog thread, and with it
 * every actor it ran (test/host-safety.test.ts has the whole monitor in such a host).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { WatchdogEvent } from '../dist/src/actors/protocols.js';
import { Watchdog } from '../dist/src/actors/watchdog.js';
import { waitFor as pollFor } from './helpers.js';

const ACTOR = new URL('./fixtures/beating-actor.mjs', import.meta.url).href;
const CELLS = { at: 0, by: 1, tid: 2, stop: 6 };
/** A URL new Worker() refuses at once, as it refuses any at the limit on threads. */
const UNMADE = 'https://example.invalid/actor.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dog: Watchdog | undefined;
afterEach(() => {
  for (const actor of ['beating', 'unmade']) dog?.handle({ op: 'terminate', actor });
  dog = undefined;
});

const waitFor = <T>(what: string, ms: number, f: () => T | undefined): Promise<T> => pollFor(f, ms, what);

type Exit = Extract<WatchdogEvent, { ev: 'exit' }>;

describe('the watchdog and an actor whose thread cannot be made', () => {
  it('reports it as an exit naming the cause and tries again within its bounds, while the actors it runs live on', async () => {
    const control = new SharedArrayBuffer(128);
    const f64 = new Float64Array(control);
    const events: WatchdogEvent[] = [];
    dog = new Watchdog((e) => events.push(e), () => 0);
    dog.handle({ op: 'start', actor: 'beating', url: ACTOR, data: { control, cells: CELLS }, beat: { control, at: CELLS.at, by: CELLS.by, tid: CELLS.tid } });
    await waitFor('the first beat', 15_000, () => (f64[CELLS.tid] === 4242 ? true : undefined));
    expect(() => dog!.handle({ op: 'start', actor: 'unmade', url: UNMADE, data: {}, beat: { control, at: 8, by: 9, tid: 10 } })).not.toThrow();
    const exits = (actor: string): Exit[] => events.filter((e): e is Exit => e.ev === 'exit' && e.actor === actor);
    await waitFor('two tries', 15_000, () => (exits('unmade').length >= 2 ? true : undefined));
    expect(exits('unmade')[0]).toMatchObject({ code: -1, error: 'ERR_INVALID_URL_SCHEME: The URL must be of scheme file', expected: false, hung: false });
    expect(events.some((e) => e.ev === 'instance' && e.actor === 'unmade')).toBe(false);
    // Retired, it is tried no more.
    dog.handle({ op: 'terminate', actor: 'unmade' });
    await sleep(50);
    const tries = exits('unmade').length;
    await sleep(600);
    expect(exits('unmade').length).toBe(tries);
    // The actor that runs was never touched, and still beats.
    expect(exits('beating')).toEqual([]);
    const beat = f64[CELLS.at]!;
    await waitFor('another beat', 15_000, () => (f64[CELLS.at]! > beat ? true : undefined));
  });
});
