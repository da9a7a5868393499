/**
 * `perfwatch report --url` and `perfwatch profile` against an endpoint whose call gate is full
 * (cli/busy-retry.ts): a 429 is retried after its Retry-After, at most BUSY_RETRIES times,
 * each retry said on stderr; the run goes on once a place frees, and says the 429 past them.
 * The gate is held by an /api request whose body is left unfinished (its place is taken before
 * the body is read), so the test, not a clock, decides when it frees.
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type HttpServer } from '../dist/src/index.js';
import { waitFor } from './helpers.js';
import { CLI } from './mcp-helpers.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

/** A server of one place and no queue, the place held until `free()`. */
async function fullGate(): Promise<{ server: HttpServer; free: () => void }> {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
  await monitor.start();
  cleanup.push(() => monitor.stop());
  const server = await monitor.serveHttp({ port: 0, maxCallsInProgress: 1, maxQueuedCalls: 0, callQueueMs: 1000 });
  cleanup.push(() => server.close());
  const port = new URL(server.url).port;
  const socket: Socket = connect(Number(port), '127.0.0.1');
  cleanup.push(async () => socket.destroy());
  socket.on('error', () => {});
  socket.write(`POST /api/reports HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{`);
  await waitFor(() => server.status().mcp.calls.inProgress === 1, 20_000, 'the held request to take the place');
  return { server, free: () => socket.write('}') };
}

/** Runs the CLI; `onStderr` sees its stderr as it grows. */
function cli(args: string[], onStderr: (text: string) => void = () => {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr(stderr);
    });
    const timer = setTimeout(() => child.kill(), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const RETRY = /^perfwatch: the MCP endpoint at 127\.0\.0\.1:\d+ is busy \(HTTP 429\); retrying in 1 s as its Retry-After says \(retry (\d) of 3\)$/gm;

describe('perfwatch report and profile --url against a busy endpoint', () => {
  for (const [command, extra, answered] of [
    ['report', [], /perf|report|series/i],
    ['profile', ['--seconds', '1'], /^cpu profile 1 of the main thread/],
  ] as const) {
    it(`${command} retries a 429 after its Retry-After, saying so, and answers once a place frees`, async () => {
      const { server, free } = await fullGate();
      let freed = false;
      const run = await cli([command, '--url', server.mcpUrl, ...extra], (stderr) => {
        if (!freed && stderr.includes('(retry 1 of 3)')) {
          freed = true;
          free();
        }
      });
      expect(run.stderr).toMatch(RETRY);
      expect(run.stderr).not.toContain('answered HTTP 429');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(answered);
      expect(server.status().mcp.calls.refusedBusy).toBeGreaterThan(0);
    }, 120_000);

    it(`${command} gives up after 3 retries of a gate that stays full, saying the 429`, async () => {
      const { server } = await fullGate();
      const run = await cli([command, '--url', server.mcpUrl, ...extra]);
      expect(run.code).toBe(2);
      expect([...run.stderr.matchAll(RETRY)].map((m) => m[1])).toEqual(['1', '2', '3']);
      expect(run.stderr).toContain(`the MCP endpoint at ${server.mcpUrl} answered HTTP 429: `);
      expect(run.stderr).toContain('maxCallsInProgress');
      expect(server.status().mcp.calls.refusedBusy).toBe(4);
    }, 120_000);
  }
});
