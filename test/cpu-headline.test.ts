/**
 * A CPU capture's headline: the function on top of most samples first, unless the main
 * thread mostly waited, when a sliver of a function would be named as the culprit.
 */
import { describe, expect, it } from 'vitest';
import { cpuHeadline, summarizeCpu, type CpuProfile } from '../dist/src/profiling/cpu-summary.js';

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

describe("a CPU capture's headline", () => {
  it('leads with the function on top of the stack when the main thread was busy', () => {
    expect(cpuHeadline(summarizeCpu(profile(10, 90), 10, CWD))).toBe('90% of samples in dispatch at src/queue.js:12 (self); idle 10%, GC 0%, program 0%');
  });

  it('leads with the idle share when the main thread mostly waited, naming no culprit', () => {
    expect(cpuHeadline(summarizeCpu(profile(97, 3), 10, CWD))).toBe('the main thread was idle in 97% of samples (its busiest function: 3.0% in dispatch at src/queue.js:12, self); GC 0%, program 0%');
  });
});
