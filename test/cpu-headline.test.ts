/**
 * A CPU capture's headline: the function on top of most samples first, unless the main
 * thread mostly waited, when a sliver of a function would be named as the culprit.
 */
import { describe, expect, it } from 'vitest';
import { cpuHeadline, summarizeCpu, type CpuProfile } from '../dist/src/profiling/cpu-summary.js';
import { captureText } from '../dist/src/profiling/text.js';

const CWD = '/srv/app';

/** A profile of `idle` samples idle and `busy` in dispatch() at /srv/app/src/queue.js:12 (V8's line 11). */
function profile(idle: number, busy: number): CpuProfile {
  const frame = (functionName: string, url = '', lineNumber = -1) => ({ functionName, url, lineNumber, columnNumber: 0 });
  return {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3] },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('dispatch', 'file:///srv/app/src/queue.js', 11) },
    ],
    startTime: 0,
    endTime: (idle + busy) * 1000,
    samples: [...Array<number>(idle).fill(2), ...Array<number>(busy).fill(3)],
    timeDeltas: Array<number>(idle + busy).fill(1000),
  };
}

/** A profile of samples by where they were: idle, in dispatch(), in GC and in (program), in that order. */
function spread(idle: number, js: number, gc: number, program: number): CpuProfile {
  const frame = (functionName: string, url = '', lineNumber = -1) => ({ functionName, url, lineNumber, columnNumber: 0 });
  const n = idle + js + gc + program;
  return {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 5] },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('dispatch', 'file:///srv/app/src/queue.js', 11) },
      { id: 4, callFrame: frame('(garbage collector)') },
      { id: 5, callFrame: frame('(program)') },
    ],
    startTime: 0,
    endTime: n * 1000,
    samples: [...Array<number>(idle).fill(2), ...Array<number>(js).fill(3), ...Array<number>(gc).fill(4), ...Array<number>(program).fill(5)],
    timeDeltas: Array<number>(n).fill(1000),
  };
}

describe("a CPU capture's headline", () => {
  it('leads with the function on top of the stack when the main thread was busy', () => {
    expect(cpuHeadline(summarizeCpu(profile(10, 90), 10, CWD))).toBe('90% of samples in dispatch at src/queue.js:12 (self); idle 10%, GC 0%, program 0%');
  });

  it('leads with the idle share when the main thread mostly waited, naming no culprit', () => {
    expect(cpuHeadline(summarizeCpu(profile(97, 3), 10, CWD))).toBe('the main thread was idle in 97% of samples (its busiest function: 3.0% in dispatch at src/queue.js:12, self); GC 0%, program 0%');
  });

  it('gives the shares of JavaScript, idle, GC and program adding up to 100%, in its headline and its share line alike', () => {
    // 99.5% idle: rounded alone to a whole percent it read 100%, and the line added up to 100.5%.
    const summary = summarizeCpu(spread(995, 2, 2, 1), 10, CWD);
    const headline = cpuHeadline(summary);
    expect(headline).toBe('the main thread was idle in 99.5% of samples (its busiest function: 0.2% in dispatch at src/queue.js:12, self); GC 0.2%, program 0.1%');
    const capture = { id: 1, kind: 'cpu' as const, startedAt: 0, endedAt: 1000, seconds: 1, headline, summary, file: null, fileBytes: 0, fileError: 'not written', alert: null, mainThreadMs: 0 };
    expect(captureText(capture, 5).split('\n')[1]).toBe('1000 samples: JavaScript 0.2%, idle 99.5%, GC 0.2%, program 0.1%');
    // Thirds: the tenth lost to rounding goes to one of them, not to none.
    expect(captureText({ ...capture, summary: summarizeCpu(spread(1, 1, 1, 0), 10, CWD) }, 5).split('\n')[1]).toBe('3 samples: JavaScript 33.4%, idle 33.3%, GC 33.3%, program 0%');
  });
});
