import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { CLI } from './mcp-helpers.js';

const run = promisify(execFile);
const RULE = 'must be 16 to 4096 characters without spaces or control characters (for example: openssl rand -hex 32)';

/** Runs `check` with the URL of a server that counts the requests it gets. */
async function withCountingServer(check: (url: string, requests: () => number) => Promise<void>): Promise<void> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await check(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, () => requests);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('perfwatch report and profile --url with a token against the rule', () => {
  it('refuse a --token or PERFWATCH_TOKEN against the rule before any request, naming the flag or the variable and the rule, never showing the token', async () => {
    const secret = 'my-real-secret-123456';
    await withCountingServer(async (url, requests) => {
      const cases: { args: string[]; env?: string; field: string; fault: string }[] = [
        { args: ['report', '--url', url], env: `${secret}\r\nx`, field: 'PERFWATCH_TOKEN', fault: 'it holds a control character (a line break, a tab, …)' },
        { args: ['profile', '--url', url, '--token', `${secret}\rx`], field: '--token', fault: 'it holds a control character (a line break, a tab, …)' },
        { args: ['report', '--url', url, '--token', `${secret} x`], field: '--token', fault: 'it holds a space' },
        { args: ['profile', '--url', url], env: 'short-secret', field: 'PERFWATCH_TOKEN', fault: 'it has 12 characters' },
        { args: ['report', '--url', url, '--token', ''], env: `${secret}-env`, field: '--token', fault: 'it has 0 characters' },
      ];
      for (const c of cases) {
        const env = { ...process.env, PERFWATCH_TOKEN: c.env ?? '' };
        const failed = await run(process.execPath, [CLI, ...c.args], { timeout: 30_000, env }).then(
          () => undefined,
          (error: { code: number; stdout: string; stderr: string }) => error,
        );
        expect(failed, c.args.join(' ')).toMatchObject({ code: 2, stdout: '', stderr: `perfwatch: ${c.field} ${RULE}; ${c.fault}\n` });
        for (const piece of ['my-real', 'secret', '123456', 'short']) expect(failed!.stderr, c.args.join(' ')).not.toContain(piece);
      }
      expect(requests()).toBe(0);
    });
  });
});
