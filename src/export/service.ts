/**
 * The exporters of one monitor, as the exporter actor runs them (workers/exporter.ts): each
 * endpoint reads the series every intervalMs, encodes them (remote-write.ts, otlp.ts) and
 * hands the requests to its sender (endpoint.ts). It all runs on the actor's thread: the
 * host's threads never encode, compress or wait on a socket for an export.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { exportInstance } from '../process-name.js';
import type { SeriesSource } from '../analysis/series-walk.js';
import type { Batch } from './batch.js';
import { Endpoint, type ExporterStatus, type ExporterKind } from './endpoint.js';
import { OTLP_CONTENT_TYPES, OtlpEncoder, type OtlpEncoding } from './otlp.js';
import { MAX_REQUEST_BYTES, REMOTE_WRITE_HEADERS, RemoteWriteEncoder, type SeriesIdentity } from './remote-write.js';

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
  encode: (now: number, stopped: boolean) => Iterable<Batch>;
  /** What the protocol sends after the last export when the monitor stops (remote_write's stale markers, OTLP's points with no recorded value), stamped `at`. */
  ended?: (at: number) => Iterable<Batch>;
  intervalMs: number;
  timer?: NodeJS.Timeout;
  /** The export being encoded, if one is: one at a time, so that a series' samples are queued in time order. */
  running?: Promise<void>;
}

const USER_AGENT = 'perfwatch/0.1.0';

/**
 * The exporter's headers with the user's over them, whatever the case of either's names:
 * merged as object keys, a `user-agent` went out beside the exporter's `User-Agent`, fetch
 * joining the two values with a comma (`perfwatch/0.1.0, mine`).
 */
function withOwnHeaders(ours: Record<string, string>, given: Record<string, string> | undefined): Record<string, string> {
  if (!given) return ours;
  const replaced = new Set(Object.keys(given).map((name) => name.toLowerCase()));
  const kept = Object.entries(ours).filter(([name]) => !replaced.has(name.toLowerCase()));
  return { ...Object.fromEntries(kept), ...given };
}

export class ExportService {
  private readonly exporters: Exporter[] = [];
  /** stop() began: it runs once (the actor's finish and stop both ask for it). */
  private stopped = false;
  /** The senders are closed: an export still being encoded gives up at its next request. */
  private closed = false;

  /** `startedAt`: when the counts began (OTLP's start time of cumulative points). */
  /** `clock`: the monitor's (engine/monitor-clock.ts), which the series' samples are stamped in. */
  /** `resetFrom`: given to the first exporter of the monitor's first start, which sends each remote_write counter's 0 first (remote-write.ts). */
  constructor(source: SeriesSource, config: ExportConfig, startedAt: number, private readonly clock: () => number = Date.now, resetFrom?: number) {
    const identity: SeriesIdentity = { instance: exportInstance(config.instance), job: config.job };
    const limits = { queueLimit: config.queueLimit, retryBaseMs: config.retryBaseMs, retryMaxMs: config.retryMaxMs, maxSamplesPerRequest: config.maxSamplesPerRequest };
    const add = (kind: ExporterKind, t: ExportTarget, protocol: Record<string, string>, encode: (now: number, stopped: boolean) => Iterable<Batch>, ended?: (at: number) => Iterable<Batch>): void => {
      const headers = withOwnHeaders({ ...protocol, 'User-Agent': USER_AGENT }, t.headers);
      this.exporters.push({ endpoint: new Endpoint({ kind, url: t.url, headers, timeoutMs: t.timeoutMs, ...limits, now: clock }), encode, ...(ended ? { ended } : {}), intervalMs: t.intervalMs });
    };
    for (const t of config.remoteWrite) {
      const encoder = new RemoteWriteEncoder(source, identity, config.maxSamplesPerRequest, MAX_REQUEST_BYTES, resetFrom);
      add('remoteWrite', t, { ...REMOTE_WRITE_HEADERS }, (now, stopped) => encoder.encode(now, stopped), (at) => encoder.encodeStale(at));
    }
    for (const t of config.otlp) {
      const encoding = t.encoding ?? 'protobuf';
      const encoder = new OtlpEncoder(source, identity, encoding, config.maxSamplesPerRequest, startedAt);
      add('otlp', t, { 'Content-Type': OTLP_CONTENT_TYPES[encoding] }, (now, stopped) => encoder.encode(now, stopped), (at) => encoder.encodeStale(at));
    }
  }

  start(): void {
    for (const e of this.exporters) {
      // An export still being encoded when the next is due (a very large one) is not followed by another in its wake.
      e.timer ??= setInterval(() => {
        if (e.running === undefined) void this.exportOne(e);
      }, e.intervalMs);
    }
  }

  /** Every endpoint exports now; resolves once each queue is empty or waits for a retry. */
  async exportNow(): Promise<void> {
    await Promise.all(
      this.exporters.map(async (e) => {
        await this.exportOne(e);
        await e.endpoint.drain();
      }),
    );
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
    if (this.stopped) return;
    this.stopped = true;
    for (const e of this.exporters) clearInterval(e.timer);
    const last = Promise.all(
      this.exporters.map(async (e) => {
        await this.exportOne(e, true);
        await e.endpoint.drain();
      }),
    );
    await Promise.race([last, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    this.closed = true;
    for (const e of this.exporters) e.endpoint.close(e.running !== undefined);
  }

  /** One export, after the one being encoded if any; the last (`ending`) with the protocol's end of the series. */
  private async exportOne(e: Exporter, ending = false): Promise<void> {
    while (e.running !== undefined) await e.running;
    const running = this.encodeOne(e, ending);
    e.running = running;
    try {
      await running;
    } finally {
      if (e.running === running) e.running = undefined;
    }
  }

  /**
   * Encodes one export, giving the thread back after each request made: its heartbeat and
   * the other endpoints' sends go on meanwhile. In one go, 100,000 histograms (1.8 million
   * samples, seconds of encoding) held the thread past its heartbeat: the watchdog replaced
   * the actor mid-export, again at each export, and nothing was ever sent, without an error
   * (until 2026-12-03). The requests are queued together once made (the last export's with
   * the protocol's end of the series), so none is dropped for another of the same export.
   */
  private async encodeOne(e: Exporter, ending: boolean): Promise<void> {
    const batches: Batch[] = [];
    const now = this.clock();
    e.endpoint.encoding(now);
    try {
      for (const b of e.encode(now, ending)) {
        batches.push(b);
        await nextTurn();
        if (this.closed) return;
      }
      for (const b of ending && e.ended ? e.ended(now + 1) : []) {
        batches.push(b);
        await nextTurn();
        if (this.closed) return;
      }
    } catch (error) {
      e.endpoint.encodeFailed(error instanceof Error ? error.message : String(error));
      return;
    } finally {
      e.endpoint.encoding(undefined);
    }
    e.endpoint.enqueue(batches);
  }
}
