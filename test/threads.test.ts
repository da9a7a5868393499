import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { CapacityError, InvalidArgumentError, MonitorStoppedError, PerformanceMonitor, attachProducer, type DropReport } from '../dist/src/index.js';
import { MAX_HANDLES } from '../dist/src/monitor/producer-handles.js';
import { VERSION } from '../dist/src/version.js';
import { once, waitFor } from './helpers.js';

const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);

/** What attachProducer() threw for `bad`, or 'attached'. */
function refusedAttach(bad: unknown): unknown {
  try {
    attachProducer(bad as never);
  } catch (error) {
    return error;
  }
  return 'attached';
}

type Reply = { done?: boolean; error?: { name: string; code: string; message: string } };
function runRecorder(workerData: Record<string, unknown>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const w = new Worker(fixture('thread-recorder.mjs'), { workerData });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});
async function started(options?: ConstructorParameters<typeof PerformanceMonitor>[0]): Promise<PerformanceMonitor> {
  const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, ...options });
  monitors.push(m);
  await m.start();
  return m;
}

describe('recording from other threads', () => {
  it('aggregates worker threads and the main thread into the same series', async () => {
    const m = await started({ overflow: 'block' });
    const handle = m.producer();
    const tags = { endpoint: '/search' };
    // Both threads hold their rings at once: a thread that has ended gives its ring to the next.
    const syncs = [new Int32Array(new SharedArrayBuffer(8)), new Int32Array(new SharedArrayBuffer(8))];
    const replying = Promise.all([
      runRecorder({ handle, count: 300_000, value: 2, name: 'response_time', tags, paceEvery: 100_000, sync: syncs[0] }),
      runRecorder({ handle, count: 200_000, value: 3, name: 'response_time', tags, paceEvery: 100_000, sync: syncs[1] }),
    ]);
    await waitFor(() => syncs.every((sync) => Atomics.load(sync, 0) > 0), 30_000, 'both threads recording');
    for (const sync of syncs) {
      Atomics.store(sync, 1, 1);
      Atomics.notify(sync, 1);
    }
    const replies = await replying;
    expect(replies.every((r) => r.done)).toBe(true);
    const main = m.metric('response_time', tags);
    for (let i = 0; i < 1000; i++) main.record(5);
    await m.flush();
    const series = m.getMetrics({ names: ['response_time'] });
    expect(series).toHaveLength(1);
    expect(series[0]).toMatchObject({ tags, totalCount: 501_000, totalSum: 300_000 * 2 + 200_000 * 3 + 5000 });
    const rings = m.status().ingestion.rings;
    expect(rings.filter((r) => r.owner === 'worker')).toHaveLength(2);
    expect(m.status().ingestion.dropped).toBe(0);
  });

  it("takes a worker's records again after stop() and start(), though the worker recorded while the monitor was stopped", async () => {
    const m = await started();
    const w = new Worker(fixture('thread-on-demand.mjs'), { workerData: { handle: m.producer(), name: 'restarted' } });
    try {
      const ask = async (n: number): Promise<{ recorded: number; error: string | null }> => {
        const reply = once<{ recorded: number; error: string | null }>(w, 'message');
        w.postMessage({ n });
        return reply;
      };
      expect(await ask(3)).toEqual({ recorded: 3, error: null });
      await m.stop();
      // Refused once the thread's ring saw the stop (at its first flush point at the latest).
      expect((await ask(5)).error).toBe('MonitorStoppedError');
      await m.start();
      expect(await ask(4)).toEqual({ recorded: 4, error: null });
      await m.flush();
      const before = m.getMetrics({ names: ['restarted'] })[0]!.totalCount;
      expect(await ask(6)).toEqual({ recorded: 6, error: null });
      await m.flush();
      expect(m.getMetrics({ names: ['restarted'] })[0]!.totalCount).toBe(before + 6);
    } finally {
      await w.terminate();
    }
  });

  // A worker's records between two flush points straddling a stop() or a close(): taken
  // without a word, then, after close(), pending for good and counted nowhere, or, after a
  // stop() and a start(), stored at the start's time, in a bucket the monitor never watched.
  describe('samples a worker took while the monitor was stopped', () => {
    type Straddle = { recorded: number; error: string | null; flushError: string | null };
    /** Has the worker record `before`, then (while it waits) runs `between`, then has it record `after`, and flush if asked. */
    const straddle = async (w: Worker, gate: Int32Array, between: () => Promise<void>, ask: { before: number; after: number; flush: boolean }): Promise<Straddle> => {
      const waiting = once(w, 'message');
      w.postMessage(ask);
      await waiting;
      await between();
      const reply = once<Straddle>(w, 'message');
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      return reply;
    };
    const worker = (m: PerformanceMonitor, name: string): { w: Worker; gate: Int32Array } => {
      const gate = new Int32Array(new SharedArrayBuffer(4));
      return { w: new Worker(fixture('thread-across-stop.mjs'), { workerData: { handle: m.producer(), name, gate } }), gate };
    };

    it('refuses them at an explicit flush() after close(), and counts them dropped, not pending', async () => {
      const m = await started();
      const { w, gate } = worker(m, 'straddled');
      try {
        const reply = await straddle(w, gate, () => m.close(), { before: 5, after: 20, flush: true });
        expect(reply).toMatchObject({ recorded: 25, error: null });
        expect(reply.flushError).toMatch(/^MonitorStoppedError: the monitor was closed: build a new one to monitor again \(the 25 samples this thread recorded since its last flush point were not stored/);
        const ingestion = m.status().ingestion;
        expect(ingestion.dropped).toBe(25);
        expect(ingestion.pending).toBe(0);
      } finally {
        await w.terminate();
      }
    });

    it('never stores them at the next start: dropped and counted, whether the stop or the start came first', async () => {
      const m = await started();
      const { w, gate } = worker(m, 'straddled');
      try {
        // Published at the end of the turn, while stopped.
        expect(await straddle(w, gate, () => m.stop(), { before: 5, after: 20, flush: false })).toEqual({ recorded: 25, error: null, flushError: null });
        await m.start();
        // Published after a stop and a start: the flush that finds the ring open again drops them too.
        expect(await straddle(w, gate, async () => {
          await m.stop();
          await m.start();
        }, { before: 4, after: 6, flush: true })).toEqual({ recorded: 10, error: null, flushError: null });
        await m.flush();
        expect(m.getMetrics({ names: ['straddled'] })[0]?.totalCount ?? 0).toBe(0);
        expect(m.status().ingestion.dropped).toBe(35);
        // Records of the running monitor go in.
        expect(await straddle(w, gate, async () => {}, { before: 2, after: 3, flush: true })).toEqual({ recorded: 5, error: null, flushError: null });
        await m.flush();
        expect(m.getMetrics({ names: ['straddled'] })[0]!.totalCount).toBe(5);
      } finally {
        await w.terminate();
      }
    });
  });

  it('keeps the samples of a worker that ends with process.exit() in the turn it recorded them', async () => {
    const m = await started();
    // 100 samples: one publish point (every 64) and 36 past it, which only the end of the turn would have published.
    const w = new Worker(fixture('thread-exit.mjs'), { workerData: { handle: m.producer(), name: 'exited', n: 100 } });
    expect(await once<number>(w, 'exit')).toBe(0);
    await m.flush();
    expect(m.getMetrics({ names: ['exited'] })[0]).toMatchObject({ totalCount: 100 });
    expect(m.status().ingestion.dropped).toBe(0);
  });

  it('serves piscina tasks: each pool thread attaches once and gets its own ring', async () => {
    const m = await started({ overflow: 'block' });
    const handle = m.producer();
    const pool = new Piscina({ filename: fixture('piscina-task.cjs').href, minThreads: 2, maxThreads: 2 });
    try {
      const results = await Promise.all(Array.from({ length: 8 }, () => pool.run({ handle, count: 25_000, value: 4 })));
      expect(results.every((r: { sameProducer: boolean }) => r.sameProducer)).toBe(true);
      const threads = new Set(results.map((r: { threadId: number }) => r.threadId));
      await m.flush();
      // None dropped: under 'block' a collector held off the CPUs by a loaded machine is
      // waited for (it cost 83,736 samples in a CI run at load 12-20: test/ring-full.test.ts).
      expect(m.status().ingestion.dropped).toBe(0);
      const [series] = m.getMetrics({ names: ['formula_calculation_time'] });
      expect(series).toMatchObject({ tags: { engine: 'pool' }, totalCount: 200_000, totalSum: 800_000 });
      expect(m.status().ingestion.rings.filter((r) => r.owner === 'worker')).toHaveLength(threads.size);
    } finally {
      await pool.destroy();
    }
  });

  it("publishes a piscina task's samples when the task ends, without a flush of its own", async () => {
    // A piscina thread waits for its next task in Atomics.wait: its event loop's turn never
    // ends, so a flush scheduled for the end of the turn never ran, and a task's last samples
    // (fewer than the 64 a ring publishes at once) stayed unseen, or were lost with the thread.
    const m = await started();
    const handle = m.producer();
    const pool = new Piscina({ filename: fixture('piscina-task.cjs').href, minThreads: 2, maxThreads: 2 });
    try {
      for (let i = 0; i < 10; i++) await pool.run({ handle, count: 1, value: 3, flush: false });
      await m.flush();
      const [series] = m.getMetrics({ names: ['formula_calculation_time'] });
      expect(series).toMatchObject({ totalCount: 10, totalSum: 30 });
    } finally {
      await pool.destroy();
    }
  });

  it('counts every sample a full ring dropped, in status and as monitor_dropped', async () => {
    // A burst far larger than a small ring, under overflow 'drop'.
    const m = await started({ ringCapacity: 1024, overflow: 'drop' });
    const reply = await runRecorder({ handle: m.producer(), count: 500_000, value: 1, name: 'queue_size' });
    expect(reply.done).toBe(true);
    await m.flush();
    const kept = m.getMetrics({ names: ['queue_size'] })[0]!.totalCount;
    const dropped = m.status().ingestion.dropped;
    expect(dropped).toBeGreaterThan(0);
    expect(kept + dropped).toBe(500_000);
    // The collector reports the drops as a metric of its own at its next interval.
    const reported = await waitFor(() => {
      const metric = m.getMetrics({ names: ['monitor_dropped'] })[0];
      return metric && metric.totalSum === dropped ? metric : undefined;
    }, 5_000, 'monitor_dropped to account for the drops');
    expect(reported.kind).toBe('counter');
  });

  it("announces drops once per interval: a 'drops' event and status, with the exact count", async () => {
    const m = await started({ ringCapacity: 1024, overflow: 'drop' });
    const reports: DropReport[] = [];
    m.on('drops', (r: DropReport) => reports.push(r));
    const reply = await runRecorder({ handle: m.producer(), count: 500_000, value: 1, name: 'queue_size' });
    expect(reply.done).toBe(true);
    await m.flush();
    // A loaded machine stretches the recording over several intervals: one report each, the
    // last at the end of the interval it ended in.
    const announced = (): number => reports.reduce((a, r) => a + r.samples, 0);
    await waitFor(() => reports.length > 0 && announced() === m.status().ingestion.dropped, 5000, 'every drop announced');
    // And no drop is announced again at the intervals after.
    await new Promise((r) => setTimeout(r, 2.5 * m.status().collectionIntervalMs));
    const s = m.status();
    expect(announced()).toBe(s.ingestion.dropped);
    expect(announced() + m.getMetrics({ names: ['queue_size'] })[0]!.totalCount).toBe(500_000);
    for (const [i, report] of reports.entries()) {
      expect(report.samples).toBeGreaterThan(0);
      expect(report.rings).toEqual([{ id: expect.any(Number), owner: 'worker', samples: report.samples }]);
      expect(report.at - report.since).toBeGreaterThan(0);
      // Each report's span starts where an earlier look ended: no drop announced twice.
      if (i > 0) expect(report.since).toBeGreaterThanOrEqual(reports[i - 1]!.at);
    }
    expect(s.ingestion.lastDrops).toEqual(reports.at(-1));
  });

  // A service that called producer() for each task or worker added producerThreads rings a
  // call, for good, and a long-lived thread took a ring of each handle it attached: 3,000
  // calls reserved 38 GB and held 3 GB resident.
  describe('a service that calls producer() for each task or worker', () => {
    it('keeps MAX_HANDLES handles, handing out again those no thread needs, and loses no sample', async () => {
      const m = await started({ producerThreads: 2, ringCapacity: 1024 });
      const before = m.status().memory.addressSpaceBytes;
      const rings = new Set<SharedArrayBuffer>();
      let sameProducer = 0;
      const first = attachProducer(m.producer());
      // One long-lived thread (a piscina thread), a handle each task: it keeps its producer.
      for (let i = 0; i < 5 * MAX_HANDLES; i++) {
        const handle = m.producer();
        for (const r of handle.rings) rings.add(r);
        const producer = attachProducer(handle);
        if (producer === first) sameProducer++;
        producer.metric('per_task').record(2);
      }
      expect(sameProducer).toBe(5 * MAX_HANDLES);
      const grown = m.status().memory.addressSpaceBytes - before;
      // Short-lived workers, a handle each: each takes a ring of a handle no thread needs any more.
      for (let i = 0; i < 3; i++) expect(await runRecorder({ handle: m.producer(), count: 100, value: 3, name: 'per_task' })).toEqual({ done: true });
      await m.flush();
      expect(rings.size).toBeLessThanOrEqual(2 * MAX_HANDLES);
      expect(m.status().memory.addressSpaceBytes - before).toBe(grown);
      expect(m.getMetrics({ names: ['per_task'] })[0]).toMatchObject({ totalCount: 5 * MAX_HANDLES + 300, totalSum: 10 * MAX_HANDLES + 900 });
      expect(m.status().ingestion.dropped).toBe(0);
    });

    it('hands out again past MAX_HANDLES a handle with a ring free while threads still run on its others', async () => {
      const m = await started({ producerThreads: 2, ringCapacity: 1024 });
      // This thread holds one of the first handle's two rings for as long as it runs.
      const first = m.producer();
      attachProducer(first).record('shared', 1);
      for (let i = 1; i < MAX_HANDLES; i++) m.producer();
      // 33 long-lived workers given a producer() each: the 33rd shares the first handle.
      const again = m.producer();
      expect(again.rings).toBe(first.rings);
      expect(await runRecorder({ handle: again, count: 100, value: 3, name: 'shared' })).toEqual({ done: true });
      await m.flush();
      expect(m.getMetrics({ names: ['shared'] })[0]).toMatchObject({ totalCount: 101, totalSum: 301 });
    });

    it('refuses a handle past MAX_HANDLES while every one is in use, naming the limit, and hands one out again once a thread came for it', async () => {
      // One ring a handle: this thread's attach leaves the first one no ring for another thread.
      const m = await started({ producerThreads: 1, ringCapacity: 1024 });
      attachProducer(m.producer());
      const handles = Array.from({ length: MAX_HANDLES - 1 }, () => m.producer());
      // None of them attached yet: each may be on its way to a thread.
      const refused = (() => {
        try {
          m.producer();
        } catch (error) {
          return error;
        }
        return 'handed out';
      })();
      expect(refused).toBeInstanceOf(CapacityError);
      expect(refused).toMatchObject({ code: 'PW_ERR_CAPACITY', field: 'producer()' });
      expect((refused as Error).message).toBe(
        `producer() handles are all in use: this monitor gave out ${MAX_HANDLES}, its limit, each with threads that still run on all of its rings or one it was given to that has not attached it yet; give one handle to every thread rather than one each (a handle serves producerThreads, 1, threads at a time, and the ring of a thread that ended goes to the next)`,
      );
      attachProducer(handles[6]!).record('came', 1);
      expect(m.producer().rings).toBe(handles[6]!.rings);
      expect(() => m.producer()).toThrow(CapacityError);
    });
  });

  it('says so when a handle has no ring left for another thread', async () => {
    const m = await started({ producerThreads: 1 });
    const handle = m.producer();
    // This thread takes the one ring, and lives on: another thread is refused.
    attachProducer(handle).metric('queue_size').record(1);
    const second = await runRecorder({ handle, count: 10, value: 1, name: 'queue_size' });
    expect(second.error).toMatchObject({ name: 'CapacityError', code: 'PW_ERR_CAPACITY' });
    expect(second.error!.message).toMatch(/producerThreads are all taken: this handle serves 1 threads/);
    expect(() => attachProducer({ type: 'nope' } as never)).toThrow(InvalidArgumentError);
    // A fresh handle serves the next thread.
    expect(await runRecorder({ handle: m.producer(), count: 10, value: 1, name: 'queue_size' })).toEqual({ done: true });
  });

  it("refuses a handle whose shared memory is gone (a JSON copy) with the handle's InvalidArgumentError, not a RangeError", async () => {
    const m = await started();
    const handle = m.producer();
    const copies = [
      JSON.parse(JSON.stringify(handle)),
      { ...handle, rings: [new SharedArrayBuffer(64)] },
      { ...handle, rings: [] },
      { ...handle, control: new SharedArrayBuffer(8) },
      { ...handle, registry: { ...handle.registry, series: {} } },
    ];
    for (const bad of copies) {
      const error = refusedAttach(bad);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'handle' });
      expect((error as Error).message).toMatch(/passed whole by structured clone .*a JSON copy/);
    }
    // The handle itself attaches.
    attachProducer(handle).metric('queue_size').record(1);
  });

  it("refuses a handle made by another release of perfwatch (a second copy in node_modules), naming both releases, before it reads the handle's buffers", async () => {
    const m = await started();
    const handle = m.producer();
    expect(handle.version).toBe(VERSION);
    const { version: _, ...unversioned } = handle;
    const cases: [unknown, RegExp][] = [
      [{ ...handle, version: '0.0.9' }, /^handle was made by perfwatch 0\.0\.9, and this attachProducer\(\) is perfwatch (\S+)'s \(another copy of the package in node_modules/],
      [unversioned, /^handle was made by an earlier release of perfwatch \(its handle names no version\), and this attachProducer\(\) is perfwatch /],
      // Another release's buffers need not pass this release's checks: the release is said first.
      [{ ...handle, version: '0.0.9', rings: [new SharedArrayBuffer(64)] }, /was made by perfwatch 0\.0\.9/],
    ];
    for (const [bad, message] of cases) {
      const error = refusedAttach(bad);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'handle' });
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toContain(`is perfwatch ${VERSION}'s`);
    }
    // A handle of this release attaches, and records.
    const producer = attachProducer(handle);
    producer.metric('queue_size').record(1);
    producer.flush();
    await waitFor(async () => {
      await m.flush();
      return m.getMetrics({ names: ['queue_size'] })[0]?.totalCount === 1;
    }, 15_000, "the handle's sample");
  });

  it('refuses at attach every handle of a closed monitor, with MonitorStoppedError', async () => {
    const m = await started();
    const used = m.producer();
    const fresh = m.producer();
    attachProducer(used).metric('queue_size').record(1);
    await m.close();
    // One handle this thread had attached, one it had not: the same answer for both, in any thread.
    for (const handle of [used, fresh]) {
      expect(() => attachProducer(handle)).toThrow(MonitorStoppedError);
      expect(() => attachProducer(handle)).toThrow(/the monitor was closed: attachProducer\(\) of its handle would never record/);
      expect(await runRecorder({ handle, count: 1, value: 1, name: 'queue_size' })).toMatchObject({ error: { name: 'MonitorStoppedError', message: expect.stringMatching(/^the monitor was closed: attachProducer/) } });
    }
  });

  it('gives the ring of a thread that ended (a piscina thread past its idleTimeout, a terminated worker) to the next thread, never a live one', async () => {
    // Rings stayed claimed by threads that had ended: a pool that ends idle threads (piscina's
    // default idleTimeout is 0) failed every task after producerThreads threads had come and gone.
    const m = await started({ producerThreads: 1 });
    const handle = m.producer();
    const code = [
      "const { parentPort, workerData } = require('node:worker_threads');",
      `import(${JSON.stringify(new URL('../dist/src/index.js', import.meta.url).href)}).then(({ attachProducer }) => {`,
      '  try {',
      '    const producer = attachProducer(workerData.handle);',
      "    for (let i = 0; i < 100; i++) producer.metric('queue_size').record(1);",
      '    producer.flush();',
      "    parentPort.postMessage('recorded');",
      "    if (workerData.end === 'terminate') setInterval(() => {}, 1000);",
      '  } catch (error) {',
      '    parentPort.postMessage(error.message);',
      '  }',
      '});',
    ].join('\n');
    // Its exit is listened to from the start: a thread that ended before this thread read its
    // message has the message and then 'exit' emitted in one go (Node drains the port at the
    // exit), before a listener added once the message was read (CI: 'no answer in 15 s').
    const thread = (end: 'natural' | 'terminate'): { worker: Worker; said: Promise<unknown>; exited: Promise<unknown> } => {
      const worker = new Worker(code, { eval: true, workerData: { handle, end } });
      return { worker, said: once(worker, 'message'), exited: new Promise((resolve) => worker.once('exit', resolve)) };
    };
    // Each wait bounded and named: the test once ran into vitest's 60 s limit in CI (not
    // reproduced since), which named none of them.
    const step = <T>(p: Promise<T>, what: string): Promise<T> =>
      Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in 15 s`)), 15_000).unref())]);
    for (const [i, end] of (['natural', 'terminate', 'natural', 'terminate'] as const).entries()) {
      const { worker, said, exited } = thread(end);
      expect(await step(said, `thread ${i} (${end}) to say it recorded`)).toBe('recorded');
      if (end === 'terminate') {
        // While it lives, its ring is its own.
        const other = thread('natural');
        expect(await step(other.said, `the thread beside ${i} to be refused`)).toMatch(/^producerThreads are all taken/);
        await step(other.exited, `the thread refused beside ${i} to exit`);
        await step(worker.terminate(), `thread ${i} to be terminated`);
      } else {
        await step(exited, `thread ${i} to exit`);
      }
    }
    await step(m.flush(), 'the flush');
    expect(m.getMetrics({ names: ['queue_size'] })[0]).toMatchObject({ totalCount: 400 });
  });

  it('rejects bad input inside a worker with the same errors as on the main thread', async () => {
    const m = await started();
    const reply = await runRecorder({ handle: m.producer(), count: 1, value: Number.NaN, name: 'queue_size' });
    expect(reply.error).toMatchObject({ code: 'PW_ERR_INVALID_ARG', message: 'value of queue_size must be a finite count from 0 to under 2^333 (~1.7e100), got NaN' });
  });
});
