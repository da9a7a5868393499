/**
 * The CLI's words where a newcomer goes wrong: a --config written by a Windows editor (a byte
 * order mark) or not JSON, the dashboard's URL given to --url, https:// to a plain-HTTP server.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PerformanceMonitor } from '../dist/src/index.js';
import { CLI } from './mcp-helpers.js';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { timeout: 60_000 });

/** A config file of `text` (a string, written as is). */
function configFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'perfwatch-config-')), 'config.json');
  writeFileSync(path, text);
  return path;
}

describe('perfwatch CLI messages', () => {
  it('reads a --config with a UTF-8 byte order mark, and says where a file that is not JSON breaks without showing any of it', async () => {
    const options = JSON.stringify({ storage: 'memory', system: { enabled: false } });
    await expect(cli('report', '--for', '1', '--config', configFile(`\uFEFF${options}`))).resolves.toMatchObject({ stdout: expect.stringMatching(/^perfwatch report — /) });
    const cases: [string, string][] = [
      ['{\n "storage": "memory",\n "maxSeries": 100,\n}\n', 'at line 4, column 1, JSON takes a property name in double quotes (no comma before a closing })'],
      ['{"storage": SECRET-VALUE}', 'at line 1, column 13, JSON takes a value'],
      ['{"token": "SECRET\nVALUE"}', 'at line 1, column 18, JSON takes no line break or control character inside a string (\\n for a line break)'],
      ['{"storage": "memory"', 'at line 1, column 21, JSON takes a comma or a closing }, but the file ends'],
      ['', 'at line 1, column 1, JSON takes a value, but the file ends'],
    ];
    for (const [text, where] of cases) {
      await expect(cli('serve', '--config', configFile(text)), JSON.stringify(text)).rejects.toMatchObject({ code: 2, stdout: '', stderr: `perfwatch: --config is not valid JSON: ${where}\n` });
    }
  });

  it('says where the MCP endpoint is when --url names another path of a monitor, and that a server speaks plain http to https://', async () => {
    const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    await monitor.start();
    const server = await monitor.serveHttp({ port: 0 });
    const root = new URL('/', server.mcpUrl).href;
    try {
      // The dashboard's URL, which serve prints: it answered 405, said as the endpoint's own answer.
      await expect(cli('report', '--url', root)).rejects.toMatchObject({
        code: 2,
        stderr: `perfwatch: the server at ${root} answered, but not as an MCP endpoint (HTTP 405: Method Not Allowed: / takes GET): --url is the monitor's MCP endpoint, the URL serveMcp() or serveHttp() gave (its path /mcp)\n`,
      });
      await expect(cli('profile', '--url', `${root}api/status`)).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/ answered, but not as an MCP endpoint \(HTTP 405: .*\(its path \/mcp\)\n$/) });
      const https = server.mcpUrl.replace('http:', 'https:');
      await expect(cli('report', '--url', https)).rejects.toMatchObject({
        code: 2,
        stderr: `perfwatch: the server at ${new URL(https).host} speaks plain http, not https (its answer to the TLS handshake was no TLS): use --url ${server.mcpUrl}\n`,
      });
    } finally {
      await server.close();
      await monitor.stop();
    }
  });
});
