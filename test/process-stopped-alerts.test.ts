// A process stopped whole (SIGSTOP and SIGCONT, a VM or laptop suspended, `docker pause`, a
// debugger's pause) stops the monitor's threads with the host's: nobody watched that gap. In
// a trial a 60 s SIGSTOP of a service made every `count(jobs[5s]) < 1` and `rate(jobs[5s]) < 40`
// rule fire on SIGCONT with value 0 and resolve within a second (a notification pair per rule
// per stop). The collector now finds such a stop (engine/freeze-watch.ts) and the gap counts as
// the time between a stop() and a start(): a window over it is judged on the part watched.
// The event-loop lag across it is not the stop's length, and the stop is said as a fault.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { afterFreeze } from '../dist/src/analysis/watched.js';
import { CONTROL_BYTES, controlViews } from '../dist/src/engine/control.js';
import { FreezeWatch, lastFreeze } from '../dist/src/engine/freeze-watch.js';

const FIXTURE = new URL('./fixtures/stopped-process-monitor.mjs', import.meta.url);

interface Line {
  now: number;
  count: number;
  rate: number | null;
  transitions: string[];
  restarts: number;
  faults: string[];
  stopped: string | null;
}

let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  child = undefined;
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a process stopped and resumed', () => {
  /** Starts the fixture (with `args`), watches it 5 s, stops it for 8 s and resumes it: the line before the stop and one 6 s past the resume. */
  async function stopAndResume(args: string[]): Promise<{ before: Line; after: Line }> {
    child = spawn(process.execPath, [FIXTURE.pathname, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines: Line[] = [];
    let waiter: (() => void) | undefined;
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (!l.startsWith('{')) return;
      lines.push(JSON.parse(l) as Line);
      waiter?.();
    });
    const until = async (what: string, ok: (l: Line) => boolean): Promise<Line> => {
      for (;;) {
        const hit = lines.find(ok);
        if (hit) return hit;
        if (child!.exitCode !== null) throw new Error(`the fixture ended before ${what}`);
        await new Promise<void>((r) => (waiter = r));
      }
    };
    const first = await until('its first line', () => true);
    // Watched for longer than the rules' windows, samples flowing.
    await until('5 s watched', (l) => l.now >= first.now + 5_000 && l.count > 0);
    const before = lines[lines.length - 1]!;
    child.kill('SIGSTOP');
    await sleep(8_000);
    child.kill('SIGCONT');
    // Past the windows over the gap, and past the resume by a window and more.
    const after = await until('6 s past the resume', (l) => l.now >= before.now + 8_000 + 6_000);
    child.stdin!.write('stop\n');
    return { before, after };
  }

  it.skipIf(process.platform !== 'linux')('fires no rule on the gap of a SIGSTOP: count and rate rules judge the part watched', async () => {
    const { before, after } = await stopAndResume([]);
    expect(after.count).toBeGreaterThan(before.count);
    expect(after.transitions).toEqual([]);
    expect(after.restarts).toBe(0);
  }, 60_000);

  // The event loop's lag across the stop read as the stop's length (59,979 ms after a 60 s
  // SIGSTOP): `max(event_loop_lag) > 1000` fired after every stop and resolved 5 s later.
  // The loop was not late, the process was stopped: the lag leaves the stop out, and the
  // stop is said as what it was, a `process-stopped` fault with its length.
  it.skipIf(process.platform !== 'linux')('reads no event-loop lag from a SIGSTOP, and says the process was stopped', async () => {
    const { before, after } = await stopAndResume(['runtime']);
    expect(before.faults).not.toContain('process-stopped');
    expect(after.transitions).toEqual([]);
    expect(after.faults).toContain('process-stopped');
    expect(after.stopped).toMatch(/^the whole process was stopped for \d+\.\d s \(SIGSTOP/);
    expect(after.restarts).toBe(0);
  }, 60_000);

  it('leaves the stop out of the run it fell in, once, and nothing else', () => {
    const run = { from: 1_000, to: Infinity };
    const split = afterFreeze(run, { from: 5_000, to: 65_000 });
    expect(split).toEqual({ from: 65_000, to: Infinity, earlier: [{ from: 1_000, to: 5_000 }] });
    expect(afterFreeze(split, { from: 5_000, to: 65_000 })).toBe(split);
    expect(afterFreeze(run, undefined)).toBe(run);
    // A stop before the run began (a stop() and a start() since) is none of its business.
    expect(afterFreeze({ from: 70_000, to: Infinity }, { from: 5_000, to: 65_000 })).toEqual({ from: 70_000, to: Infinity });
  });

  // A stop that began in a sleep the collector asked for was found shorter by the part of the
  // sleep it took, up to a second: the event-loop lag then read up to 932 ms after a 20 s stop.
  // The stop's earliest start, the collector's last round before it, goes with it.
  it('says where a stop found began at the earliest: the round before the sleep it fell in', () => {
    const ctl = controlViews(new SharedArrayBuffer(CONTROL_BYTES));
    const clock = { mono: 0, cpu: 0 };
    const watch = new FreezeWatch(ctl, { mono: () => clock.mono, cpuMs: () => clock.cpu, waitMs: () => 0 });
    expect(watch.see(10_000)).toBeUndefined();
    // A round of 5 ms, then a sleep of 1 s asked for; 300 ms into it the process is stopped for 60 s.
    clock.mono = 5;
    clock.cpu = 5;
    watch.sleeping(1_000);
    clock.mono = 60_305;
    const found = watch.see(70_305);
    expect(found).toEqual({ from: 11_005, to: 70_305, since: 10_000 });
    expect(lastFreeze(ctl)).toEqual(found);
  });
});
