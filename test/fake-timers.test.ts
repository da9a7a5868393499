import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { monitorStarter } from './helpers.js';
import { FAKED, realSetTimeout, realSleep, realWait } from './fake-timers-helpers.js';

// Teams start the monitor from their app module, so their tests run it under a test runner's
// fake timers (jest.useFakeTimers(), vi.useFakeTimers(), node:test's mock.timers, sinon's).

const started = monitorStarter();

afterEach(() => {
  vi.useRealTimers();
});

describe('under a test runner\'s fake timers', () => {
  it('reads back the samples a test recorded after advancing fake time by two minutes', async () => {
    // The collector stamps samples by the real clock, in a thread the fakes never reach; the
    // host's reads took "now" from the fake Date: the window was two minutes ahead of every
    // sample, and the test read count 0 of the samples it had just recorded.
    const m = await started();
    const jobs = m.metric('job_ms');
    jobs.record(5);
    vi.useFakeTimers({ toFake: [...FAKED] });
    vi.advanceTimersByTime(120_000);
    jobs.record(7);
    await m.flush();
    const [series] = m.getMetrics({ names: ['job_ms'] });
    expect(series?.totalCount).toBe(2);
    expect(series?.window?.count).toBe(2);
    expect(series?.window?.sum).toBe(12);
    expect(m.now()).toBeLessThan(Date.now());
  });

  it('captures a profile of the real seconds asked', async () => {
    // The capture's end was a timer of the global's: faked, profile() never settled.
    const m = await started();
    vi.useFakeTimers({ toFake: [...FAKED] });
    const capture = m.profile({ kind: 'cpu', seconds: 1 }).then((c) => c.kind);
    expect(await Promise.race([capture, realSleep(30_000).then(() => 'still capturing after 30 s of real time')])).toBe('cpu');
  }, 60_000);

  it("holds a resolved alert its real resolveHoldMs, then posts it", async () => {
    // The hold before a resolution is posted was a timer of the global's: faked, the resolved
    // notification never went out, and a test of the service's alerting waited for it for good.
    const bodies: { status: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        bodies.push(JSON.parse(body));
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const m = await started({ alerts: { webhooks: [`http://127.0.0.1:${(server.address() as { port: number }).port}/hook`], resolveHoldMs: 300 } });
      await m.createAlertRule({ name: 'backlog', metric: 'queue_size', operator: '>', threshold: 100 });
      vi.useFakeTimers({ toFake: [...FAKED] });
      m.record('queue_size', 500);
      await realWait(() => bodies.length === 1, 20_000, 'the firing webhook');
      m.record('queue_size', 5);
      await realWait(() => bodies.length === 2, 20_000, 'the resolved webhook, held 300 ms');
      expect(bodies.map((b) => b.status)).toEqual(['firing', 'resolved']);
    } finally {
      server.close();
    }
  }, 60_000);

  it("starts, records and reads back with node:test's mock.timers enabled before perfwatch loads, in a host with nothing else to keep it alive", async () => {
    // The hold that keeps a host alive while start() waits on our threads was an interval: a
    // fake one held nothing, and the test's process ended with start() unsettled ("Promise
    // resolution is still pending but the event loop has already resolved").
    const code = [
      "import { mock } from 'node:test';",
      "mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'setImmediate', 'Date'], now: 1_000_000 });",
      `const { PerformanceMonitor } = await import(${JSON.stringify(new URL('../dist/src/index.js', import.meta.url).href)});`,
      "const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });",
      "process.on('exit', () => console.log('exit', m.status().state));",
      'await m.start();',
      "m.record('job_ms', 5);",
      'mock.timers.tick(120_000);',
      "m.record('job_ms', 7);",
      'await m.flush();',
      "const [s] = m.getMetrics({ names: ['job_ms'] });",
      "console.log('read', m.status().state, s.totalCount, s.window.count);",
      'await m.stop();',
    ].join('\n');
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, ['--no-warnings', '--input-type=module', '-e', code], { timeout: 60_000 }, (error, stdout) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout });
      });
    });
    expect(out.stdout.trim().split('\n')).toEqual(['read running 2 2', 'exit stopped']);
    expect(out.code).toBe(0);
  }, 90_000);
});
