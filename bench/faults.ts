/**
 * Fault benchmark: kill and hang the collector FAULTS times each (alternating) while the main
 * thread records in tight loops under overflow 'block', and measure what supervision
 * promises: every replacement within 1 s, a hang noticed well under a second, no record()
 * call stalled past the stall bound, and every sample applied once or counted dropped.
 * `npm run bench:faults`.
 *
 * Times come from the shared clock cells (Date.now() on every thread): a kill is timed from
 * just before it is asked for, a hang from when the collector began to spin (HANG_AT), both
 * up to the start of its successor (STARTED_AT). The main thread never yields between a fault
 * and its successor's first drained sample, so whatever replaced the collector did it alone.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { HANG_AT, controlViews } from '../src/engine/control.js';
import { PerformanceMonitor, type ActorExit } from '../src/index.js';

const FAULTS = Number(process.env.BENCH_FAULTS ?? 20);
const CHUNK = 256;

interface Sample {
  fault: 'kill' | 'hang';
  replacedMs: number;
  /** A hang: from when it began to when the watchdog ended it. */
  noticedMs: number;
  stallMs: number;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

async function main(): Promise<void> {
  const stallTimeoutMs = 250;
  const m = new PerformanceMonitor({ storage: 'memory', overflow: 'block', stallTimeoutMs, system: { enabled: false }, runtime: { enabled: false } });
  await m.start();
  const ctl = controlViews(m.producer().control);
  const h = m.metric('bench_faults');
  const exits: ActorExit[] = [];
  m.on('actor-exit', (e: ActorExit) => exits.push(e));
  const samples: Sample[] = [];
  let recorded = 0;
  for (let k = 0; k < 2 * FAULTS; k++) {
    const fault = k % 2 === 0 ? 'kill' : 'hang';
    const first = m.status().collector.startedAt;
    const restarted = new Promise<{ downMs: number }>((resolve) => m.once('actor-restart', resolve));
    const askedAt = Date.now();
    await m.injectFault(fault);
    let stallMs = 0;
    let successorAt = 0;
    let ingested = Infinity;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const t0 = performance.now();
      for (let i = 0; i < CHUNK; i++) h.record(k);
      stallMs = Math.max(stallMs, performance.now() - t0);
      recorded += CHUNK;
      const s = m.status();
      if (successorAt === 0 && s.collector.startedAt !== first) {
        successorAt = s.collector.startedAt!;
        ingested = s.ingestion.ingested;
      } else if (s.ingestion.ingested > ingested) break;
    }
    if (successorAt === 0) throw new Error(`no successor within 30 s after ${fault} ${k}`);
    const { downMs } = await restarted;
    if (fault === 'hang' && !exits.at(-1)!.hung) throw new Error(`hang ${k} was not reported as one`);
    const replacedMs = successorAt - (fault === 'kill' ? askedAt : ctl.f64[HANG_AT]!);
    // The restart event counts from the exit: before it, the watchdog was noticing the hang.
    samples.push({ fault, replacedMs, noticedMs: fault === 'hang' ? replacedMs - downMs : 0, stallMs });
  }
  await m.flush();
  const s = m.status();
  const stored = m.getMetrics({ names: ['bench_faults'] })[0]!.totalCount;
  await m.stop();
  if (stored + s.ingestion.dropped !== recorded) throw new Error(`accounting: recorded ${recorded}, stored ${stored}, dropped ${s.ingestion.dropped}`);

  console.log(`\nperfwatch fault benchmark — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`${FAULTS} kills and ${FAULTS} hangs, alternating, the main thread recording in tight loops (overflow 'block', stallTimeoutMs ${stallTimeoutMs})\n`);
  const ms = (xs: number[]): string => `${quantile(xs, 0.5).toFixed(0)} / ${quantile(xs, 0.9).toFixed(0)} / ${Math.max(...xs).toFixed(0)}`;
  console.log('| fault | replaced in, p50 / p90 / max (ms) | within 1 s | hang noticed in, p50 / p90 / max (ms) | longest 256 record() calls (ms) |');
  console.log('|---|---:|---:|---:|---:|');
  for (const fault of ['kill', 'hang'] as const) {
    const xs = samples.filter((x) => x.fault === fault);
    const rep = xs.map((x) => x.replacedMs);
    const noticed = fault === 'hang' ? ms(xs.map((x) => x.noticedMs)) : '–';
    console.log(`| ${fault} (from ${fault === 'kill' ? 'the request' : 'the hang'} to the successor's start) | ${ms(rep)} | ${rep.filter((r) => r < 1000).length} of ${rep.length} | ${noticed} | ${Math.max(...xs.map((x) => x.stallMs)).toFixed(0)} |`);
  }
  console.log(`\nrecorded ${recorded.toLocaleString('en-US')}: ${stored.toLocaleString('en-US')} applied once, ${s.ingestion.dropped.toLocaleString('en-US')} dropped and counted; ${s.collector.restarts} restarts, ${exits.filter((e) => e.hung).length} of them hangs`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
