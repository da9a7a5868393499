import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PerformanceMonitor } from '../dist/src/index.js';
import { CLI } from './mcp-helpers.js';

const run = promisify(execFile);

describe("perfwatch report: the figures of its closing list", () => {
  it('shows every figure of a line by one rule, 6 significant digits: no float noise, and a mean apart from the max it is not', async () => {
    const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    await monitor.start();
    const server = await monitor.serveMcp({ port: 0 });
    try {
      monitor.record('price', 0.1 + 0.2);
      for (const v of [997, 998]) monitor.record('req_time', v, { route: '/r997' });
      monitor.record('report_time', 333.59509100000014);
      monitor.define({ name: 'queue_depth', kind: 'gauge' });
      monitor.record('queue_depth', 0.1 + 0.2);
      await monitor.flush();
      const { stdout } = await run(process.execPath, [CLI, 'report', '--url', server.url, '--metrics', 'price,req_time,report_time,queue_depth'], { timeout: 60_000 });
      const lines = stdout.trimEnd().split('\n');
      const line = (name: string): string => lines.find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))!;
      // One sample of 0.1 + 0.2: its quantiles and max read 0.30000000000000004.
      expect(line('price')).toBe('price 0.3  p50 0.3 p90 0.3 p99 0.3 max 0.3  n=1');
      // The mean, 997.5, read `998`, the max beside it.
      expect(line('req_time')).toMatch(/^req_time\{route="\/r997"\} 997\.5 {2}p50 \S+ p90 \S+ p99 \S+ max 998 {2}n=2$/);
      expect(line('report_time')).toBe('report_time 333.595  p50 333.595 p90 333.595 p99 333.595 max 333.595  n=1');
      expect(line('queue_depth')).toBe('queue_depth 0.3  n=1');
      expect(stdout).not.toMatch(/\d\.\d{7,}/);
    } finally {
      await server.close();
      await monitor.stop();
    }
  });
});
