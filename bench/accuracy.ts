/**
 * Quantile accuracy: perfwatch's sketch beside prom-client's Summary (a t-digest) against the
 * exact quantiles of the same samples. `npm run bench:accuracy`.
 *
 * 1M samples per distribution and seed, 5 seeds; the table shows the worst relative error
 * over the seeds, and the time to record the 1M samples.
 */
import { performance } from 'node:perf_hooks';
import client from 'prom-client';
import { SketchAccumulator, rankOf } from '../src/engine/sketch.js';

const N = 1_000_000;
const SEEDS = [1, 2, 3, 4, 5];
const QS = [0.5, 0.9, 0.99, 0.999];

function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
}

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
}

const DISTRIBUTIONS: Record<string, (rand: () => number) => number> = {
  'log-normal (e^(3 + 1.2 z))': (rand) => Math.exp(3 + 1.2 * normal(rand)),
  'bimodal (90% ~12 ms, 10% ~400 ms)': (rand) => (rand() < 0.9 ? Math.abs(12 + 2 * normal(rand)) : Math.abs(400 + 60 * normal(rand))),
};

interface Row {
  distribution: string;
  method: string;
  worst: number[];
  recordMs: number;
}

function main(): void {
  const rows: Row[] = [];
  for (const [name, draw] of Object.entries(DISTRIBUTIONS)) {
    const pw: Row = { distribution: name, method: 'perfwatch sketch', worst: QS.map(() => 0), recordMs: 0 };
    const pc: Row = { distribution: name, method: 'prom-client Summary', worst: QS.map(() => 0), recordMs: 0 };
    for (const seed of SEEDS) {
      const rand = generator(seed);
      const values = new Float64Array(N);
      for (let i = 0; i < N; i++) values[i] = draw(rand);
      const sorted = Float64Array.from(values).sort();
      const exact = QS.map((q) => sorted[rankOf(q, N)]!);

      const acc = new SketchAccumulator();
      let t0 = performance.now();
      for (let i = 0; i < N; i++) acc.add(values[i]!);
      pw.recordMs += (performance.now() - t0) / SEEDS.length;
      acc.quantiles(QS).forEach((v, i) => (pw.worst[i] = Math.max(pw.worst[i]!, Math.abs(v - exact[i]!) / exact[i]!)));

      const summary = new client.Summary({ name: `s${seed}_${Object.keys(DISTRIBUTIONS).indexOf(name)}`, help: 'h', percentiles: QS, registers: [] });
      t0 = performance.now();
      for (let i = 0; i < N; i++) summary.observe(values[i]!);
      pc.recordMs += (performance.now() - t0) / SEEDS.length;
      const got = (summary as unknown as { hashMap: Record<string, { td: { percentile(q: number): number } }> }).hashMap[''];
      QS.forEach((q, i) => {
        const v = got!.td.percentile(q);
        pc.worst[i] = Math.max(pc.worst[i]!, Math.abs(v - exact[i]!) / exact[i]!);
      });
    }
    rows.push(pw, pc);
  }
  console.log(`\nquantile accuracy — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}; worst relative error over ${SEEDS.length} seeds of ${N / 1e6}M samples\n`);
  console.log(`| distribution | method | ${QS.map((q) => `p${q * 100}`).join(' | ')} | record 1M |`);
  console.log(`|---|---|${QS.map(() => '---:').join('|')}|---:|`);
  for (const r of rows) {
    console.log(`| ${r.distribution} | ${r.method} | ${r.worst.map((e) => `${(100 * e).toFixed(2)}%`).join(' | ')} | ${r.recordMs.toFixed(0)} ms |`);
  }
}

main();
