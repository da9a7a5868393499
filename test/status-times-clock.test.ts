// The times a user reads beside the monitor's (status, rules, exporters) are in the monitor's
// clock (engine/monitor-clock.ts), which runs ahead of Date.now() after a step back of the wall
// clock. A fault's lastAt, a rule's createdAt and an exporter's error and success times were
// Date.now(): after a 10-minute step back, get_monitoring_status said the newest fault came
// "600 s ago" as it came, and a rule read as created 10 minutes before the monitor's now.
// The seam: the monitor reads the wall clock through engine/real-timers.ts, bound at load, so
// a Date.now() stepped back here is a wall clock the monitor's clock runs 10 minutes ahead of.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { Endpoint } from '../dist/src/export/endpoint.js';

const STEP_MS = 600_000;

afterEach(() => {
  vi.restoreAllMocks();
});

function stepBack(): void {
  const real = Date.now.bind(Date);
  vi.spyOn(Date, 'now').mockImplementation(() => real() - STEP_MS);
}

describe("times said beside the monitor's clock", () => {
  it("stamps a fault and a rule's creation in the monitor's clock, not the wall clock stepped back", async () => {
    const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    await monitor.start();
    try {
      stepBack();
      const before = monitor.now();
      (monitor as unknown as { faults: { report(kind: string, e: unknown): void } }).faults.report('test-fault', new Error('a fault of the test'));
      const rule = await monitor.createAlertRule({ name: 'late', metric: 'jobs', aggregation: 'max', window: 5, operator: '>', threshold: 1 });
      const after = monitor.now();
      const fault = monitor.status().faults.byKind['test-fault']!;
      expect(fault.lastAt).toBeGreaterThanOrEqual(before);
      expect(fault.lastAt).toBeLessThanOrEqual(after);
      expect(rule.createdAt).toBeGreaterThanOrEqual(before);
      expect(rule.createdAt).toBeLessThanOrEqual(after);
    } finally {
      vi.restoreAllMocks();
      await monitor.stop();
    }
  });

  it("stamps an exporter's error and success in the clock it is given", async () => {
    let answer = 500;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(answer).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/receive`;
    stepBack();
    let clock = 5_000_000;
    const e = new Endpoint({ kind: 'remoteWrite', url, headers: {}, timeoutMs: 10_000, queueLimit: 4, retryBaseMs: 60_000, retryMaxMs: 60_000, maxSamplesPerRequest: 5_000, now: () => clock });
    try {
      e.enqueue([{ body: new Uint8Array(16), samples: 3, at: clock }]);
      await e.drain();
      expect(e.status(clock).lastError).toMatchObject({ status: 500, at: 5_000_000 });
      answer = 200;
      clock = 6_000_000;
      e.enqueue([{ body: new Uint8Array(16), samples: 3, at: clock }]);
      e.close();
      const e2 = new Endpoint({ kind: 'remoteWrite', url, headers: {}, timeoutMs: 10_000, queueLimit: 4, retryBaseMs: 60_000, retryMaxMs: 60_000, maxSamplesPerRequest: 5_000, now: () => clock });
      e2.enqueue([{ body: new Uint8Array(16), samples: 3, at: clock }]);
      await e2.drain();
      expect(e2.status(clock)).toMatchObject({ sent: 3, lastSuccessAt: 6_000_000 });
      e2.close();
    } finally {
      e.close();
      server.close();
    }
  });
});
