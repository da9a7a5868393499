import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PerformanceMonitor } from '../dist/src/index.js';
import { CLI } from './mcp-helpers.js';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });

describe('perfwatch report: the pages of its closing list', () => {
  it("says how to get the series past the list's 1000 with its own flags, and --offset gives them", async () => {
    const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    await monitor.start();
    const server = await monitor.serveMcp({ port: 0 });
    try {
      for (let i = 0; i < 1010; i++) monitor.record('paged', i, { n: String(i) });
      await monitor.flush();
      const first = (await cli('report', '--url', server.url)).stdout;
      const list = first.slice(first.lastIndexOf('\n', first.indexOf(' series, last ')));
      expect(list).toMatch(/^\n\d+ series, last 60s .*\(showing 1000: pass --offset 1000 for the next page, or --metrics to choose\)$/m);
      expect(list).not.toMatch(/metric_types|pass offset/);
      const next = (await cli('report', '--url', server.url, '--offset', '1000')).stdout;
      // The monitor's own series may have grown between the two runs: the page holds the rest.
      const [, total, shown] = /^(\d+) series, last 60s .*\(showing (\d+) from offset 1000\)$/m.exec(next) ?? [];
      expect(Number(shown)).toBe(Number(total) - 1000);
      expect(Number(shown)).toBeGreaterThanOrEqual(10);
      await expect(cli('report', '--url', server.url, '--offset', '-1')).rejects.toMatchObject({ code: 2, stderr: 'perfwatch: --offset must be an integer from 0 to 9007199254740991, got "-1"\n' });
    } finally {
      await server.close();
      await monitor.stop();
    }
  });
});
