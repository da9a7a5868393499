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
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { metrics as otelApi } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { DEFAULT_BUCKETS } from '../src/analysis/series-walk.js';
import { threadCpuMs } from '../src/engine/thread-cpu.js';
import { PerformanceMonitor } from '../src/monitor/monitor.js';
import { seriesValues } from './values.js';

const NAMES = { counter: 10, gauge: 8, distribution: 2 } as const;
const PER_NAME = 500;
const HIST_SAMPLES = 10;
const EXPORTS = Number(process.env.EXPORTS ?? 20);
const INTERVAL_S = 10;
const value = seriesValues(0.8);

interface Sink {
  url: string;
  bytes: number;
  requests: number;
  close(): Promise<void>;
}

async function sink(): Promise<Sink> {
  const s: Sink & { server?: Server } = { url: '', bytes: 0, requests: 0, close: async () => {} };
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => (s.bytes += c.length));
    req.on('end', () => {
      s.requests++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`;
  s.close = () => new Promise((resolve) => server.close(() => resolve()));
  return s;
}

/** Every series of the mix, through `record(kind, name, labels, value)`. */
function fill(record: (kind: keyof typeof NAMES, name: string, labels: Record<string, string>, v: number) => void): void {
  let series = 0;
  for (const kind of Object.keys(NAMES) as (keyof typeof NAMES)[]) {
    for (let n = 0; n < NAMES[kind]; n++) {
      for (let l = 0; l < PER_NAME; l++, series++) {
        const labels = { route: `/api/r${l}`, shard: String(l % 7) };
        const samples = kind === 'distribution' ? HIST_SAMPLES : 1;
        for (let i = 0; i < samples; i++) record(kind, `bench_${kind}_${n}`, labels, value(series, i));
      }
    }
  }
}

interface Row {
  what: string;
  cpuMsPerExport: number;
  bytesPerExport: number;
  unitsPerExport: number;
  unit: string;
}

async function ours(kind: 'remoteWrite' | 'otlp'): Promise<Row> {
  const s = await sink();
  const monitor = new PerformanceMonitor({
    storage: 'memory',
    maxSeries: 20_000,
    system: { enabled: false },
    runtime: { enabled: false },
    export: { [kind]: [{ url: s.url, intervalMs: 3_600_000 }], maxSamplesPerRequest: 5_000 },
  });
  await monitor.start();
  for (const k of Object.keys(NAMES) as (keyof typeof NAMES)[]) for (let n = 0; n < NAMES[k]; n++) monitor.define({ name: `bench_${k}_${n}`, kind: k });
  fill((_, name, labels, v) => monitor.record(name, v, labels));
  await monitor.flush();
  // The histograms' buckets close one interval later: wait for them, then warm up.
  await new Promise((resolve) => setTimeout(resolve, monitor.options.collectionIntervalMs * 2));
  await monitor.exportNow();
  await monitor.exportNow();
  const before = await monitor.exportNow();
  const bytes0 = s.bytes;
  for (let i = 0; i < EXPORTS; i++) await monitor.exportNow();
  const after = await monitor.exportNow();
  const e0 = before.exporters[0]!;
  const e1 = after.exporters[0]!;
  const n = EXPORTS + 1;
  await monitor.close();
  await s.close();
  return {
    what: kind === 'remoteWrite' ? 'perfwatch remote_write' : 'perfwatch OTLP protobuf',
    cpuMsPerExport: (after.actor.cpuMs - before.actor.cpuMs) / n,
    bytesPerExport: (s.bytes - bytes0) / n,
    unitsPerExport: (e1.sent - e0.sent) / n,
    unit: kind === 'remoteWrite' ? 'sample' : 'point',
  };
}

async function sdk(): Promise<Row> {
  const s = await sink();
  const exporter = new OTLPMetricExporter({ url: s.url });
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  otelApi.setGlobalMeterProvider(provider);
  const meter = provider.getMeter('bench');
  const instruments = new Map<string, { add?: (v: number, a: Record<string, string>) => void; record?: (v: number, a: Record<string, string>) => void }>();
  fill((kind, name, labels, v) => {
    let inst = instruments.get(name);
    if (!inst) {
      inst = kind === 'counter' ? meter.createCounter(name) : kind === 'gauge' ? meter.createGauge(name) : meter.createHistogram(name, { advice: { explicitBucketBoundaries: [...DEFAULT_BUCKETS] } });
      instruments.set(name, inst);
    }
    if (kind === 'counter') inst.add!(v, labels);
    else inst.record!(v, labels);
  });
  await reader.forceFlush();
  await reader.forceFlush();
  const bytes0 = s.bytes;
  const cpu0 = threadCpuMs();
  for (let i = 0; i < EXPORTS + 1; i++) await reader.forceFlush();
  const cpu = threadCpuMs() - cpu0;
  const n = EXPORTS + 1;
  await provider.shutdown();
  await s.close();
  return { what: 'OpenTelemetry SDK OTLP protobuf', cpuMsPerExport: cpu / n, bytesPerExport: (s.bytes - bytes0) / n, unitsPerExport: 10_000, unit: 'point' };
}

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
