import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const preload = fileURLToPath(new URL('./fixtures/monitor-preload.mjs', import.meta.url));

/**
 * The host's own code: a plain node:http server that answers 4 requests, then prints its
 * thread count (/proc/self/task) and what the preload's monitor counted of its requests.
 */
const HOST = `
import http from 'node:http';
import { readdirSync } from 'node:fs';
const server = http.createServer((req, res) => res.end('ok'));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
for (let i = 0; i < 4; i++) await (await fetch('http://127.0.0.1:' + server.address().port + '/work')).text();
// Our threads are all up (the report pool makes none until a report): the count is steady.
await new Promise((resolve) => setTimeout(resolve, 1500));
const threads = readdirSync('/proc/self/task').length;
const m = globalThis.monitor;
await m.flush();
const requests = m.getMetrics({ names: ['response_time'] }).reduce((n, s) => n + s.totalCount, 0);
const preloads = m.getMetrics({ names: ['preload_ran'] })[0]?.totalCount ?? 0;
server.close();
await m.stop();
console.log(JSON.stringify({ threads, requests, preloads, state: m.state, inert: m.status().inert }));
`;

interface Run {
  code: number | null;
  killed: boolean;
  stdout: string;
  stderr: string;
  log: { main: boolean; state: string; inert: string | null }[];
}

describe('a monitoring preload that starts perfwatch, run on our threads too', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perfwatch-preload-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The host under NODE_OPTIONS=--import of the preload (threadPreloads `mode`), ended after 20 s whatever it does. */
  function host(mode: 'inherit' | 'skip'): Promise<Run> {
    const logFile = join(dir, `${mode}.log`);
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', HOST],
        { timeout: 20_000, killSignal: 'SIGKILL', env: { ...process.env, NODE_OPTIONS: `--import ${preload}`, PERFWATCH_PRELOAD_MODE: mode, PERFWATCH_PRELOAD_LOG: logFile } },
        (error, stdout, stderr) => {
          let log: Run['log'] = [];
          try {
            log = readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Run['log'][number]);
          } catch {
            // No line: no preload got past its start().
          }
          resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, killed: error?.killed === true, stdout, stderr, log });
        },
      );
    });
  }

  it("with threadPreloads: 'inherit', the host's code runs with one monitor running and no more threads than without: on our threads the preload's monitor is inert", async () => {
    // Each of our threads ran the preload, whose monitor made threads that ran it again: 71
    // threads and 1.37 GB in 21 s, no start() ever resolved, and the host's code never ran.
    const [inherit, skip] = await Promise.all([host('inherit'), host('skip')]);
    expect(skip.code, skip.stderr).toBe(0);
    expect(inherit.killed, `still running after 20 s; the preload ran ${inherit.log.length} times`).toBe(false);
    expect(inherit.code, inherit.stderr).toBe(0);
    const out = JSON.parse(inherit.stdout.trim().split('\n').at(-1)!);
    const base = JSON.parse(skip.stdout.trim().split('\n').at(-1)!);
    // One monitor's data, whole: the host's 4 requests, the preload's own record once.
    expect(out).toMatchObject({ requests: 4, preloads: 1, state: 'stopped', inert: null });
    expect(base).toMatchObject({ requests: 4, preloads: 1 });
    // Our threads do not multiply: a thread or two of slack for libuv's pool, started on demand.
    expect(out.threads).toBeLessThanOrEqual(base.threads + 2);
    // The preload ran on the main thread, whose monitor runs, and on each of our threads, whose monitor is inert.
    const main = inherit.log.filter((l) => l.main);
    const ours = inherit.log.filter((l) => !l.main);
    expect(main).toEqual([expect.objectContaining({ state: 'running', inert: null })]);
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.length).toBeLessThan(10);
    for (const l of ours) {
      expect(l.state).toBe('stopped');
      expect(l.inert).toMatch(/^this monitor was built on one of perfwatch's own threads/);
    }
    expect(skip.log).toEqual([expect.objectContaining({ main: true, state: 'running' })]);
  }, 60_000);
});
