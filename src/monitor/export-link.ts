/**
 * The coordinator's side of export (options.export): starts the exporter actor when there is
 * an endpoint to push to, supervised like the other actors (a dead or stuck one is replaced
 * by the watchdog and picks up at the next interval), and keeps what status() shows of it
 * current without a round trip: every second it asks the actor for its endpoints' counts,
 * keeps them across a replacement (the successor counts from zero), and records them as the
 * monitor's own series:
 *   monitor_export_sent, _failed, _dropped, _retries (samples or requests, counters),
 *   monitor_export_bytes (counter), monitor_export_queue_depth, monitor_export_lag (gauges),
 * tagged `exporter` ("remoteWrite[0]", "otlp[1]": the option's place, never the URL, which
 * may carry a secret or outgrow a tag). A request an endpoint refused (a 4xx, an OTLP 5xx
 * not retried) is a fault of kind export-rejected, an export that could not be encoded one of
 * kind export-encode: logged once per kind, counted in status().faults and monitor_faults.
 */
import type { ExporterApi, ExporterReport } from '../actors/protocols.js';
import { Supervisor, type WatchdogLink } from '../actors/supervisor.js';
import { EXPORT_BEAT_BY, EXPORT_CLOCK, EXPORT_TID } from '../engine/control.js';
import type { RegistryBuffers } from '../engine/registry.js';
import type { StoreBuffers } from '../engine/store/layout.js';
import { ActorError } from '../errors.js';
import { foldShareBytes } from '../analysis/fold-share.js';
import { idleStatus, type ExporterStatus } from '../export/exporter-status.js';
import { exportInstance } from '../process-name.js';
import type { Faults } from './faults.js';
import type { ResolvedOptions } from './options.js';
import { clearInterval, clearTimeout, setInterval, setTimeout } from '../engine/real-timers.js';

export type { ExporterStatus } from '../export/exporter-status.js';

/** What status() shows of export. */
export interface ExportStatus {
  /** The exporter actor; cpuMs: its threads' CPU time, the current one's and its predecessors'. */
  actor: { state: string; restarts: number; cpuMs: number };
  /** Per endpoint, remoteWrite's first, then otlp's, in the options' order. */
  exporters: (ExporterStatus & { exporter: string })[];
}

export interface ExportLinkDeps {
  options: ResolvedOptions;
  control: SharedArrayBuffer;
  registryBuffers: RegistryBuffers;
  store: StoreBuffers;
  /** Series ids the store holds: the exporter's histogram folds are kept per id. */
  seriesCapacity: number;
  watchdog: WatchdogLink;
  faults: Faults;
  emit: (event: string, ...args: unknown[]) => void;
  /** Records one of the monitor's own readings (a counter's increment, a gauge's value); false when the monitor records no more (stopping). */
  record: (name: string, value: number, tags: Record<string, string>) => boolean;
}

const COUNTED = ['sent', 'failed', 'dropped', 'retries', 'requests', 'bytes', 'encodeErrors'] as const;
type Counted = (typeof COUNTED)[number];

const RECORDED = ['sent', 'failed', 'dropped', 'retries', 'bytes'] as const satisfies readonly Counted[];

const REFRESH_MS = 1_000;

/** How long stop() waits for the actor's last export and its counts (it gives itself 2 s to send) before stopping it anyway. */
const FINISH_MS = 5_000;

export const EXPORT_METRICS = [
  { name: 'monitor_export_sent', kind: 'counter', unit: 'samples' },
  { name: 'monitor_export_failed', kind: 'counter', unit: 'samples' },
  { name: 'monitor_export_dropped', kind: 'counter', unit: 'samples' },
  { name: 'monitor_export_retries', kind: 'counter', unit: 'requests' },
  { name: 'monitor_export_bytes', kind: 'counter', unit: 'bytes' },
  { name: 'monitor_export_queue_depth', kind: 'gauge', unit: 'requests' },
  { name: 'monitor_export_lag', kind: 'gauge', unit: 'ms' },
] as const;

