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
 */
import { loadavg } from 'node:os';
import { DEFAULT_BUCKETS } from '../src/analysis/series-walk.js';
import { EXPORTS, INTERVAL_S, ours, sdk } from './export-cost.js';

const rows = [await ours('remoteWrite'), await ours('otlp'), await sdk()];
const ourOtlp = rows[1]!;
const peer = rows[2]!;
console.log(`bench:export — 10,000 series (5,000 counters, 4,000 gauges, 1,000 histograms of ${DEFAULT_BUCKETS.length + 1} buckets), ${EXPORTS + 1} exports each; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('| exporter | CPU per export | share of a core at 10 s | bytes per export | per sample/point |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.what} | ${r.cpuMsPerExport.toFixed(1)} ms | ${((r.cpuMsPerExport / (INTERVAL_S * 1000)) * 100).toFixed(3)}% | ${Math.round(r.bytesPerExport).toLocaleString('en')} | ${(r.bytesPerExport / r.unitsPerExport).toFixed(2)} B per ${r.unit} (${Math.round(r.unitsPerExport).toLocaleString('en')}) |`);
}
console.log(`OTLP: the SDK's exporter uses ${(peer.cpuMsPerExport / ourOtlp.cpuMsPerExport).toFixed(2)}x the CPU of perfwatch's per export (its collect included; ours reads the store in place), ${(peer.bytesPerExport / ourOtlp.bytesPerExport).toFixed(2)}x the bytes.`);
