/**
 * A service's test suite that starts the monitor on a dataDir whose previous owner died, under
 * a test runner's fake timers (sinon's list, whose clock starts at the epoch): start() takes the
 * lock over, or refuses, on real time.
 */
import { mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { FAKED, realSetTimeout } from './fake-timers-helpers.js';

const monitors: PerformanceMonitor[] = [];

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

function startStale(dir: string): Promise<string> {
  const m = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false } });
  monitors.push(m);
  const started = m.start().then(
    () => 'started',
    (error: unknown) => (error as Error).message,
  );
  return Promise.race([started, new Promise<string>((resolve) => realSetTimeout(() => resolve('start() unsettled after 30 s of real time'), 30_000))]);
}

function startOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

function dataDir(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'pw-fake-lock-')), 'data');
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe("a stale lock under a test runner's fake timers", () => {
  it('takes over an empty lock its maker died writing a minute ago, with the fake clock at the epoch', async () => {
    // The takeover looked at an empty lock again after a global setTimeout of 50 ms (faked:
    // start() never settled), and judged its age by the fake Date.now() (0: "written under
    // 5 s ago", refused for as long as the fakes held).
    const dir = dataDir();
    const lock = join(dir, 'perfwatch.lock');
    writeFileSync(lock, '');
    const old = (Date.now() - 60_000) / 1000;
    utimesSync(lock, old, old);
    vi.useFakeTimers({ toFake: [...FAKED], now: 0 });
    expect(await startStale(dir)).toBe('started');
    expect(readFileSync(lock, 'utf8')).toBe(`${process.pid} ${startOf(process.pid)}\n`);
  }, 60_000);

  it("refuses after its real 2 s while another live process holds the takeover of a dead owner's lock", async () => {
    // It waited on that process in global setTimeouts of 10 ms (faked: start() never settled)
    // until a deadline on the fake Date.now() (which never passes while the fakes hold).
    const dir = dataDir();
    writeFileSync(join(dir, 'perfwatch.lock'), '999999999\n');
    const guard = join(dir, 'perfwatch.lock.takeover');
    writeFileSync(guard, `${process.ppid} ${startOf(process.ppid)}\n`);
    vi.useFakeTimers({ toFake: [...FAKED], now: 0 });
    expect(await startStale(dir)).toBe(`${dir}: cannot be taken: pid ${process.ppid} has held ${guard} for 2 s, taking over a dead monitor's lock; try again, or remove that file if pid ${process.ppid} is no perfwatch monitor`);
    expect(readFileSync(join(dir, 'perfwatch.lock'), 'utf8')).toBe('999999999\n');
  }, 60_000);
});