export class ExportLink {
  readonly actor: Supervisor<ExporterApi>;
  private readonly deps: ExportLinkDeps;
  private readonly names: string[];
  /** Per endpoint: totals of the actors before the current one, and the current one's last counts. */
  private readonly carried: Record<Counted, number>[];
  private readonly seen: Record<Counted, number>[];
  /** Per endpoint: what its monitor_export_* counters have taken, carried counts included. */
  private readonly recorded: Record<Counted, number>[];
  /** Per endpoint, the actor's last report; idle (idleStatus) until its first. */
  private last: ExporterStatus[];
  /** The actor's first report is taken: it records every monitor_export_* counter, at 0 if nothing was counted. */
  private reported = false;
  /** The thread of the actor whose counts `seen` holds. */
  private counter = 0;
  private cpuMs = 0;
  private cpuCarried = 0;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  /** No exporter started yet: the first is given resetFrom (protocols.ts), once. */
  private first = true;

  constructor(deps: ExportLinkDeps) {
    this.deps = deps;
    const e = deps.options.export;
    this.names = [...e.remoteWrite.map((_, i) => `remoteWrite[${i}]`), ...e.otlp.map((_, i) => `otlp[${i}]`)];
    const zero = (): Record<Counted, number> => ({ sent: 0, failed: 0, dropped: 0, retries: 0, requests: 0, bytes: 0, encodeErrors: 0 });
    this.carried = this.names.map(zero);
    this.seen = this.names.map(zero);
    this.recorded = this.names.map(zero);
    // Every endpoint configured is in status() from the start, before the actor's first report
    // (a second after start()): an empty list read as "no exporter configured", and a script
    // reading exporters[0].sent right after start() threw.
    this.last = [...e.remoteWrite.map((t) => idleStatus('remoteWrite', t.url)), ...e.otlp.map((t) => idleStatus('otlp', t.url))];
    // The histograms folded so far outlive each actor: a successor, or the exporter of the
    // next start(), takes them up instead of folding anew what the bucket ring no longer
    // holds into +Inf alone (fold-share.ts). None without an endpoint: no actor runs.
    const folds = new SharedArrayBuffer(this.configured ? foldShareBytes(deps.seriesCapacity, e.histogramBuckets.length) : 0);
    this.actor = new Supervisor<ExporterApi>(
      'exporter',
      new URL('../../workers/exporter.js', import.meta.url),
      () => {
        // The first exporter of the process sends each counter's 0 (remote-write.ts); its successors and later starts go on from it.
        const resetFrom = this.first ? { resetFrom: this.startedAt } : {};
        this.first = false;
        return { control: deps.control, registry: deps.registryBuffers, store: deps.store, config: deps.options.export, startedAt: this.startedAt, folds, ...resetFrom };
      },
      {
        exit: (info) => deps.emit('actor-exit', info),
        restart: (info) => deps.emit('actor-restart', info),
      },
      deps.watchdog,
      { control: deps.control, at: EXPORT_CLOCK, by: EXPORT_BEAT_BY, tid: EXPORT_TID },
    );
  }

  /** True when the options name an endpoint (otherwise no actor runs). */
  get configured(): boolean {
    return this.names.length > 0;
  }

  /** The `instance` label the exporters give the series they push (a hub's cluster-wide ones); undefined with no endpoint. */
  get instance(): string | undefined {
    return this.configured ? exportInstance(this.deps.options.export.instance) : undefined;
  }

