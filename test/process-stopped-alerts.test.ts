// A process stopped whole (SIGSTOP and SIGCONT, a VM or laptop suspended, `docker pause`, a
// debugger's pause) stops the monitor's threads with the host's: nobody watched that gap. In
// a trial a 60 s SIGSTOP of a service made every `count(jobs[5s]) < 1` and `rate(jobs[5s]) < 40`
// rule fire on SIGCONT with value 0 and resolve within a second (a notification pair per rule
// per stop). The collector now finds such a stop (engine/freeze-watch.ts) and the gap counts as
// the time between a stop() and a start(): a window over it is judged on the part watched.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { afterFreeze } from '../dist/src/analysis/watched.js';

const FIXTURE = new URL('./fixtures/stopped-process-monitor.mjs', import.meta.url);

interface Line {
  now: number;
  count: number;
  rate: number | null;
  transitions: string[];
  restarts: number;
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
  it.skipIf(process.platform !== 'linux')('fires no rule on the gap of a SIGSTOP: count and rate rules judge the part watched', async () => {
    child = spawn(process.execPath, [FIXTURE.pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
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
    expect(after.count).toBeGreaterThan(before.count);
    expect(after.transitions).toEqual([]);
    expect(after.restarts).toBe(0);
    child.stdin!.write('stop\n');
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
});
