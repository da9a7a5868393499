/**
 * `perfwatch bench`: what recording costs on this machine, in a few seconds: samples/s on the
 * recording thread (a bound handle, by name with tags, recordBatch) and end to end through
 * the collector with zero loss checked; with --mcp, also tools/call round trips and batched
 * recording through `perfwatch mcp` over stdio with the SDK's client, beside a bare SDK echo
 * server (the floor of a round trip). The repository's `npm run bench` runs the full
 * benchmarks with their peers (prom-client, OpenTelemetry). Progress goes to stderr.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { PerformanceMonitor } from '../monitor/monitor.js';
import { intFlag } from './args.js';
import { runMcpBench } from './bench-mcp.js';


function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median M samples/s over passes after a warm-up; `between` (a flush) runs outside the timing. */
async function rate(pass: () => void | Promise<void>, samples: number, between: () => Promise<void>, passes = 3): Promise<number> {
  await pass();
  await between();
  const rates: number[] = [];
  for (let p = 0; p < passes; p++) {
    const t0 = performance.now();
    await pass();
    rates.push(samples / (performance.now() - t0) / 1000);
    await between();
  }
  return median(rates);
}

export async function bench(args: { samples?: string; mcp?: boolean }): Promise<number> {
  const n = args.samples === undefined ? 5_000_000 : intFlag(args.samples, '--samples', 100_000, 100_000_000);
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  // Progress goes to stderr, so that stdout holds the tables alone.
  const progress = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  out(`perfwatch bench — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}\n`);
  const values = Float64Array.from({ length: 4096 }, (_, i) => 1 + ((i * 7919) % 1000) / 10);
  // Recording-thread passes fit in the ring (1M samples of 2M slots), so they measure the
  // recording thread and not back-pressure; the collector drains between passes.
  const p = Math.min(n, 1_000_000);
  const monitor = new PerformanceMonitor({ storage: 'memory', overflow: 'block', ringCapacity: 1 << 21, system: { enabled: false }, runtime: { enabled: false } });
  const flush = (): Promise<void> => monitor.flush();
  let lossless = false;
  await monitor.start();
  try {
    const handle = monitor.metric('bench_bound');
    const routes = Array.from({ length: 16 }, (_, i) => `/r/${i}`);
    const batch = Array.from({ length: 10_000 }, (_, i) => ({ name: 'bench_batch', value: values[i & 4095]!, tags: { route: routes[i & 15]! } }));
    const rows: [string, number][] = [];
    const measure = async (name: string, pass: () => void | Promise<void>, samples: number, between: () => Promise<void>): Promise<void> => {
      progress(`  ${name}…`);
      rows.push([name, await rate(pass, samples, between)]);
    };
    await measure('handle.record(v)', () => { for (let i = 0; i < p; i++) handle.record(values[i & 4095]!); }, p, flush);
    await measure('record(name, v, { route })', () => { for (let i = 0; i < p; i++) monitor.record('bench_named', values[i & 4095]!, { route: routes[i & 15]! }); }, p, flush);
    const batches = Math.max(1, Math.floor(p / batch.length));
    await measure('recordBatch(10,000 samples)', () => { for (let b = 0; b < batches; b++) monitor.recordBatch(batch); }, batches * batch.length, flush);
    await measure(`end to end through the collector, ${n} samples a pass`, async () => {
      for (let i = 0; i < n; i++) handle.record(values[i & 4095]!);
      await monitor.flush();
    }, n, async () => {});
    // Each case's warm-up pass and 3 measured passes: every sample must be in the store.
    const held = (name: string): number => monitor.getMetrics({ names: [name] }).reduce((a, m) => a + m.totalCount, 0);
    const counts = [
      ['handle cases', held('bench_bound'), 4 * p + 4 * n],
      ['record(name, v, { route })', held('bench_named'), 4 * p],
      ['recordBatch', held('bench_batch'), 4 * batches * batch.length],
    ] as const;
    const dropped = monitor.status().ingestion.dropped;
    lossless = dropped === 0 && counts.every(([, got, want]) => got === want);
    out('| case | M samples/s |');
    out('|---|---:|');
    for (const [name, r] of rows) out(`| ${name} | ${r.toFixed(1)} |`);
    out(`\nzero loss (overflow 'block'): ${lossless ? `yes, all ${counts.reduce((a, [, , want]) => a + want, 0)} samples recorded are in the store` : `NO: ${counts.map(([what, got, want]) => `${what} ${got} of ${want}`).join(', ')} in the store, ${dropped} dropped`}`);
  } finally {
    await monitor.stop();
  }
  if (args.mcp) {
    out('\nMCP over stdio (perfwatch mcp beside a bare SDK echo server, SDK v2 client):');
    const result = await runMcpBench({
      perfwatch: { command: process.execPath, args: [fileURLToPath(new URL('./main.js', import.meta.url)), 'mcp'] },
      echo: { command: process.execPath, args: [fileURLToPath(new URL('./bench-echo.js', import.meta.url))] },
      calls: 1_000,
      rounds: 3,
      batches: 30,
      batchSize: 10_000,
      log: progress,
    });
    out(result.table);
    if (!result.verified) lossless = false;
  }
  if (!lossless) process.stderr.write('perfwatch bench: samples recorded are missing from the store (see above)\n');
  return lossless ? 0 : 1;
}
