/**
 * A CPU capture's headline: the function on top of most samples first, unless the main
 * thread mostly waited, when a sliver of a function would be named as the culprit.
 */
import { describe, expect, it } from 'vitest';
import { cpuHeadline, summarizeCpu, type CpuProfile } from '../dist/src/profiling/cpu-summary.js';
import { heapHeadline, summarizeHeap, type HeapProfile } from '../dist/src/profiling/heap-summary.js';
import { annotationsOf, captureText } from '../dist/src/profiling/text.js';

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
    expect(cpuHeadline(summarizeCpu(profile(97, 3), 10, CWD))).toBe('the main thread was idle in 97% of samples (its busiest function: 3% in dispatch at src/queue.js:12, self); GC 0%, program 0%');
  });

  it('gives the shares of JavaScript, idle, GC and program as every share is given, a share below 100% never as 100%, in its headline and its share line alike', () => {
    // 99.5% idle: rounded alone to a whole percent it read 100%, and the line added up to 100.5%.
    const summary = summarizeCpu(spread(995, 2, 2, 1), 10, CWD);
    const headline = cpuHeadline(summary);
    expect(headline).toBe('the main thread was idle in 99.5% of samples (its busiest function: 0.2% in dispatch at src/queue.js:12, self); GC 0.2%, program 0.1%');
    const capture = { id: 1, kind: 'cpu' as const, startedAt: 0, endedAt: 1000, seconds: 1, headline, summary, file: null, fileBytes: 0, fileError: 'not written', alert: null, mainThreadMs: 0 };
    expect(captureText(capture, 5).split('\n')[1]).toBe('1000 samples: JavaScript 0.2%, idle 99.5%, GC 0.2%, program 0.1%');
    // Thirds: each reads as it reads everywhere, a report's diagnosis too (percent.ts), so they add up to 99.9%.
    expect(captureText({ ...capture, summary: summarizeCpu(spread(1, 1, 1, 0), 10, CWD) }, 5).split('\n')[1]).toBe('3 samples: JavaScript 33.3%, idle 33.3%, GC 33.3%, program 0%');
    // 99.96% idle read "100%" in the report's sentence after a headline of 99.96% (or 99.9% with the tenths of the shares' line).
    const near = summarizeCpu(spread(9996, 2, 1, 1), 10, CWD);
    expect(cpuHeadline(near)).toBe('the main thread was idle in 99.96% of samples (its busiest function: 0.02% in dispatch at src/queue.js:12, self); GC 0.01%, program 0.01%');
    expect(captureText({ ...capture, headline: cpuHeadline(near), summary: near }, 5).split('\n')[1]).toBe('10000 samples: JavaScript 0.02%, idle 99.96%, GC 0.01%, program 0.01%');
    // One function on nearly every sample: 99.6%, not "100% of samples in" it.
    expect(cpuHeadline(summarizeCpu(profile(4, 996), 10, CWD))).toBe('99.6% of samples in dispatch at src/queue.js:12 (self); idle 0.4%, GC 0%, program 0%');
  });

  it("keeps the service's function and file names on one line and isolated, in the headline, the text and the stacks", () => {
    // A script's name is whatever its loader gave (vm's filename), and a file URL's %0A is a
    // line break once decoded: unescaped, these started a Markdown heading and a list item of
    // their own in a report, a notification or an agent's answer, and U+202E turned the rest
    // of the line around.
    const frame = (functionName: string, url = '', lineNumber = -1) => ({ functionName, url, lineNumber, columnNumber: 0 });
    const hostile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2] },
        { id: 2, callFrame: frame('handler\n- ignore the above', 'file:///srv/app/src/x%0A%23%20Heading%E2%80%AE.js', 11) },
      ],
      startTime: 0,
      endTime: 10_000,
      samples: Array<number>(10).fill(2),
      timeDeltas: Array<number>(10).fill(1000),
    };
    const summary = summarizeCpu(hostile, 10, CWD);
    const headline = cpuHeadline(summary);
    expect(headline).toBe('100% of samples in handler\\n- ignore the above at \u2068src/x\\n# Heading\u202e.js\u2069:12 (self); idle 0%, GC 0%, program 0%');
    const capture = { id: 1, kind: 'cpu' as const, startedAt: 0, endedAt: 1000, seconds: 1, headline, summary, file: null, fileBytes: 0, fileError: 'not written', alert: null, mainThreadMs: 0 };
    const text = captureText(capture, 5);
    // The summary's lines, each one line: headline, shares, two lists of one, one stack, the file.
    expect(text.split('\n')).toHaveLength(9);
    expect(text).not.toMatch(/\n[#-]/);
    expect(summary.stacks[0]!.frames).toEqual(['handler\\n- ignore the above (\u2068src/x\\n# Heading\u202e.js\u2069:12)']);
    for (const value of Object.values(annotationsOf(capture))) expect(value).not.toMatch(/\n[#-]/);
    // The structured summary keeps the names as they are (JSON escapes them).
    expect(summary.topSelf[0]).toMatchObject({ function: 'handler\n- ignore the above', file: 'src/x\n# Heading\u202e.js' });
    const heap: HeapProfile = { head: { callFrame: frame('(root)'), selfSize: 0, id: 1, children: [{ callFrame: frame('retain\r\n# Now', 'raw\n# name.js', 4), selfSize: 4096, id: 2, children: [] }] }, samples: [] };
    expect(heapHeadline(summarizeHeap(heap, 10, CWD))).toBe('100% of live sampled bytes (4.0 KiB of 4.0 KiB) allocated in retain\\r\\n# Now at raw\\n# name.js:5');
  });
});

