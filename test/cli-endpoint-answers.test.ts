import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { PerformanceMonitor } from '../dist/src/index.js';
import { CLI } from './mcp-helpers.js';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });

/** Runs `check` with the URL of a server answering every request with `answer`. */
async function withServer(answer: RequestListener, check: (url: string) => Promise<void>): Promise<void> {
  const server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await check(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('perfwatch report and profile --url against a server that is not a monitor', () => {
  it('say that a server that took the connection and never answered did not answer within --timeout', async () => {
    // Before, they waited the SDK's 60 s, then said "cannot reach" as if nothing listened.
    await withServer(
      () => {},
      async (url) => {
        for (const command of ['profile', 'report']) {
          await expect(cli(command, '--url', url, '--timeout', '1'), command).rejects.toMatchObject({
            code: 2,
            stderr: `perfwatch: the server at ${url} did not answer within 1 s: is it the monitor's MCP endpoint, and running? --timeout waits longer\n`,
          });
        }
      },
    );
  });

  it('profile waits for a capture longer than --timeout: its wait covers the capture', async () => {
    const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    await monitor.start();
    const server = await monitor.serveMcp({ port: 0 });
    try {
      // --timeout leaves the endpoint room to answer the others on a loaded machine, and is shorter than the capture.
      const { stdout } = await cli('profile', '--url', server.url, '--seconds', '8', '--timeout', '5');
      expect(stdout).toMatch(/^cpu profile 1 of the main thread, 8(\.\d+)? s from /);
    } finally {
      await server.close();
      await monitor.stop();
    }
  });

  it('say what a server that answers an error with a body of megabytes said in one line of bounded length', async () => {
    await withServer(
      (req, res) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`upstream failed\n${'x'.repeat(2_000_000)}`),
      async (url) => {
        for (const command of ['profile', 'report']) {
          const failed = await cli(command, '--url', url).then(() => undefined, (error: { code: number; stderr: string }) => error);
          expect(failed?.code, command).toBe(2);
          expect(failed!.stderr, command).toMatch(new RegExp(`^perfwatch: the MCP endpoint at ${url} answered HTTP 500: Error POSTing to endpoint: upstream failed x+… \\(cut: \\d+ characters in all\\)\\n$`));
          expect(failed!.stderr.length, command).toBeLessThan(1000);
        }
      },
    );
  });

  it('say that a server answering JSON that is not JSON-RPC is not an MCP endpoint, in one line', async () => {
    await withServer(
      (req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok","items":[1,2,3]}'),
      async (url) => {
        for (const command of ['profile', 'report']) {
          await expect(cli(command, '--url', url), command).rejects.toMatchObject({
            code: 2,
            stderr: `perfwatch: the server at ${url} answered, but not as an MCP endpoint (its JSON is not JSON-RPC): --url is the monitor's MCP endpoint, the URL serveMcp() or serveHttp() gave (its path /mcp)\n`,
          });
        }
      },
    );
  });
});
