/**
 * A collector waiting for a CPU is not hung: its thread put in a real cgroup that lets it and a
 * busy process beside it run 100 ms in every second (root and a writable cgroup v1 cpu
 * hierarchy, as on the CI machine: test/cpu-limit-cgroup.test.ts; elsewhere skipped) waits up
 * to 900 ms at a time, ready to run, and the kernel counts none of a wait until it ends. The watchdog replaced such a
 * collector as hung ("no heartbeat for 1283 ms") on a loaded machine several times a minute;
 * now it waits for it, and a collector hung in a loop under the same limit is still replaced.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./fixtures/starved-collector.mjs', import.meta.url));
const V1 = '/sys/fs/cgroup/cpu';
const limitable = process.getuid?.() === 0 && existsSync(`${V1}/cpu.cfs_quota_us`) && existsSync(`${V1}/tasks`);
/** This process's cgroup in the cpu hierarchy, where the collector's thread goes back to. */
const home = limitable ? (/^\d+:[^:]*\bcpu\b[^:]*:(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/').replace(/\/$/, '') : '';

/** Moves thread `tid` into the cgroup `dir`; false when the thread is gone. */
function move(tid: number, dir: string): boolean {
  try {
    writeFileSync(`${dir}/tasks`, String(tid));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

describe.skipIf(!limitable)('a collector whose thread waits for a CPU its cgroup withholds', () => {
  it('is not replaced as hung, and one hung in a loop there still is', async () => {
    const dir = `${V1}/perfwatch-starved-collector-${process.pid}`;
    mkdirSync(dir);
    writeFileSync(`${dir}/cpu.cfs_period_us`, '1000000');
    writeFileSync(`${dir}/cpu.cfs_quota_us`, '100000');
    // The busy process takes each second's 100 ms at its start; the collector then waits for the next.
    const hog = spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' });
    const child = spawn(process.execPath, [CHILD, '8'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b));
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async (): Promise<string> => String((await lines.next()).value);
    const say = (line: string): void => void child.stdin!.write(line + '\n');
    let tid = 0;
    try {
      tid = (JSON.parse(await next()) as { tid: number }).tid;
      expect(tid, err).toBeGreaterThan(0);
      writeFileSync(`${dir}/cgroup.procs`, String(hog.pid));
      expect(move(tid, dir)).toBe(true);
      say('run');
      const ran = JSON.parse(await next()) as { exits: { actor: string; hung: boolean; error: string }[] };
      // The limit held the cgroup back most of the 8 s.
      const stat = Object.fromEntries(readFileSync(`${dir}/cpu.stat`, 'utf8').trim().split('\n').map((l) => l.split(' ')));
      expect(Number(stat.nr_throttled), JSON.stringify(stat)).toBeGreaterThanOrEqual(3);
      expect(Number(stat.throttled_time) / 1e6, JSON.stringify(stat)).toBeGreaterThanOrEqual(4000);
      // None replaced: before, the collector "no heartbeat for 739 ms" and the like, once or more
      // in the 8 s, and the alert actor, asleep behind it, "no heartbeat for 1302 ms".
      expect(ran.exits, err).toEqual([]);
      // Hung in a loop under the same limit: replaced still (MAX_STARVED_MS past its deadline at most).
      say('hang');
      const { exit } = JSON.parse(await next()) as { exit: { actor: string; hung: boolean; error: string } | null };
      expect(exit, err).toEqual({ actor: 'collector', hung: true, error: expect.stringMatching(/^collector: no heartbeat for \d+ ms/) });
      say('end');
    } finally {
      if (tid > 0) move(tid, `${V1}${home}`);
      for (const p of [child, hog]) {
        p.kill('SIGKILL');
        await new Promise((resolve) => (p.exitCode === null && p.signalCode === null ? p.once('close', resolve) : resolve(undefined)));
      }
      rmdirSync(dir);
    }
  }, 120_000);
});