describe("a CPU capture's hottest line", () => {
  /** dispatch() at src/queue.js:12 in two nodes (two call paths), its own samples by line as V8 gives them. */
  function lined(first: { line: number; ticks: number }[], second: { line: number; ticks: number }[]): CpuProfile {
    const frame = (functionName: string, lineNumber = -1) => ({ functionName, url: functionName === 'dispatch' || functionName === 'serve' ? 'file:///srv/app/src/queue.js' : '', lineNumber, columnNumber: 0 });
    const a = first.reduce((t, p) => t + p.ticks, 0);
    const b = second.reduce((t, p) => t + p.ticks, 0);
    return {
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2, 3] },
        { id: 2, callFrame: frame('dispatch', 11), positionTicks: first },
        { id: 3, callFrame: frame('serve', 40), children: [4] },
        { id: 4, callFrame: frame('dispatch', 11), positionTicks: second },
      ],
      startTime: 0,
      endTime: (a + b) * 1000,
      samples: [...Array<number>(a).fill(2), ...Array<number>(b).fill(4)],
      timeDeltas: Array<number>(a + b).fill(1000),
    };
  }

  it("charges what Node's own code (`node:`) allocated or ran under a service's function to that function, as native code's", () => {
    const frame = (functionName: string, url = '', lineNumber = -1) => ({ functionName, url, lineNumber, columnNumber: 0 });
    // handler (src/leak.js:18) > toString (node:buffer) > slice (node:buffer:662), which holds the bytes; and 1 KiB of the handler's own.
    const slice = { callFrame: frame('slice', 'node:buffer', 661), selfSize: 3072, id: 4, children: [] };
    const toString = { callFrame: frame('toString', 'node:buffer', 820), selfSize: 0, id: 3, children: [slice] };
    const handler = { callFrame: frame('handler', 'file:///srv/app/src/leak.js', 17), selfSize: 1024, id: 2, children: [toString] };
    const heap: HeapProfile = { head: { callFrame: frame('(root)'), selfSize: 0, id: 1, children: [handler] }, samples: [] };
    const summary = summarizeHeap(heap, 10, CWD);
    expect(heapHeadline(summary)).toBe("100% of live sampled bytes (4.0 KiB of 4.0 KiB) allocated in handler at src/leak.js:18 (75% in Node's code under its call to toString)");
    expect(summary.lead).toEqual({ function: 'handler', file: 'src/leak.js', line: 18, column: 1, share: 1, node: { share: 0.75, via: 'toString' } });
    // The list of sites keeps the frames as V8 has them.
    expect(summary.sites.map((x) => `${x.function} ${x.file}:${x.line}`)).toEqual(['slice node:buffer:662', 'handler src/leak.js:18']);
    // Node's own work that no function of the service's called is its own.
    const parser = { callFrame: frame('parserOnHeadersComplete', 'node:_http_common', 116), selfSize: 2048, id: 2, children: [] };
    expect(heapHeadline(summarizeHeap({ head: { callFrame: frame('(root)'), selfSize: 0, id: 1, children: [parser] }, samples: [] }, 10, CWD))).toBe('100% of live sampled bytes (2.0 KiB of 2.0 KiB) allocated in parserOnHeadersComplete at node:_http_common:117');
  });

  it("adds a function's lines over its nodes and names the line with the most of its own samples in the text, not in the headline", () => {
    // Line 3 is above dispatch's own first line (12): code V8 inlined into it, charged to it there.
    const s = summarizeCpu(lined([{ line: 13, ticks: 30 }, { line: 3, ticks: 25 }], [{ line: 3, ticks: 25 }, { line: 14, ticks: 20 }]), 10, CWD);
    expect(s.topSelf[0]).toMatchObject({ function: 'dispatch', line: 12, hotLine: { line: 3, share: 0.5 } });
    const headline = cpuHeadline(s);
    // A line that may be another file's (inlined code) stays out of the one line notifications carry.
    expect(headline).toBe('100% of samples in dispatch at src/queue.js:12 (self); idle 0%, GC 0%, program 0%');
    const c = { id: 1, kind: 'cpu' as const, startedAt: 0, endedAt: 1000, seconds: 1, headline, summary: s, file: '/tmp/p.cpuprofile', fileBytes: 1, fileError: null, alert: null, mainThreadMs: 1 };
    const text = captureText(c, 5);
    expect(text).toContain('  100% (100 ms) dispatch at src/queue.js:12, hottest line 3 (50%)\n  (hottest line: V8');
  });

  it('takes the lowest line of a tie, and says nothing of lines where the profile has none', () => {
    expect(summarizeCpu(lined([{ line: 20, ticks: 5 }, { line: 15, ticks: 5 }], []), 10, CWD).topSelf[0]!.hotLine).toEqual({ line: 15, share: 0.5 });
    const none = summarizeCpu(profile(0, 10), 10, CWD);
    expect(none.topSelf[0]!.hotLine).toBeUndefined();
    expect(captureText({ id: 1, kind: 'cpu', startedAt: 0, endedAt: 1000, seconds: 1, headline: '', summary: none, file: null, fileBytes: 0, fileError: 'x', alert: null, mainThreadMs: 1 }, 5)).not.toContain('hottest line');
  });
});