  /** `startedAt`: when the monitor first started (the start of cumulative OTLP points). */
  async start(startedAt: number): Promise<void> {
    if (!this.configured) return;
    this.startedAt = startedAt;
    const started = this.actor.start();
    // The watchdog starts this actor's successors with the data it holds: from now on without
    // resetFrom (its start above read the data at once), so a successor's counters go on.
    this.actor.updateData();
    await started;
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  /**
   * A last export of the final values (briefly), its counts taken in, then the actor stops.
   * The counts were those of the last refresh before it: the last export, the stale markers
   * and what was left unsent were in no status or series, even after the next start (until
   * 2026-12-03).
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.actor.state === 'stopped') return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), FINISH_MS)));
    try {
      const report = await Promise.race([this.actor.call((a) => a.finish()), late]);
      if (report) this.take(report);
    } catch (error) {
      // Down or being replaced: its successor makes the last export in its stop().
      if (!(error instanceof ActorError)) this.deps.faults.report('export', error);
    } finally {
      clearTimeout(timer);
    }
    await this.actor.stop();
  }

  /** Every endpoint exports now; resolves with the status once each queue is empty or waits for a retry. */
  async exportNow(): Promise<ExportStatus> {
    if (this.actor.state !== 'stopped') this.take(await this.actor.call((a) => a.exportNow(), true));
    return this.status();
  }

  status(): ExportStatus {
    return {
      actor: { state: this.actor.state, restarts: this.actor.restarts, cpuMs: this.cpuCarried + this.cpuMs },
      exporters: this.last.map((s, i) => {
        const shown = { ...s, exporter: this.names[i]! };
        for (const k of COUNTED) shown[k] = this.carried[i]![k] + s[k];
        return shown;
      }),
    };
  }

  private async refresh(): Promise<void> {
    try {
      this.take(await this.actor.call((a) => a.status()));
    } catch (error) {
      // Down or being replaced: the last counts stand until the successor answers.
      if (!(error instanceof ActorError)) this.deps.faults.report('export', error);
    }
  }

  /** Takes an actor's counts in, records the increments as own metrics. */
  private take(report: ExporterReport): void {
    // A successor counts from zero: what its predecessor counted is kept.
    const successor = report.thread !== this.counter;
    this.counter = report.thread;
    if (successor) this.cpuCarried += this.cpuMs;
    this.cpuMs = report.cpuMs;
    const now = report.exporters;
    // The first report records every counter, at 0 if nothing was counted: a series that
    // appears only with its first failure hides that failure from Prometheus's increase().
    const first = !this.reported;
    this.reported = true;
    now.forEach((s, i) => {
      const tags = { exporter: this.names[i]! };
      const seen = this.seen[i]!;
      if (successor) {
        for (const k of COUNTED) {
          this.carried[i]![k] += seen[k];
          seen[k] = 0;
        }
        // What the predecessor still held, by its last report, went with its thread (killed,
        // or replaced stuck): dropped, not sent later. A stop() left nothing queued (its
        // finish() counts what it could not send as dropped). Uncounted, a dead exporter's
        // queue, up to queueLimit requests, vanished from every count.
        this.carried[i]!.dropped += this.last[i]?.queuedSamples ?? 0;
      }
      for (const k of RECORDED) {
        // From what the series has taken, not from the last report: the counts of the last
        // export, taken at stop() when the monitor records no more, go in at the next start.
        const total = this.carried[i]![k] + s[k];
        const delta = total - this.recorded[i]![k];
        if ((delta > 0 || first) && this.deps.record(`monitor_export_${k}`, delta, tags)) this.recorded[i]![k] = total;
      }
      // What this thread learns from the counts: a refused request, an export not encoded.
      if (s.failed > seen.failed) this.deps.faults.report('export-rejected', new Error(s.lastError?.message ?? `${tags.exporter}: a request was refused`));
      if (s.encodeErrors > seen.encodeErrors) this.deps.faults.report('export-encode', new Error(s.lastError?.message ?? `${tags.exporter}: an export could not be encoded`));
      for (const k of COUNTED) seen[k] = s[k];
      this.deps.record('monitor_export_queue_depth', s.queueDepth, tags);
      this.deps.record('monitor_export_lag', s.lagMs, tags);
    });
    this.last = now;
  }
}
