/**
 * The exports of bench:export, for it and bench:cluster: 10,000 series (5,000 counter, 4,000
 * gauge and 1,000 histogram series, 10 names each of 500 label sets), pushed to a local
 * receiver that only counts the bytes. `ours(kind)` measures perfwatch's exporter actor (its
 * thread CPU per export, its own clock), `sdk()` the OpenTelemetry SDK on the same series.
 * `ours(kind, mix, encoding)` takes another mix of series (bench:export's scale table: 100,000
 * counters and gauges, or 100,000 histograms) and OTLP's JSON.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics as otelApi } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { DEFAULT_BUCKETS } from '../src/analysis/series-walk.js';
import { threadCpuMs } from '../src/engine/thread-cpu.js';
import { PerformanceMonitor } from '../src/monitor/monitor.js';
import { seriesValues } from './values.js';

/** Names per kind, each with `perName` label sets. */
export interface Mix {
  counter: number;
  gauge: number;
  distribution: number;
  perName: number;
}
/** The 10,000 series. */
export const DEFAULT_MIX: Mix = { counter: 10, gauge: 8, distribution: 2, perName: 500 };
const KINDS = ['counter', 'gauge', 'distribution'] as const;
const HIST_SAMPLES = 10;
export const EXPORTS = Number(process.env.EXPORTS ?? 20);
/** The export interval the shares of a core are taken at (the 10 s). */
export const INTERVAL_S = 10;
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

export function seriesOf(mix: Mix): number {
  return (mix.counter + mix.gauge + mix.distribution) * mix.perName;
}

/**
 * Every series of the mix, through `record(kind, name, labels, value)`, with `pause()` after
 * every 1,000 series: a million histogram samples recorded in one go overflowed the rings, and
 * the series whose samples were dropped were not exported (100,000 histograms sent 92,629).
 */
async function fill(mix: Mix, record: (kind: (typeof KINDS)[number], name: string, labels: Record<string, string>, v: number) => void, pause = async (): Promise<void> => {}): Promise<void> {
  let series = 0;
  for (const kind of KINDS) {
    for (let n = 0; n < mix[kind]; n++) {
      for (let l = 0; l < mix.perName; l++, series++) {
        const labels = { route: `/api/r${l}`, shard: String(l % 7) };
        const samples = kind === 'distribution' ? HIST_SAMPLES : 1;
        for (let i = 0; i < samples; i++) record(kind, `bench_${kind}_${n}`, labels, value(series, i));
        if (series % 1_000 === 999) await pause();
      }
    }
  }
}

export interface Row {
  what: string;
  cpuMsPerExport: number;
  bytesPerExport: number;
  unitsPerExport: number;
  unit: string;
}

/** `exports`: how many are measured (one more is: EXPORTS + 1 by default). */
export async function ours(kind: 'remoteWrite' | 'otlp', mix: Mix = DEFAULT_MIX, encoding: 'protobuf' | 'json' = 'protobuf', exports = EXPORTS): Promise<Row> {
  const s = await sink();
  const series = seriesOf(mix);
  const monitor = new PerformanceMonitor({
    storage: 'memory',
    maxSeries: Math.max(20_000, series + 1_000),
    system: { enabled: false },
    runtime: { enabled: false },
    export: { [kind]: [{ url: s.url, intervalMs: 3_600_000, ...(kind === 'otlp' ? { encoding } : {}) }], maxSamplesPerRequest: 5_000 },
  });
  await monitor.start();
  for (const k of KINDS) for (let n = 0; n < mix[k]; n++) monitor.define({ name: `bench_${k}_${n}`, kind: k });
  await fill(
    mix,
    (_, name, labels, v) => monitor.record(name, v, labels),
    () => monitor.flush(),
  );
  await monitor.flush();
  // The histograms' buckets close one interval later: wait for them, then warm up.
  await new Promise((resolve) => setTimeout(resolve, monitor.options.collectionIntervalMs * 2));
  await monitor.exportNow();
  await monitor.exportNow();
  const before = await monitor.exportNow();
  const bytes0 = s.bytes;
  for (let i = 0; i < exports; i++) await monitor.exportNow();
  const after = await monitor.exportNow();
  // Read before close(): its last export and stale markers counted in the bytes a measured export sent.
  const bytes = s.bytes - bytes0;
  const e0 = before.exporters[0]!;
  const e1 = after.exporters[0]!;
  const n = exports + 1;
  await monitor.close();
  await s.close();
  return {
    what: kind === 'remoteWrite' ? 'perfwatch remote_write' : `perfwatch OTLP ${encoding}`,
    cpuMsPerExport: (after.actor.cpuMs - before.actor.cpuMs) / n,
    bytesPerExport: bytes / n,
    unitsPerExport: (e1.sent - e0.sent) / n,
    unit: kind === 'remoteWrite' ? 'sample' : 'point',
  };
}

export async function sdk(): Promise<Row> {
  const s = await sink();
  const exporter = new OTLPMetricExporter({ url: s.url });
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  otelApi.setGlobalMeterProvider(provider);
  const meter = provider.getMeter('bench');
  const instruments = new Map<string, { add?: (v: number, a: Record<string, string>) => void; record?: (v: number, a: Record<string, string>) => void }>();
  await fill(DEFAULT_MIX, (kind, name, labels, v) => {
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
  // Read before shutdown(), which exports once more.
  const bytes = s.bytes - bytes0;
  const n = EXPORTS + 1;
  await provider.shutdown();
  await s.close();
  return { what: 'OpenTelemetry SDK OTLP protobuf', cpuMsPerExport: cpu / n, bytesPerExport: bytes / n, unitsPerExport: 10_000, unit: 'point' };
}
