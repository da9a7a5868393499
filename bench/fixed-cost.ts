/**
 * The collector's fixed costs: `node dist/bench/fixed-cost.js` (after `npm run build`).
 *
 * A started monitor with default options (bench/steady.ts) at several steady rates over the
 * same series, down to none at all: what the collector's thread costs whatever the rate (its
 * wake-ups, the per-second boundary with its closes, rollups and own readings, the system
 * sampler, the event loop's turns) against what grows with the samples. Each rate runs in
 * rounds, the rates interleaved, and the table gives the median and the range. To compare
 * two builds, run this from each in turn (the machine is shared: only paired runs count).
 *
 * BENCH_RATES (samples/s, default 0,1000,100000,1000000), BENCH_SERIES (default 100),
 * BENCH_ROUNDS (default 3), BENCH_STEADY_MS (measured time per run, default 4000).
 */
import { cpus, loadavg } from 'node:os';
import { steady, type SteadyResult } from './steady.js';
import { values } from './values.js';

const RATES = (process.env.BENCH_RATES ?? '0,1000,100000,1000000').split(',').map(Number);
const SERIES = Number(process.env.BENCH_SERIES ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const STEADY_MS = Number(process.env.BENCH_STEADY_MS ?? 4_000);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function range(xs: number[], digits: number): string {
  return `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)} – ${Math.max(...xs).toFixed(digits)})`;
}

async function main(): Promise<void> {
  const load = loadavg()[0]!.toFixed(2);
  const runs = new Map<number, SteadyResult[]>(RATES.map((r) => [r, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const rate of RATES) {
      const r = await steady(SERIES, STEADY_MS, values, rate);
      runs.get(rate)!.push(r);
      process.stderr.write(`  round ${round + 1}, ${rate.toLocaleString('en-US')} samples/s: collector ${r.collectorPercent.toFixed(3)}% (sampling ${r.samplingPercent.toFixed(3)}%), applied ${r.appliedPerSecond.toFixed(0)}/s\n`);
    }
  }
  console.log(`\nperfwatch collector, fixed costs — ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load ${load} → ${loadavg()[0]!.toFixed(2)}`);
  console.log(`${SERIES} series, default options, samples recorded every 10 ms by the main thread; ${ROUNDS} rounds of ${STEADY_MS} ms per rate; median (min – max)\n`);
  console.log('| samples/s | collector CPU, % of one core | of which system sampling | applied/s |');
  console.log('|---:|---:|---:|---:|');
  for (const [rate, rs] of runs) {
    console.log(`| ${rate.toLocaleString('en-US')} | ${range(rs.map((r) => r.collectorPercent), 3)} | ${range(rs.map((r) => r.samplingPercent), 3)} | ${median(rs.map((r) => r.appliedPerSecond)).toFixed(0)} |`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
