/**
 * bench:export — the cost of pushing 10,000 series every 10 s: 5,000 counter, 4,000 gauge and
 * 1,000 histogram series (10 names each of 500 label sets, 16 buckets), as remote_write and
 * as OTLP/HTTP protobuf, each to a local receiver that only counts the bytes. Measured: the
 * exporter actor's thread CPU per export (its own clock, /proc/thread-self), and the bytes on
 * the wire per sample (remote_write: one per series, bucket, sum and count) and per point
 * (OTLP: one per series). Beside it, in the same run, the OpenTelemetry SDK (sdk-metrics
 * 2.12 with exporter-metrics-otlp-proto 0.223) on the same series: the main thread's CPU per
 * collect-and-export (forceFlush), and its bytes per point. A share of one core at a 10 s
 * interval is the CPU per export over 10 s. prom-client has no remote_write of its own, so it
 * has no column here.
 *
 * BENCH_EXPORT_SERIES=100000 adds a scale table: counters and gauges (half each), then
 * histograms, at 10,000 series and at that many, as remote_write, OTLP protobuf and OTLP
 * JSON, with each one's CPU and bytes per series against its own 10,000 case: a ratio of 1
 * is linear. BENCH_EXPORT_RUNS (default 3) exports are measured in each case, after three of
 * warm-up. BENCH_EXPORT_ONLY=scale skips the 10,000-series table and the SDK.
 */
import { loadavg } from 'node:os';
import { DEFAULT_BUCKETS } from '../src/analysis/series-walk.js';
import { EXPORTS, INTERVAL_S, ours, sdk, seriesOf, type Mix, type Row } from './export-cost.js';

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
const share = (ms: number): string => `${((ms / (INTERVAL_S * 1000)) * 100).toFixed(3)}%`;

if (process.env.BENCH_EXPORT_ONLY !== 'scale') {
  const rows = [await ours('remoteWrite'), await ours('otlp'), await sdk()];
  const ourOtlp = rows[1]!;
  const peer = rows[2]!;
  console.log(`bench:export — 10,000 series (5,000 counters, 4,000 gauges, 1,000 histograms of ${DEFAULT_BUCKETS.length + 1} buckets), ${EXPORTS + 1} exports each; load ${load()}`);
  console.log('| exporter | CPU per export | share of a core at 10 s | bytes per export | per sample/point |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.what} | ${r.cpuMsPerExport.toFixed(1)} ms | ${share(r.cpuMsPerExport)} | ${Math.round(r.bytesPerExport).toLocaleString('en')} | ${(r.bytesPerExport / r.unitsPerExport).toFixed(2)} B per ${r.unit} (${Math.round(r.unitsPerExport).toLocaleString('en')}) |`);
  }
  console.log(`OTLP: the SDK's exporter uses ${(peer.cpuMsPerExport / ourOtlp.cpuMsPerExport).toFixed(2)}x the CPU of perfwatch's per export (its collect included; ours reads the store in place), ${(peer.bytesPerExport / ourOtlp.bytesPerExport).toFixed(2)}x the bytes.`);
}

const big = Number(process.env.BENCH_EXPORT_SERIES ?? 0);
if (big > 0) {
  if (!Number.isInteger(big) || big < 20 || big % 20 !== 0) throw new Error(`BENCH_EXPORT_SERIES must be a positive multiple of 20 (10 names of each kind), got ${process.env.BENCH_EXPORT_SERIES}`);
  const runs = Number(process.env.BENCH_EXPORT_RUNS ?? 3);
  /** 10 names of each kind asked for, `series` in all. */
  const scalar = (series: number): Mix => ({ counter: 10, gauge: 10, distribution: 0, perName: series / 20 });
  const histograms = (series: number): Mix => ({ counter: 0, gauge: 0, distribution: 10, perName: series / 10 });
  const exporters = [
    ['remoteWrite', 'protobuf'],
    ['otlp', 'protobuf'],
    ['otlp', 'json'],
  ] as const;
  console.log(`\nbench:export scale — 10,000 and ${big.toLocaleString('en')} series, ${runs} exports measured in each case (after 3 of warm-up); load ${load()}`);
  console.log('| series | exporter | CPU per export | share of a core at 10 s | bytes per export | samples/points per export | CPU per series vs 10,000 | bytes per series vs 10,000 |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const [label, mixOf] of [
    ['counters and gauges', scalar],
    ['histograms', histograms],
  ] as const) {
    for (const [kind, encoding] of exporters) {
      const base: Row = await ours(kind, mixOf(10_000), encoding, runs - 1);
      const row: Row = await ours(kind, mixOf(big), encoding, runs - 1);
      for (const [n, r] of [
        [10_000, base],
        [big, row],
      ] as const) {
        const cpuRatio = r.cpuMsPerExport / n / (base.cpuMsPerExport / 10_000);
        const byteRatio = r.bytesPerExport / n / (base.bytesPerExport / 10_000);
        console.log(`| ${n.toLocaleString('en')} ${label} | ${r.what} | ${r.cpuMsPerExport.toFixed(1)} ms | ${share(r.cpuMsPerExport)} | ${Math.round(r.bytesPerExport).toLocaleString('en')} | ${Math.round(r.unitsPerExport).toLocaleString('en')} ${r.unit}s | ${cpuRatio.toFixed(2)} | ${byteRatio.toFixed(2)} |`);
      }
    }
  }
  console.log(`load at the end ${load()}`);
}
