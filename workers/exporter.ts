/**
 * The exporter actor: pushes the store's series to remote_write and OTLP endpoints
 * (src/export/service.ts does the work), so that encoding, compression and the wait on a
 * slow or absent endpoint cost the host's threads nothing. It reads the store in place
 * through the same walk as /metrics (analysis/series-walk.ts), and between exports folds
 * newly closed buckets into its histograms often enough that the bucket ring never laps it.
 *
 * Heartbeat: EXPORT_CLOCK every second and EXPORT_BEAT_BY a second later plus a generous
 * grace: an export is a few milliseconds of encoding, the sends are asynchronous.
 */
import { threadId, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { nodeEndpoint } from '../src/actors/comlink-node.js';
import type { ExporterApi, ExporterData, ExporterReport } from '../src/actors/protocols.js';
import { FoldShare } from '../src/analysis/fold-share.js';
import { SeriesWalk } from '../src/analysis/series-walk.js';
import { EXPORT_BEAT_BY, EXPORT_CLOCK, EXPORT_TID, controlViews } from '../src/engine/control.js';
import { Registry, reportLockTag } from '../src/engine/registry.js';
import { StoreReader } from '../src/engine/store/reader.js';
import { monitorNow } from '../src/engine/monitor-clock.js';
import { ownThreadId, threadCpuMs } from '../src/engine/thread-cpu.js';
import { ExportService } from '../src/export/service.js';

const BEAT_MS = 1_000;
const GRACE_MS = 10_000;
/** How long stop() lets the last export go out. */
const LAST_EXPORT_MS = 2_000;

const data = workerData as ExporterData;
const ctl = controlViews(data.control);
ctl.f64[EXPORT_TID] = ownThreadId();
const reader = new StoreReader(data.store);
const walk = new SeriesWalk(new Registry(data.registry, reportLockTag(threadId)), reader, data.config.histogramBuckets, { folds: new FoldShare(data.folds, data.config.histogramBuckets.length) });
const service = new ExportService(walk, data.config, data.startedAt, () => monitorNow(ctl), data.resetFrom);

function report(): ExporterReport {
  return { thread: threadId, cpuMs: threadCpuMs(), exporters: service.status() };
}

function beat(): void {
  const now = monitorNow(ctl);
  ctl.f64[EXPORT_CLOCK] = now;
  ctl.f64[EXPORT_BEAT_BY] = now + BEAT_MS + GRACE_MS;
}
beat();
const beating = setInterval(beat, BEAT_MS);
const foldMs = Math.min(15_000, Math.max(1_000, (reader.layout.t1Cap * reader.layout.intervalMs) / 4));
const folding = setInterval(() => walk.foldAll(), foldMs);

const api: ExporterApi = {
  ready: () => monitorNow(ctl),
  status: report,
  async exportNow() {
    await service.exportNow();
    return report();
  },
  async finish() {
    clearInterval(folding);
    await service.stop(LAST_EXPORT_MS);
    return report();
  },
  async stop() {
    clearInterval(folding);
    await service.stop(LAST_EXPORT_MS);
    clearInterval(beating);
  },
  injectFault(fault) {
    if (fault === 'throw') setTimeout(() => {
      throw new Error('injected fault');
    });
    else setTimeout(() => process.exit(5), 5);
  },
};

Comlink.expose(api, nodeEndpoint(data.port!));
service.start();
