/**
 * perfwatch serve --http-max-metrics-bytes: serveHttp's maxMetricsBytes from the CLI. The CLI
 * had no way to set it: `perfwatch serve --http` always served /metrics under the 64 MiB default.
 */
import { describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CLI, quietConfig } from './mcp-helpers.js';
import { waitFor } from './helpers.js';

const run = promisify(execFile);
const WIDE_SERIES = fileURLToPath(new URL('./fixtures/wide-series.mjs', import.meta.url));

/** A usage error of perfwatch serve: exit code 2 and this one line. */
async function usage(args: string[], line: string): Promise<void> {
  await expect(run(process.execPath, [CLI, 'serve', ...args, '--config', quietConfig()], { timeout: 60_000 }), args.join(' ')).rejects.toMatchObject({ code: 2, stderr: `perfwatch: ${line}\n` });
}

describe('perfwatch serve --http-max-metrics-bytes', () => {
  it('bounds the /metrics body of --http: series past it left out, said in the comment line and in /api/status', async () => {
    const bound = 65536;
    const child = spawn(process.execPath, ['--import', WIDE_SERIES, CLI, 'serve', '--http', '0', '--http-max-metrics-bytes', String(bound), '--config', quietConfig({ runtime: { enabled: false }, maxTagValueLength: 4096 })], { stdio: ['ignore', 'pipe', 'pipe'] });
    const code = new Promise((resolve) => child.once('exit', resolve));
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      const url = await new Promise<string>((resolve) => child.stdout.on('data', (c: string) => ((out += c), /dashboard at (http:\/\/127\.0\.0\.1:\d+\/) /.exec(out) && resolve(/dashboard at (\S+) /.exec(out)![1]!))));
      // The 40 series of some 17 KB each are some 700 KB: the bound keeps a few, whole.
      const text = await waitFor(async () => {
        const t = await (await fetch(new URL('metrics', url))).text();
        return t.includes('# perfwatch:') && t;
      }, 20_000, 'an exposition cut by the bound');
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(bound);
      const kept = text.match(/^wide_count\{/gm)?.length ?? 0;
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(40);
      expect(text).toMatch(new RegExp(`\\n# perfwatch: ${40 - kept} series left out \\(wide ${40 - kept}\\) to hold this exposition to maxMetricsBytes \\(${bound} bytes;`));
      const status = (await (await fetch(new URL('api/status', url))).json()) as { http: { metrics: { maxBytes: number; leftOut: { series: number } } } };
      expect(status.http.metrics.maxBytes).toBe(bound);
      expect(status.http.metrics.leftOut.series).toBe(40 - kept);
    } finally {
      child.kill('SIGINT');
    }
    expect(await code).toBe(0);
  });

  it('refuses a value out of range or no integer, naming the flag and its range, and the flag without --http', async () => {
    await usage(['--http', '0', '--http-max-metrics-bytes', '65535'], '--http-max-metrics-bytes must be an integer number of bytes from 65536 to 1073741824, got "65535"');
    await usage(['--http', '0', '--http-max-metrics-bytes', '1073741825'], '--http-max-metrics-bytes must be an integer number of bytes from 65536 to 1073741824, got "1073741825"');
    await usage(['--http', '0', '--http-max-metrics-bytes', '64MB'], '--http-max-metrics-bytes must be an integer number of bytes from 65536 to 1073741824, got "64MB"');
    await usage(['--http', '0', '--http-max-metrics-bytes'], '--http-max-metrics-bytes must be followed by an integer number of bytes from 65536 to 1073741824, got the flag --config');
    await usage(['--http-max-metrics-bytes', '65536'], '--http-max-metrics-bytes goes with --http (the server whose /metrics it bounds)');
  });
});
