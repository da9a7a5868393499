// A step back of the wall clock, in a real process (libfaketime steps its clock from a file):
// before the monitor's clock (src/engine/monitor-clock.ts) the collector waited for the wall
// clock to reach its open bucket again, and for the step's length (two minutes here) no bucket
// closed: x's newest sample, its history and the window rule on it stood still, and a rule
// that should have fired did not. Now the monitor's clock goes on, runs ahead of the wall
// clock by the step (status().clock, a `clock-step` fault), and a step forward that puts the
// wall clock right pays it back, the rule firing throughout.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, expect, it } from 'vitest';
import { describeWithPeer } from './peers/use.js';

interface Line {
  wall: number;
  now: number;
  last: number | null;
  count: number;
  firing: number;
  clock: { aheadMs: number; steps: number; lastStepAt: number | null };
  faults: string[];
  restarts: number;
  recent: number;
}

const FIXTURE = new URL('./fixtures/clock-step-monitor.mjs', import.meta.url).pathname;
let child: ChildProcess | undefined;
let dir: string | undefined;

afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describeWithPeer('libfaketime', 'the monitor across a step back of the wall clock', (peer) => {
  it('keeps closing buckets, judging the rule and answering histories through a two-minute step back, and pays it back when the clock is put right', async () => {
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-clock-'));
    const stepFile = join(dir, 'faketime');
    writeFileSync(stepFile, '+0s\n');
    const proc = spawn(process.execPath, [FIXTURE], {
      env: { ...process.env, LD_PRELOAD: peer.binary, FAKETIME_TIMESTAMP_FILE: stepFile, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child = proc;
    const lines: Line[] = [];
    const waiters: (() => void)[] = [];
    createInterface({ input: proc.stdout! }).on('line', (text) => {
      lines.push(JSON.parse(text) as Line);
      for (const w of waiters.splice(0)) w();
    });
    const until = async (what: string, ms: number, ok: (l: Line) => boolean): Promise<Line> => {
      const deadline = performance.now() + ms;
      for (;;) {
        const found = lines.find(ok);
        if (found) return found;
        if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms; last line ${JSON.stringify(lines.at(-1))}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 500);
        });
      }
    };

    const before = await until('three seconds of x', 30_000, (l) => l.count > 0 && l.recent >= 3);
    expect(before.clock).toEqual({ aheadMs: 0, steps: 0, lastStepAt: null });
    const seen = lines.length;
    writeFileSync(stepFile, '-120s\n');
    proc.stdin!.write('high\n');
    const stepped = await until('the step found', 10_000, (l) => l.wall < before.wall && l.clock.steps === 1);
    expect(stepped.clock.aheadMs).toBeGreaterThan(118_000);
    expect(stepped.clock.aheadMs).toBeLessThan(122_000);
    // Said once the main thread's tick reads the count.
    await until('the clock-step fault', 10_000, (l) => l.faults.includes('clock-step'));
    const newestBefore = Math.max(...lines.slice(0, seen).map((l) => l.last ?? 0));
    // Buckets close: x's newest sample passes the newest before the step by seconds, its
    // history's last 3 s in the monitor's clock hold buckets, and the rule fires.
    const after = await until('buckets closing and the rule firing after the step', 20_000, (l) => l.clock.steps === 1 && l.last !== null && l.last > newestBefore + 4_000 && l.firing === 1);
    expect(after.recent).toBeGreaterThanOrEqual(2);
    expect(after.now - after.wall).toBeGreaterThan(118_000);
    expect(after.restarts).toBe(0);

    const seenBeforeFix = lines.length;
    writeFileSync(stepFile, '+0s\n');
    const fixed = await until('the step paid back', 10_000, (l) => lines.indexOf(l) >= seenBeforeFix && l.clock.aheadMs < 1_000);
    expect(fixed.clock.steps).toBe(1);
    const later = await until('two more seconds', 10_000, (l) => l.now > fixed.now + 2_000);
    // No gap: the rule fired throughout, x's samples go on from where they were.
    expect(lines.slice(lines.indexOf(after)).every((l) => l.firing === 1)).toBe(true);
    expect(later.last).toBeGreaterThan(fixed.last ?? Infinity);
    expect(later.restarts).toBe(0);

    proc.stdin!.write('stop\n');
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    expect(code).toBe(0);
  }, 90_000);
});
