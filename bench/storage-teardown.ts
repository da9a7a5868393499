/**
 * How often a storage thread's end takes its process down: `node dist/bench/storage-teardown.js`
 * (after `npm run build`). Not a speed figure: a fault rate, for the Node 20 teardown defect
 * that src/storage/collect-garbage.ts works around.
 *
 * Runs test/fixtures/sqlite-closer.mjs's BENCH_MODE (default `actor-exit`: a monitor with a
 * dataDir whose storage actor is ended three times by process.exit() in its thread, then
 * stop(); `actor-kill`: the same actor terminated by the watchdog three times, which
 * src/actors/close-first.ts covers; `host-exit`: the host calls process.exit() while its
 * monitor runs; `stall-kill` and `stall-exit`: the actor killed, or the host exiting, while it
 * is in one statement of seconds, the 'stall' drill; `host-thread-terminated`: a host's worker
 * thread that holds the monitor terminated by the host, which nothing covers) BENCH_RUNS times
 * (default 120), one child process after another, with the allocator settings of
 * test/sqlite-close.test.ts (a read of freed memory then crashes for certain), while
 * BENCH_BUSY busy loops (default 2: both cores of this machine) keep the cores taken, which is
 * when the crash showed. Prints the runs that died, by signal and by the step the fixture had
 * begun. BENCH_ROOT: another checkout's root (built), to run its fixture and dist instead.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.env.BENCH_RUNS ?? 120);
const MODE = process.env.BENCH_MODE ?? 'actor-exit';
const BUSY = Number(process.env.BENCH_BUSY ?? 2);
const ROOT = resolve(process.env.BENCH_ROOT ?? join(fileURLToPath(import.meta.url), '../../..'));
const FIXTURE = join(ROOT, 'test/fixtures/sqlite-closer.mjs');
const ALLOCATOR = { GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0', MALLOC_PERTURB_: '118' };

interface Run {
  signal: NodeJS.Signals | null;
  code: number | null;
  step: string;
}

function once(dir: string): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--expose-gc', FIXTURE, MODE, dir], { cwd: dir, env: { ...process.env, ...ALLOCATOR }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const steps = [...out.matchAll(/^step (.+)$/gm)].map((m) => m[1]!);
      done({ code, signal, step: out.includes('done') ? 'done' : (steps.at(-1) ?? 'start') });
    });
  });
}

async function main(): Promise<void> {
  if (process.argv[2] === 'busy') for (;;) Math.random();
  const load = loadavg()[0]!.toFixed(2);
  const busy: ChildProcess[] = Array.from({ length: BUSY }, () => fork(fileURLToPath(import.meta.url), ['busy'], { stdio: 'ignore' }));
  const died: Run[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'pw-teardown-'));
      const r = await once(dir);
      rmSync(dir, { recursive: true, force: true });
      if (r.signal !== null || r.code !== 0) {
        died.push(r);
        process.stderr.write(`  run ${i + 1}: ${r.signal ?? `exit code ${r.code}`} at step "${r.step}"\n`);
      }
    }
  } finally {
    for (const b of busy) b.kill('SIGKILL');
  }
  console.log(`\nstorage thread teardown (${MODE}) — ${new Date().toISOString()}, Node ${process.version}, ${ROOT}, ${BUSY} busy loops, load ${load} → ${loadavg()[0]!.toFixed(2)}`);
  const by = new Map<string, number>();
  for (const r of died) {
    const key = `${r.signal ?? `code ${r.code}`} at "${r.step}"`;
    by.set(key, (by.get(key) ?? 0) + 1);
  }
  console.log(`runs that died: ${died.length} of ${RUNS}${by.size > 0 ? ` (${[...by].map(([k, n]) => `${n} ${k}`).join(', ')})` : ''}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
