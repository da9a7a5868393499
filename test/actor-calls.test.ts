/**
 * A call to an actor (the coordinator's Supervisor.call) must not outlive its answer: the
 * calls a monitor makes over days (every storage read, status poll, export count) are
 * answered and forgotten, not kept until the actor exits.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { PerformanceMonitor } from '../dist/src/index.js';
import { monitorStarter } from './helpers.js';

const start = monitorStarter();

type Caller = { call<T>(fn: (remote: unknown) => Promise<T>): Promise<T> };

describe('calls to an actor', () => {
  it("keeps none of a live actor's answers once its call is answered", async () => {
    // Each call raced the actor's `exited` promise, which settles only when the actor exits:
    // every race left a reaction on it holding the call's answer, so a running monitor kept
    // every answer it was ever given (with storage, the columns of every history read).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const m: PerformanceMonitor = await start({ storage: 'memory' });
    const collector = (m as unknown as { collector: Caller }).collector;
    const answers: WeakRef<object>[] = [];
    for (let i = 0; i < 200; i++) {
      const answer = await collector.call(async () => ({ i, payload: new Float64Array(64) }));
      answers.push(new WeakRef(answer));
    }
    // WeakRefs hold their targets until the end of the job that made them: collect on a later turn.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    const kept = answers.filter((r) => r.deref() !== undefined).length;
    expect(kept, 'answers still reachable after 200 answered calls').toBeLessThanOrEqual(1);
  });
});
