// A stopped process is not a hung one: SIGSTOP, a debugger's pause, `docker pause`, Ctrl-Z stop
// the actors' threads and the watchdog's alike, and on SIGCONT the watchdog's round, due long
// ago, found every actor silent for as long as the stop (a trial: an 8 s SIGSTOP replaced the
// collector, "no heartbeat for 8689 ms"). Here the watchdog runs on the test's thread, which
// the test blocks to stop it, while the actor is told to stop beating for as long; the watchdog
// looks late, before the actor beats again, as it may after SIGCONT.
import { afterEach, describe, expect, it } from 'vitest';
import type { WatchdogEvent } from '../dist/src/actors/protocols.js';
import { Watchdog } from '../dist/src/actors/watchdog.js';

const ACTOR = new URL('./fixtures/beating-actor.mjs', import.meta.url).href;
const CELLS = { at: 0, by: 1, tid: 2, stop: 6 };
/** The actor's promise: generous, so that a loaded machine's late beat is no hang here. */
const AHEAD_MS = 2_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dog: Watchdog | undefined;
afterEach(() => {
  dog?.handle({ op: 'terminate', actor: 'paused' });
  dog = undefined;
});

type Exit = Extract<WatchdogEvent, { ev: 'exit' }>;

/** A watchdog on this thread watching the beating actor, once it beats; `selfWait` stands in for the kernel's count of this thread's wait for a CPU. */
async function watched(selfWait?: () => number): Promise<{ i32: Int32Array; events: WatchdogEvent[] }> {
  const control = new SharedArrayBuffer(64);
  const f64 = new Float64Array(control);
  const events: WatchdogEvent[] = [];
  dog = new Watchdog((e) => events.push(e), () => 0, undefined, selfWait);
  dog.handle({ op: 'start', actor: 'paused', url: ACTOR, data: { control, cells: CELLS, aheadMs: AHEAD_MS }, beat: { control, at: CELLS.at, by: CELLS.by, tid: CELLS.tid } });
  const until = Date.now() + 15_000;
  while (!(f64[CELLS.at]! > 0 && f64[CELLS.tid] === 4242)) {
    if (Date.now() > until) throw new Error('the actor never beat');
    await sleep(5);
  }
  await sleep(300);
  return { i32: new Int32Array(control), events };
}

describe('the watchdog and a stopped process', () => {
  it('judges no actor on the time its own round came late (the process was stopped), and still replaces one that stays silent after', async () => {
    const { i32, events } = await watched();
    const exits = (): Exit[] => events.filter((e): e is Exit => e.ev === 'exit');
    // The process stops: the actor beats no more, and the watchdog's thread (this one) does not run.
    Atomics.store(i32, CELLS.stop, 1);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, AHEAD_MS * 2);
    // It goes on: the watchdog's round, overdue, runs first.
    await sleep(20);
    expect(exits()).toEqual([]);
    // Then the actor beats again.
    Atomics.store(i32, CELLS.stop, 0);
    Atomics.notify(i32, CELLS.stop + 1);
    await sleep(AHEAD_MS + 1_000);
    expect(exits()).toEqual([]);
    // A hang after it is still found: the stop moved nothing for good.
    Atomics.store(i32, CELLS.stop, 1);
    const hungAt = Date.now();
    let exit: Exit | undefined;
    while (!(exit = exits()[0])) {
      if (Date.now() - hungAt > 30_000) throw new Error('the hung actor was never replaced');
      await sleep(20);
    }
    expect(exit).toMatchObject({ actor: 'paused', hung: true, expected: false });
    expect(exit.error).toMatch(/^no heartbeat for \d+ ms$/);
    Atomics.store(i32, CELLS.stop, 0);
    Atomics.notify(i32, CELLS.stop + 1);
  });

  it('judges the actors on a round its own wait for a CPU made late: a crowded machine, not a stopped process', async () => {
    // The kernel's count of the watchdog thread's wait for a CPU (this thread's), which the test moves.
    let selfWait = 0;
    const { i32, events } = await watched(() => selfWait);
    // The actor hangs, and the watchdog's thread waits for a CPU all the while (as the kernel says).
    Atomics.store(i32, CELLS.stop, 1);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, AHEAD_MS * 2);
    selfWait = AHEAD_MS * 4;
    // Its round, overdue, runs before this timer does, and ends the actor then (its exit comes
    // once the thread is gone): not a promise and a grace later, as after a stop.
    await sleep(20);
    // Ending (its thread being terminated), or ended and its exit said already.
    const ending = (dog as unknown as { actors: Map<string, { ending?: string }> }).actors.get('paused')?.ending ?? events.filter((e): e is Exit => e.ev === 'exit')[0]?.error;
    expect(ending).toMatch(/^no heartbeat for \d+ ms$/);
    const hungAt = Date.now();
    let exit: Exit | undefined;
    while (!(exit = events.filter((e): e is Exit => e.ev === 'exit')[0])) {
      if (Date.now() - hungAt > 30_000) throw new Error('the hung actor was never replaced');
      await sleep(20);
    }
    expect(exit).toMatchObject({ actor: 'paused', hung: true, expected: false, error: ending });
    Atomics.store(i32, CELLS.stop, 0);
    Atomics.notify(i32, CELLS.stop + 1);
  });

  it("overlooks one late round per silence: a second, the actor silent since the first, judges it (where the watchdog's own wait cannot be read)", async () => {
    const { i32, events } = await watched(() => Number.NaN);
    Atomics.store(i32, CELLS.stop, 1);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, AHEAD_MS * 2);
    await sleep(20);
    expect(events.filter((e) => e.ev === 'exit')).toEqual([]);
    // Late again, the actor still silent: no second reprieve.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, AHEAD_MS * 2);
    await sleep(20);
    const ending = (dog as unknown as { actors: Map<string, { ending?: string }> }).actors.get('paused')?.ending ?? events.filter((e): e is Exit => e.ev === 'exit')[0]?.error;
    expect(ending).toMatch(/^no heartbeat for \d+ ms$/);
    Atomics.store(i32, CELLS.stop, 0);
    Atomics.notify(i32, CELLS.stop + 1);
  });
});