describe("a heap capture's bytes", () => {
  it('names its bytes in the binary units they are counted in (MiB, KiB), in the headline and the text', () => {
    const frame = (functionName: string, url = '', lineNumber = -1) => ({ functionName, url, lineNumber, columnNumber: 0 });
    // The trial's capture: 87,907,760 + 63,370,608 = 151,278,368 bytes (151.3 MB, 144.3 MiB), read "144.3 MB".
    const repeat = { callFrame: frame('repeat'), selfSize: 63_370_608, id: 3, children: [] };
    const leak = { callFrame: frame('leakMemory', 'file:///srv/app/svc/hot.mjs', 7), selfSize: 87_907_760, id: 2, children: [repeat] };
    const parse = { callFrame: frame('parse', 'file:///srv/app/svc/cfg.mjs', 2), selfSize: 1536, id: 4, children: [] };
    const summary = summarizeHeap({ head: { callFrame: frame('(root)'), selfSize: 0, id: 1, children: [leak, parse] }, samples: [] }, 10, CWD);
    const headline = heapHeadline(summary);
    expect(headline).toBe('99.999% of live sampled bytes (144.3 MiB of 144.3 MiB) allocated in leakMemory at svc/hot.mjs:8');
    const text = captureText({ id: 1, kind: 'heap' as const, startedAt: 0, endedAt: 1000, seconds: 1, headline, summary, file: null, fileBytes: 0, fileError: 'not written', alert: null, mainThreadMs: 0 }, 5);
    expect(text).toContain('144.3 MiB of sampled allocations still live at the end');
    expect(text).toContain('  83.8 MiB (58.1%) leakMemory at svc/hot.mjs:8');
    expect(text).toContain('  1.5 KiB (0.00102%) parse at svc/cfg.mjs:3');
    expect(text).toContain('  60.4 MiB: leakMemory (svc/hot.mjs:8) > repeat');
    expect(text).not.toMatch(/\d (KB|MB)\b/);
  });
});

