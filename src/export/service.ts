/**
 * The exporters of one monitor, as the exporter actor runs them (workers/exporter.ts): each
 * endpoint reads the series every intervalMs, encodes them (remote-write.ts, otlp.ts) and
 * hands the requests to its sender (endpoint.ts). It all runs on the actor's thread: the
 * host's threads never encode, compress or wait on a socket for an export.
 */
import { processName } from '../process-name.js';
import type { SeriesSource } from '../analysis/series-walk.js';
import type { Batch } from './batch.js';
import { Endpoint, type ExporterStatus, type ExporterKind } from './endpoint.js';
import { OTLP_CONTENT_TYPES, OtlpEncoder, type OtlpEncoding } from './otlp.js';
import { REMOTE_WRITE_HEADERS, RemoteWriteEncoder, type SeriesIdentity } from './remote-write.js';

export interface ExportTarget {
  url: string;
  headers?: Record<string, string> | undefined;
  intervalMs: number;
  timeoutMs: number;
  encoding?: OtlpEncoding;
}

export interface ExportConfig {
  remoteWrite: ExportTarget[];
  otlp: ExportTarget[];
  instance?: string | undefined;
  job: string;
  histogramBuckets: number[];
  maxSamplesPerRequest: number;
  queueLimit: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

interface Exporter {
  endpoint: Endpoint;
  /** `stopped`: the last export, the collector stopped (SeriesSource). */
  encode: (now: number, stopped: boolean) => Batch[];
  /** What the protocol sends after the last export when the monitor stops (remote_write's stale markers), stamped `at`. */
  ended?: (at: number) => Batch[];
  intervalMs: number;
  timer?: NodeJS.Timeout;
}

const USER_AGENT = 'perfwatch/0.1.0';

export class ExportService {
  private readonly exporters: Exporter[] = [];

  /** `startedAt`: when the counts began (OTLP's start time of cumulative points). */
  /** `clock`: the monitor's (engine/monitor-clock.ts), which the series' samples are stamped in. */
  constructor(source: SeriesSource, config: ExportConfig, startedAt: number, private readonly clock: () => number = Date.now) {
    const identity: SeriesIdentity = { instance: config.instance ?? processName(256), job: config.job };
    const limits = { queueLimit: config.queueLimit, retryBaseMs: config.retryBaseMs, retryMaxMs: config.retryMaxMs };
    const add = (kind: ExporterKind, t: ExportTarget, protocol: Record<string, string>, encode: (now: number, stopped: boolean) => Batch[], ended?: (at: number) => Batch[]): void => {
      const headers = { ...protocol, 'User-Agent': USER_AGENT, ...t.headers };
      this.exporters.push({ endpoint: new Endpoint({ kind, url: t.url, headers, timeoutMs: t.timeoutMs, ...limits }), encode, ...(ended ? { ended } : {}), intervalMs: t.intervalMs });
    };
    for (const t of config.remoteWrite) {
      const encoder = new RemoteWriteEncoder(source, identity, config.maxSamplesPerRequest);
      add('remoteWrite', t, { ...REMOTE_WRITE_HEADERS }, (now, stopped) => encoder.encode(now, stopped), (at) => encoder.encodeStale(at));
    }
    for (const t of config.otlp) {
      const encoding = t.encoding ?? 'protobuf';
      const encoder = new OtlpEncoder(source, identity, encoding, config.maxSamplesPerRequest, startedAt);
      add('otlp', t, { 'Content-Type': OTLP_CONTENT_TYPES[encoding] }, (now, stopped) => encoder.encode(now, stopped));
    }
  }

  start(): void {
    for (const e of this.exporters) {
      e.timer ??= setInterval(() => this.exportOne(e), e.intervalMs);
    }
  }

  /** Every endpoint exports now; resolves once each queue is empty or waits for a retry. */
  async exportNow(): Promise<void> {
    for (const e of this.exporters) this.exportOne(e);
    await Promise.all(this.exporters.map((e) => e.endpoint.drain()));
  }

  status(): ExporterStatus[] {
    const now = Date.now();
    return this.exporters.map((e) => e.endpoint.status(now));
  }

  /**
   * A last export of the final values (called once the collector stopped: a histogram's open
   * bucket is in it, SeriesSource), followed by what the protocol sends when series end
   * (remote_write's stale markers, a millisecond later: one at the values' own time would be
   * refused as a duplicate sample), given up to `graceMs` to go out; then every sender stops.
   */
  async stop(graceMs: number): Promise<void> {
    for (const e of this.exporters) {
      clearInterval(e.timer);
      this.exportOne(e, true);
    }
    const last = Promise.all(this.exporters.map((e) => e.endpoint.drain()));
    await Promise.race([last, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    for (const e of this.exporters) e.endpoint.close();
  }

  /** One export; the last (`ending`) with the protocol's end of the series, queued together so neither is dropped for the other. */
  private exportOne(e: Exporter, ending = false): void {
    let batches: Batch[];
    try {
      const now = this.clock();
      batches = e.encode(now, ending);
      if (ending && e.ended) batches.push(...e.ended(now + 1));
    } catch (error) {
      e.endpoint.encodeFailed(error instanceof Error ? error.message : String(error));
      return;
    }
    e.endpoint.enqueue(batches);
  }
}
