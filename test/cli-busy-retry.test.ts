/**
 * `perfwatch report --url` and `perfwatch profile` against an endpoint whose call gate is full
 * (cli/busy-retry.ts): a 429 is retried after its Retry-After for as long as the run's
 * --timeout lasts, each retry said on stderr; the run goes on once a place frees, and says the
 * 429 once --timeout has no room for another wait.
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

const RETRY = /^perfwatch: the MCP endpoint at 127\.0\.0\.1:\d+ is busy \(HTTP 429\); retrying in 1 s as its Retry-After says \(retry (\d+), within --timeout\)$/gm;

describe('perfwatch report and profile --url against a busy endpoint', () => {
  for (const [command, extra, answered] of [
    ['report', [], /perf|report|series/i],
    ['profile', ['--seconds', '1'], /^cpu profile 1 of the main thread/],
  ] as const) {
    it(`${command} retries a 429 after its Retry-After, saying so, past three of them, and answers once a place frees`, async () => {
      // Three retries, whatever the server said, gave up after 3 s here, and after 9 s of waits
      // on a server whose queue holds a request 10 s: the place frees after the fourth.
      const { server, free } = await fullGate();
      let freed = false;
      const run = await cli([command, '--url', server.mcpUrl, ...extra], (stderr) => {
        if (!freed && stderr.includes('(retry 4, within --timeout)')) {
          freed = true;
          free();
        }
      });
      expect(run.stderr).toMatch(RETRY);
      expect(run.stderr).not.toContain('answered HTTP 429');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(answered);
      expect(server.status().mcp.calls.refusedBusy).toBeGreaterThanOrEqual(4);
    }, 120_000);

    it(`${command} gives up once --timeout leaves no room for the wait the server asks, saying the 429`, async () => {
      const { server } = await fullGate();
      const run = await cli([command, '--url', server.mcpUrl, '--timeout', '4', ...extra]);
      expect(run.code).toBe(2);
      const retries = [...run.stderr.matchAll(RETRY)].map((m) => Number(m[1]));
      expect(retries.length).toBeGreaterThan(0);
      expect(retries).toEqual(retries.map((_, i) => i + 1));
      expect(run.stderr).toMatch(/is busy \(HTTP 429\) and asks for 1 s before a retry, more than --timeout leaves \(\d+ s\); giving up, a longer --timeout waits longer\n/);
      expect(run.stderr).toContain(`the MCP endpoint at ${server.mcpUrl} answered HTTP 429: `);
      expect(run.stderr).toContain('maxCallsInProgress');
      // Said as the endpoint's busy answer, not as a server that did not answer.
      expect(run.stderr).not.toContain('did not answer');
      expect(server.status().mcp.calls.refusedBusy).toBe(retries.length + 1);
    }, 120_000);
  }
});
