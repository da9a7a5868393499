import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceMonitor } from '../dist/src/index.js';
import { CLI, quietConfig } from './mcp-helpers.js';

const HELD_START = fileURLToPath(new URL('./fixtures/held-start.mjs', import.meta.url));

describe('perfwatch serve and signals', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`serve stops its monitor cleanly on ${signal} during the start, not killed by it`, async () => {
      const release = join(mkdtempSync(join(tmpdir(), 'perfwatch-held-start-')), 'release');
      const child = spawn(process.execPath, ['--import', HELD_START, CLI, 'serve', '--http', '0', '--config', quietConfig()], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PERFWATCH_TEST_RELEASE: release },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8');
      const starting = new Promise<void>((resolve) => child.stderr.on('data', (c: string) => ((stderr += c), stderr.includes('held-start: starting') && resolve())));
      const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, sig) => resolve([code, sig])));
      await starting;
      child.kill(signal);
      // The start may end once the signal is heard (or the process ended of it).
      await Promise.race([new Promise<void>((resolve) => child.stdout.once('data', () => resolve())), exit]);
      writeFileSync(release, '');
      expect(await exit).toEqual([0, null]);
      expect(stdout).toContain(`perfwatch: ${signal} while starting: stopping once the monitor has started`);
      expect(stderr).toContain('held-start: stopped');
    });
  }

  it("profile --url ends its session on the endpoint on SIGINT in the capture, as its end does, and exits 130", async () => {
    const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    await monitor.start();
    const server = await monitor.serveMcp({ port: 0 });
    try {
      const child = spawn(process.execPath, [CLI, 'profile', '--url', server.url, '--seconds', '60'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      const capturing = new Promise<void>((resolve) => child.stderr.on('data', (c: string) => ((stderr += c), stderr.includes('capturing a cpu profile') && resolve())));
      const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, sig) => resolve([code, sig])));
      await capturing;
      expect(server.status().sessions.count).toBe(1);
      child.kill('SIGINT');
      expect(await exit).toEqual([130, null]);
      expect(stderr).toContain('perfwatch: SIGINT, ending the session at ');
      expect(server.status().sessions.count).toBe(0);
    } finally {
      await server.close();
      await monitor.stop();
    }
  });
});