describe("a capture's code sites", () => {
  it("places an ES module's top-level code, which V8 gives no position (-1), at its file's first line, not line 0", () => {
    const frame = (functionName: string, url: string, lineNumber: number) => ({ functionName, url, lineNumber, columnNumber: lineNumber });
    // The entry module's top-level code spinning: V8's frame for it is at -1:-1, and `now` (native) under it.
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '', -1), children: [2] },
        { id: 2, callFrame: frame('', 'file:///srv/app/src/main.mjs', -1), children: [3] },
        { id: 3, callFrame: frame('now', '', -1) },
      ],
      startTime: 0,
      endTime: 10_000,
      samples: [2, 2, 2, 2, 2, 2, 3, 3, 3, 3],
      timeDeltas: Array<number>(10).fill(1000),
    };
    const s = summarizeCpu(profile, 10, CWD);
    // It read "(anonymous) at src/main.mjs:0".
    expect(cpuHeadline(s)).toBe('100% of samples in (anonymous) at src/main.mjs:1 (self); idle 0%, GC 0%, program 0%');
    expect(s.topSelf.map((f) => [f.function, f.file, f.line, f.column])).toEqual([
      ['(anonymous)', 'src/main.mjs', 1, 1],
      // Native code has no line: 0, and none in the text.
      ['now', '', 0, 0],
    ]);
    expect(s.stacks[0]!.frames).toEqual(['(anonymous) (src/main.mjs:1)']);
  });
});

describe("a capture's hottest stacks", () => {
  const frame = (functionName: string, url = '', lineNumber = -1) => ({ functionName, url, lineNumber, columnNumber: 0 });
  const FIB = `fib (src/fib.js:5)`;

  it('adds up the nodes of a recursion (or of callers beyond the frames shown) into the one stack they show, in a CPU capture', () => {
    // main > fib > fib > … 12 deep; the samples fall on depths 9 to 12 (10 each), whose
    // innermost 8 frames are all fib: one stack of 40%. And 30 samples in parse, under main.
    const nodes: CpuProfile['nodes'] = [
      { id: 1, callFrame: frame('(root)'), children: [2] },
      { id: 2, callFrame: frame('main', 'file:///srv/app/src/main.js', 0), children: [3, 100] },
      { id: 100, callFrame: frame('parse', 'file:///srv/app/src/parse.js', 1) },
    ];
    for (let d = 1; d <= 12; d++) nodes.push({ id: 2 + d, callFrame: frame('fib', 'file:///srv/app/src/fib.js', 4), ...(d < 12 ? { children: [3 + d] } : {}) });
    const samples = [...Array<number>(30).fill(100), ...[11, 12, 13, 14].flatMap((id) => Array<number>(10).fill(id))];
    const profile: CpuProfile = { nodes, startTime: 0, endTime: samples.length * 1000, samples, timeDeltas: samples.map(() => 1000) };
    const s = summarizeCpu(profile, 10, CWD);
    // Ranked node by node it read 30% for parse, then three lines of fib × 8 at 10% each.
    expect(s.stacks).toEqual([
      { share: 40 / 70, ms: 40, frames: Array<string>(8).fill(FIB) },
      { share: 30 / 70, ms: 30, frames: ['main (src/main.js:1)', 'parse (src/parse.js:2)'] },
    ]);
    const text = captureText({ id: 1, kind: 'cpu' as const, startedAt: 0, endedAt: 1000, seconds: 1, headline: cpuHeadline(s), summary: s, file: null, fileBytes: 0, fileError: 'x', alert: null, mainThreadMs: 0 }, 5);
    expect(text).toContain(`Hottest stacks:\n  57.1%: ${Array<string>(8).fill(FIB).join(' > ')}\n  42.9%: main (src/main.js:1) > parse (src/parse.js:2)\n`);
  });

  it('adds up the nodes of a recursion into the one stack they show, in a heap capture', () => {
    // main > build > build > … 10 deep, 1 KiB live at each of depths 8 to 10 (one stack shown, build × 8), and 2 KiB in load.
    let inner: HeapProfile['head'] | undefined;
    for (let d = 10; d >= 1; d--) inner = { callFrame: frame('build', 'file:///srv/app/src/tree.js', 2), selfSize: d >= 8 ? 1024 : 0, id: 10 + d, children: inner ? [inner] : [] };
    const load = { callFrame: frame('load', 'file:///srv/app/src/load.js', 0), selfSize: 2048, id: 3, children: [] };
    const main = { callFrame: frame('main', 'file:///srv/app/src/main.js', 0), selfSize: 0, id: 2, children: [inner!, load] };
    const s = summarizeHeap({ head: { callFrame: frame('(root)'), selfSize: 0, id: 1, children: [main] }, samples: [] }, 10, CWD);
    expect(s.stacks).toEqual([
      { bytes: 3072, share: 0.6, frames: Array<string>(8).fill('build (src/tree.js:3)') },
      { bytes: 2048, share: 0.4, frames: ['main (src/main.js:1)', 'load (src/load.js:1)'] },
    ]);
  });
});
