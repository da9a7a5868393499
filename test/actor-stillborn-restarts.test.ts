/**
 * A running actor whose successors crash in their start-up, before their first heartbeat: each
 * such restart is counted (the actor's restarts, and a fault of kind actor-restart saying it
 * ended before it started), and the watchdog's backoff bounds the loop. Only a successor that
 * beat was a fault: a crash loop of successors that never started left faults at 0 and no
 * warning for as long as it lasted, and one that ended counted one fault for all of them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor, WatchdogLink } from '../dist/src/actors/supervisor.js';
import { EXPORT_BEAT_BY, EXPORT_CLOCK, EXPORT_TID, createControl } from '../dist/src/engine/control.js';
import { waitFor } from './helpers.js';

type Api = { ready(): void; stop(): Promise<void> };

const actors: Supervisor<Api>[] = [];
afterEach(async () => {
  await Promise.all(actors.splice(0).map((a) => a.stop()));
});

/** An actor that runs, whose successors crash in their start-up while its `dying` cell is above 0; and the faults its supervision reports. */
function crasher(): { actor: Supervisor<Api>; dying: Int32Array; faults: { kind: string; message: string }[]; ups: number[] } {
  const control = createControl();
  const cells = { at: EXPORT_CLOCK, by: EXPORT_BEAT_BY, tid: EXPORT_TID };
  const dying = new Int32Array(new SharedArrayBuffer(4));
  const faults: { kind: string; message: string }[] = [];
  const ups: number[] = [];
  const link = new WatchdogLink((error, kind = 'watchdog') => faults.push({ kind, message: error.message }), 'skip');
  const actor = new Supervisor<Api>('crasher', new URL('./fixtures/stillborn-actor.mjs', import.meta.url), () => ({ control, cells, dying: dying.buffer }), { exit() {}, restart: (info) => ups.push(info.restarts) }, link, { control, ...cells });
  actors.push(actor);
  return { actor, dying, faults, ups };
}

describe('an actor whose successors crash before their first heartbeat', () => {
  it('counts each restart that ended before it started as an actor-restart fault, then the one that came up', async () => {
    const { actor, dying, faults, ups } = crasher();
    await actor.start();
    Atomics.store(dying, 0, 3);
    await actor.kill();
    await waitFor(() => ups.length > 0, 30_000, 'a successor to beat');
    expect(ups).toEqual([4]);
    expect(actor.restarts).toBe(4);
    const restarts = faults.filter((f) => f.kind === 'actor-restart').map((f) => f.message);
    expect(restarts).toHaveLength(4);
    for (const [i, message] of restarts.slice(0, 3).entries()) {
      expect(message).toMatch(new RegExp(`^crasher: restart ${i + 1} ended before it started \\(crashed in its start-up\\), down \\d+ ms so far; the watchdog starts another$`));
    }
    expect(restarts[3]).toMatch(/^crasher: restarted after \d+ ms down \(restart 4\); it had ended: crashed in its start-up$/);
    expect(faults.filter((f) => f.kind !== 'actor-restart')).toEqual([]);
  });

  it('counts a crash loop that never comes up, restart by restart, the watchdog spacing the tries', async () => {
    const { actor, dying, faults, ups } = crasher();
    await actor.start();
    Atomics.store(dying, 0, 1_000_000);
    await actor.kill();
    // Past the watchdog's 60 replacements a minute made at once, each waits 250 ms.
    await waitFor(() => actor.restarts >= 63, 60_000, 'the crash loop past its fast restarts');
    const failed = (): number => faults.filter((f) => f.kind === 'actor-restart').length;
    // The restart in flight is counted once it ends: every one before it is.
    expect(failed()).toBeGreaterThanOrEqual(actor.restarts - 2);
    expect(failed()).toBeLessThanOrEqual(actor.restarts);
    expect(ups).toEqual([]);
    expect(actor.state).toBe('restarting');
    // Spaced, not a busy loop: each try waits 250 ms (a slower host only makes fewer).
    const from = actor.restarts;
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(actor.restarts - from).toBeLessThanOrEqual(Math.ceil((performance.now() - t0) / 250) + 1);
    Atomics.store(dying, 0, 0);
  }, 90_000);

  it('fails the calls waiting for a successor, and those made meanwhile, while its successors end before they start, and answers again once one comes up', async () => {
    // A running actor's successors are tried for as long as it takes; a call waited for one to
    // come up without bound (a report on a storage actor dying in its start-up hung for good).
    const { actor, dying, ups } = crasher();
    await actor.start();
    Atomics.store(dying, 0, 1_000_000);
    await actor.kill();
    const waiting = actor.call((r) => r.ready()).then(
      () => null,
      (error: Error) => error,
    );
    const failed = await waiting;
    expect(failed?.message).toMatch(/^crasher: is down, its restarts ending before they start \(restart \d+: crashed in its start-up\); the call was not made: the watchdog keeps starting another, and calls are answered once one is up$/);
    await expect(actor.call((r) => r.ready())).rejects.toThrow(/^crasher: is down, its restarts ending before they start/);
    Atomics.store(dying, 0, 0);
    await waitFor(() => ups.length > 0, 30_000, 'a successor to beat');
    await waitFor(() => actor.state === 'running', 30_000, 'a successor ready');
    await expect(actor.call((r) => r.ready())).resolves.toBeUndefined();
  }, 90_000);
});

