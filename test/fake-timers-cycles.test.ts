/**
 * A service's test suite that starts and stops the monitor around tests that fake timers
 * (sinon's, whose clock does not clear a timer it did not make, and vitest's told the same):
 * each cycle leaves nothing running, and a front served under the fakes settles.
 */
import { createHook } from 'node:async_hooks';
import { execFile } from 'node:child_process';
import { performance as hooksPerformance } from 'node:perf_hooks';
import { createServer, request } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError, PerformanceMonitor } from '../dist/src/index.js';
import { FAKED } from './fake-timers-helpers.js';


afterEach(() => {
  vi.useRealTimers();
});

describe('start/stop cycles around fake timers', () => {
  it('leave no interval running: a monitor started before the fakes and stopped under them, 6 times', async () => {
    // The overhead governor's check interval was cleared by the global clearInterval: a fake
    // of sinon's (shouldClearNativeTimers off, its default) does not clear a native timer, so
    // each stop() in a test's afterEach left one more interval checking a stopped monitor
    // every 10 s, and printed "FakeTimers: clearInterval was invoked to clear a native timer".
    const live = new Map<number, { _repeat?: number | null; _destroyed?: boolean }>();
    const hook = createHook({
      init(id, type, _trigger, resource) {
        if (type === 'Timeout') live.set(id, resource as never);
      },
      destroy(id) {
        live.delete(id);
      },
    }).enable();
    const intervals = (): number => [...live.values()].filter((t) => t._repeat != null && t._destroyed !== true).length;
    const counts: number[] = [];
    try {
      for (let k = 0; k < 6; k++) {
        const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
        await m.start();
        vi.useFakeTimers({ toFake: [...FAKED], shouldClearNativeTimers: false });
        m.record('job_ms', k);
        await m.flush();
        expect(m.getMetrics({ names: ['job_ms'] })[0]?.totalCount).toBe(1);
        await m.stop();
        vi.useRealTimers();
        counts.push(intervals());
      }
    } finally {
      hook.disable();
    }
    expect(counts[5]).toBe(counts[1]);
  }, 120_000);

  it('serveHttp() called under the fakes settles, and its /metrics answers', async () => {
    // A front's first load went in steps, one a turn of the event loop taken by the global
    // setImmediate: faked, serveHttp() never settled. In a fresh process, where no front has loaded.
    const code = [
      `const { PerformanceMonitor } = await import(${JSON.stringify(new URL('../dist/src/index.js', import.meta.url).href)});`,
      "const { mock } = await import('node:test');",
      "const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });",
      'await m.start();',
      "mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'setImmediate', 'Date'], now: 1_000_000 });",
      'const s = await m.serveHttp({ port: 0 });',
      'mock.timers.reset();',
      "const r = await fetch(s.metricsUrl, { headers: { host: new URL(s.url).host } });",
      "console.log('served', r.status);",
      'await r.text();',
      'await s.close();',
      'await m.stop();',
      "console.log('stopped', m.state);",
    ].join('\n');
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--no-warnings', '--input-type=module', '-e', code], { timeout: 60_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
      });
    });
    expect(out.stdout.trim().split('\n'), out.stderr).toEqual(['served 200', 'stopped stopped']);
    expect(out.code).toBe(0);
  }, 90_000);

  it("times an instrumented request in real time while the test's fake clock jumps 10 minutes during it", async () => {
    // instrument() timed requests by node:perf_hooks' performance.now(): faked by sinon, a handler that
    // advanced the test's clock by 10 minutes recorded a 600,000 ms response, and one that did not, 0 ms.
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    await m.start();
    m.instrument({ httpServer: true, httpClient: false, fetch: false });
    const server = createServer((_req, res) => {
      vi.advanceTimersByTime(600_000);
      res.end('ok');
    });
    try {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      vi.useFakeTimers({ toFake: [...FAKED] });
      // sinon's clock fakes node:perf_hooks' performance too, where vitest's replaces the global's.
      const now = vi.spyOn(hooksPerformance, 'now').mockImplementation(() => Date.now());
      const port = (server.address() as { port: number }).port;
      await new Promise<void>((resolve, reject) => {
        request({ port, host: '127.0.0.1', path: '/jobs' }, (res) => res.resume().on('end', resolve)).on('error', reject).end();
      });
      now.mockRestore();
      vi.useRealTimers();
      await m.flush();
      const [series] = m.getMetrics({ names: ['response_time'] });
      expect(series?.totalCount).toBe(1);
      expect(series!.window!.max).toBeLessThan(600_000);
    } finally {
      vi.restoreAllMocks();
      vi.useRealTimers();
      server.close();
      await m.stop();
    }
  }, 60_000);

  it("refuses serveHttp() and serveMcp() while process.nextTick is a fake clock's, naming it, where they hung", async () => {
    // sinon.useFakeTimers() fakes process.nextTick by default, and Node's listen() calls back
    // through it: the front never listened and the test hung to its timeout. A stand-in marked
    // as @sinonjs/fake-timers marks its fakes (vitest's own will not fake nextTick in a fork).
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    await m.start();
    const nextTick = process.nextTick;
    process.nextTick = Object.assign((...args: Parameters<typeof nextTick>) => nextTick(...args), { clock: {} }) as typeof nextTick;
    try {
      for (const serve of [() => m.serveHttp({ port: 0 }), () => m.serveMcp({ port: 0 })]) {
        const error = await serve().then((s) => s.close().then(() => undefined), (e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as InvalidArgumentError).field).toBe('process.nextTick');
        expect((error as Error).message).toMatch(/before installing the fake timers/);
      }
    } finally {
      process.nextTick = nextTick;
      await m.stop();
    }
    const s = await m.serveHttp({ port: 0 });
    await s.close();
  }, 60_000);
});
