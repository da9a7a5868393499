/**
 * What a CPU capture (V8's default 1 ms sampling) costs a loaded server while it runs and
 * after it, measured in paired rounds (issue 15's "under 10% while it runs, and nothing
 * after"). A round is three phases under the same load: `before` (afterSeconds), `during`
 * (seconds) and `after` (afterSeconds). In a capture round a capture runs through `during`;
 * in its sham round nothing does. Rounds come in pairs, the capture round first in even
 * pairs and second in odd ones, so that a drift of the machine over the run falls on both.
 *
 * The `after` phase starts as the `during` load ends, before the capture's end is awaited:
 * the inspector's stop, the summary, the stringify and the file's write fall into it, as they
 * would in a service. Each phase's figures are taken against its own round's `before`, so
 * that a round's level (how much of its CPU the server got from the rest of the machine)
 * cancels out; a capture's cost is the median over pairs of (capture round's ratio / sham
 * round's ratio). Besides requests per second, the server's main-thread CPU a request
 * (schedstat, read by this process) and the main isolate's GC time (the server's `gc`
 * command) say where any "after" would come from.
 */
import { loadavg } from 'node:os';
import type { CaptureCost } from './capture.js';
import type { RunningServer } from './forked-server.js';
import { median } from './median.js';
import { splitTimes, threadTimes } from './placement.js';

export interface CapturePhasesOptions {
  /** Forks and warms up the server (instrument() on); it answers `capture`, `captured`, `gc` and `threads`. */
  open(): Promise<RunningServer>;
  /** Loads the server for `seconds`: requests per second and the requests done. */
  load(url: string, seconds: number): Promise<{ rps: number; requests: number }>;
  /** Pairs of rounds (one with a capture, one without). */
  pairs: number;
  /** The capture's length (and its sham's). */
  seconds: number;
  /** The `before` and `after` phases' length. */
  afterSeconds: number;
}

type PhaseName = 'before' | 'during' | 'after';
interface Phase {
  rps: number;
  /** µs of CPU a request: the main thread, and all of the server's threads. */
  main: number;
  all: number;
  /** ms the main isolate spent in GC during the phase. */
  gcMs: number;
}
type Round = Record<PhaseName, Phase> & { captured: boolean; capture?: CaptureCost };

export async function capturePhases(o: CapturePhasesOptions): Promise<void> {
  console.log(`\nCPU capture on the perfwatch server: ${o.pairs} pairs of rounds (with a capture, without), each ${o.afterSeconds} s before, ${o.seconds} s during, ${o.afterSeconds} s after; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const server = await o.open();
  const pid = server.child.pid!;
  const monitorTids = new Set((await server.call('threads')) as number[]);
  await server.call('gc');

  /** One phase of `seconds` under load: its rps, CPU a request and GC time. */
  const phase = async (seconds: number): Promise<Phase> => {
    const t0 = threadTimes(pid);
    const gc0 = (await server.call('gc')) as number;
    const r = await o.load(server.url, seconds);
    const split = splitTimes(pid, monitorTids, t0, threadTimes(pid));
    const n = Math.max(1, r.requests);
    return { rps: r.rps, main: split.main / n, all: (split.main + split.monitor + split.runtime) / n, gcMs: ((await server.call('gc')) as number) - gc0 };
  };
  const round = async (captured: boolean): Promise<Round> => {
    const before = await phase(o.afterSeconds);
    const id = captured ? ((await server.call('capture', { kind: 'cpu', seconds: o.seconds })) as number) : undefined;
    const during = await phase(o.seconds);
    const ended = id === undefined ? undefined : (server.call('captured', { capture: id }) as Promise<CaptureCost>);
    const after = await phase(o.afterSeconds);
    const r: Round = { captured, before, during, after, ...(ended ? { capture: await ended } : {}) };
    const f = (p: Phase): string => `${Math.round(p.rps)} rps, main ${p.main.toFixed(2)} µs, all ${p.all.toFixed(2)} µs, GC ${p.gcMs.toFixed(1)} ms`;
    process.stderr.write(`  ${captured ? 'capture' : 'sham   '}: before ${f(before)} | during ${f(during)} | after ${f(after)}${r.capture ? ` | capture ${r.capture.mainThreadMs} ms on the main thread` : ''}\n`);
    return r;
  };

  const pairs: [Round, Round][] = [];
  try {
    for (let k = 0; k < o.pairs; k++) {
      const first = await round(k % 2 === 0);
      const second = await round(k % 2 !== 0);
      pairs.push(first.captured ? [first, second] : [second, first]);
    }
  } finally {
    await server.stop();
  }

  const ratio = (r: Round, p: PhaseName, key: 'rps' | 'main' | 'all'): number => r[p][key] / r.before[key];
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const row = (p: PhaseName) => {
    const rps = pairs.map(([c, s]) => ratio(c, p, 'rps') / ratio(s, p, 'rps'));
    const main = pairs.map(([c, s]) => ratio(c, p, 'main') / ratio(s, p, 'main'));
    const all = pairs.map(([c, s]) => ratio(c, p, 'all') / ratio(s, p, 'all'));
    const lostOf = (xs: number[]): string => `${pct(1 - median(xs))} (${pct(1 - Math.max(...xs))} to ${pct(1 - Math.min(...xs))})`;
    const moreOf = (xs: number[]): string => `${pct(median(xs) - 1)} (${pct(Math.min(...xs) - 1)} to ${pct(Math.max(...xs) - 1)})`;
    return {
      phase: p,
      'rps lost (paired)': lostOf(rps),
      'main CPU a request (paired)': moreOf(main),
      'all CPU a request (paired)': moreOf(all),
      'GC ms, capture rounds': pairs.map(([c]) => c[p].gcMs.toFixed(1)).join(' '),
      'GC ms, sham rounds': pairs.map(([, s]) => s[p].gcMs.toFixed(1)).join(' '),
    };
  };
  console.table([row('during'), row('after')]);
  const ms = pairs.map(([c]) => c.capture?.mainThreadMs ?? 0);
  console.log(`paired: the median over pairs of (capture round's phase / its before) ÷ (sham round's phase / its before), min to max in brackets; capture main-thread ms ${ms.join(', ')}; load after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
