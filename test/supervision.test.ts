import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type ActorExit } from '../dist/src/index.js';
import { once } from './helpers.js';

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

/** Starts a worker that records `count` samples of `value`, paced so the stream outlasts a restart. */
function recorder(m: PerformanceMonitor, count: number, value: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./fixtures/thread-recorder.mjs', import.meta.url), {
      workerData: { handle: m.producer(), count, value, name: 'response_time', tags: { case: 'crash' }, paceEvery: 1000 },
    });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

describe('collector supervision', () => {
  for (const fault of ['kill', 'throw', 'exit'] as const) {
    it(`restarts a collector that dies (${fault}) within a second, losing no sample`, async () => {
      const m = new PerformanceMonitor({ overflow: 'block', system: { enabled: false }, runtime: { enabled: false } });
      monitors.push(m);
      await m.start();
      const exits: ActorExit[] = [];
      m.on('actor-exit', (e: ActorExit) => exits.push(e));
      const restarted = once<{ actor: string; restarts: number; downMs: number }>(m, 'actor-restart');
      // Samples before the crash, during it (the worker keeps recording) and after.
      const before = m.metric('response_time', { case: 'crash' });
      for (let i = 0; i < 50_000; i++) before.record(1);
      const streaming = recorder(m, 200_000, 2);
      await new Promise((resolve) => setTimeout(resolve, 30));
      await m.injectFault(fault);
      const restart = await restarted;
      expect(restart).toMatchObject({ actor: 'collector', restarts: 1 });
      expect(restart.downMs).toBeLessThan(1000);
      expect(exits).toHaveLength(1);
      await streaming;
      for (let i = 0; i < 10_000; i++) before.record(3);
      await m.flush();
      const [series] = m.getMetrics({ names: ['response_time'] });
      expect(series).toMatchObject({ totalCount: 260_000, totalSum: 50_000 + 400_000 + 30_000 });
      const s = m.status();
      expect(s.collector).toMatchObject({ state: 'running', restarts: 1 });
      expect(s.ingestion.dropped).toBe(0);
      expect(s.ingestion.badSamples).toBe(0);
    });
  }

  it('applies every sample exactly once through repeated kills during a heavy stream', async () => {
    const m = new PerformanceMonitor({ overflow: 'block', system: { enabled: false }, runtime: { enabled: false } });
    monitors.push(m);
    await m.start();
    const count = 1_500_000;
    const streaming = new Promise((resolve, reject) => {
      const w = new Worker(new URL('./fixtures/thread-recorder.mjs', import.meta.url), {
        workerData: { handle: m.producer(), count, value: 3, name: 'response_time', tags: { case: 'storm' }, paceEvery: 20_000 },
      });
      w.once('message', resolve);
      w.once('error', reject);
    });
    for (let k = 0; k < 4; k++) {
      await new Promise((resolve) => setTimeout(resolve, 60 + 40 * k));
      const restarted = once(m, 'actor-restart');
      await m.injectFault('kill');
      await restarted;
    }
    await streaming;
    await m.flush();
    expect(m.getMetrics({ names: ['response_time'] })[0]).toMatchObject({ totalCount: count, totalSum: 3 * count });
    expect(m.status().collector.restarts).toBe(4);
  });

  it('replaces a collector that stops beating (hung) and drains what waited', async () => {
    const m = new PerformanceMonitor({ overflow: 'block', system: { enabled: false }, runtime: { enabled: false } });
    monitors.push(m);
    await m.start();
    const exit = once<ActorExit>(m, 'actor-exit');
    const restarted = once(m, 'actor-restart');
    await m.injectFault('hang');
    const h = m.metric('response_time', { case: 'hang' });
    for (let i = 0; i < 20_000; i++) h.record(4);
    expect((await exit).error?.message).toMatch(/no heartbeat for \d+ ms/);
    await restarted;
    await m.flush();
    expect(m.getMetrics({ names: ['response_time'] })[0]).toMatchObject({ totalCount: 20_000, totalSum: 80_000 });
  });
});
