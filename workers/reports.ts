/**
 * The report pool's task file (piscina). A task reads the monitor's series store and
 * registry in place, through the SharedArrayBuffers posted with it (shared, not copied),
 * builds a report or the baselines, renders it when asked, and returns plain data. Progress
 * goes back over a MessagePort passed in the task, a few messages a report; cancellation is
 * piscina's: an aborted task's thread is terminated.
 *
 * Each pool thread keeps two sketch accumulators (about 3 MB each) and its views of each
 * monitor's buffers across tasks.
 */
import { getHeapStatistics } from 'node:v8';
import { threadId } from 'node:worker_threads';
import { Registry, reportLockTag } from '../src/engine/registry.js';
import { SketchAccumulator } from '../src/engine/sketch.js';
import * as Comlink from 'comlink';
import { nodeEndpoint } from '../src/actors/comlink-node.js';
import { SpanReader, spanRequests } from '../src/reports/span-reader.js';
import type { StoredRollups } from '../src/storage/rollups.js';
import { withEarlier, type Watched } from '../src/analysis/watched.js';
import { unpackHistory } from '../src/storage/histories.js';
import { seriesBaseline } from '../src/reports/baseline.js';
import { Pieces } from '../src/analysis/stats.js';
import { buildReport } from '../src/reports/build.js';
import { renderHtml } from '../src/reports/html.js';
import { renderMarkdown } from '../src/reports/markdown.js';
import { threadCpuMs } from '../src/engine/thread-cpu.js';
import type { ReportTask, ReportTaskResult, StorageActorApi } from '../src/actors/protocols.js';
import type { Baseline } from '../src/reports/types.js';

const acc = new SketchAccumulator();
const metricAcc = new SketchAccumulator();
const pieces = new Pieces();
/** Views per monitor (a process rarely has more than one or two). */
const views = new Map<string, { registry: Registry; reader: SpanReader }>();
/** Progress messages at most this often (plus the first and the last). */
const PROGRESS_EVERY_MS = 10;

function viewsFor(task: ReportTask): { registry: Registry; reader: SpanReader } {
  let v = views.get(task.monitorId);
  if (!v) {
    if (views.size >= 4) views.delete(views.keys().next().value!);
    v = { registry: new Registry(task.registry, reportLockTag(threadId)), reader: new SpanReader(task.store) };
    views.set(task.monitorId, v);
  }
  return v;
}

/**
 * Hands the reader the stored rollups of the task's range, read on the storage actor's port,
 * and extends the task's watched time with the runs of the processes that wrote them (their
 * samples are per second of the time those runs watched, not of this process's life);
 * without a port (storage 'memory', or the actor down) the report covers the memory only, and
 * says so when the actor could not answer.
 */
async function readStored(task: ReportTask, registry: Registry, reader: SpanReader): Promise<{ note: string | null; watched?: Watched }> {
  reader.setStored(new Map());
  const port = task.storage;
  const watched = task.watched;
  if (!port || task.kind === 'noop' || task.kind === 'hang') return { note: null, ...(watched ? { watched } : {}) };
  const remote = Comlink.wrap<StorageActorApi>(nodeEndpoint(port));
  try {
    const to = task.kind === 'report' ? (task.to ?? task.now + 1) : task.now + 1;
    const { ids, requests, from } = spanRequests(registry, reader, task.kind === 'report' ? (task.from ?? -Infinity) : -Infinity, to, task.kind === 'baselines' ? task.ids : undefined);
    if (requests.length === 0) return { note: null, ...(watched ? { watched } : {}) };
    const [packed, runs] = await Promise.all([remote.histories(requests), watched ? remote.runs(from, to) : []]);
    const stored = new Map<number, StoredRollups>();
    ids.forEach((id, i) => {
      const r = unpackHistory(packed, i);
      if (r && r.start.length > 0) stored.set(id, r);
    });
    const all = watched ? withEarlier(watched, runs) : undefined;
    reader.setStored(stored, all);
    return { note: null, ...(all ? { watched: all } : {}) };
  } catch (error) {
    return { note: `The rollups on disk could not be read (${error instanceof Error ? error.message : String(error)}): only the data in memory is included.`, ...(watched ? { watched } : {}) };
  } finally {
    remote[Comlink.releaseProxy]();
    port.close();
  }
}

export default async function run(task: ReportTask): Promise<ReportTaskResult> {
  const cpu0 = threadCpuMs();
  const { registry, reader } = viewsFor(task);
  const { note: storedNote, watched } = await readStored(task, registry, reader);
  const port = task.progress;
  let lastPost = 0;
  const progress = port
    ? (done: number, total: number): void => {
        const t = performance.now();
        if (done === 1 || done === total || t - lastPost >= PROGRESS_EVERY_MS) {
          lastPost = t;
          port.postMessage({ done, total });
        }
      }
    : undefined;
  const result: ReportTaskResult = { cpuMs: Number.NaN, heapUsed: 0 };
  // The timeout runs from here, not from when the task was queued.
  port?.postMessage({ started: true });
  try {
    if (task.kind === 'hang') {
      for (;;) {
        // stuck, as a report in an endless loop would be: the coordinator's timeout ends it
      }
    }
    if (task.kind === 'noop') {
      // nothing: the pool started a thread for it
    } else if (task.kind === 'baselines') {
      // The series with samples since the start that the page holds, over all their history;
      // the others keep the baseline the database holds (ReportService.baselines).
      const out: Baseline[] = [];
      const ids = task.ids ?? [];
      ids.forEach((id, i) => {
        const b = seriesBaseline(reader, registry.info(id), acc, task.now, pieces);
        if (b) out.push(b);
        progress?.(i + 1, ids.length);
      });
      result.baselines = out;
    } else {
      const report = buildReport(
        { registry, reader, acc, metricAcc },
        {
          ...(task.from !== undefined ? { from: task.from } : {}),
          ...(task.to !== undefined ? { to: task.to } : {}),
          now: task.now,
          includeAlerts: task.includeAlerts ?? true,
          includeRecommendations: task.includeRecommendations ?? true,
          alertHistory: task.alertHistory ?? [],
          alertHistoryAvailable: task.alertHistoryAvailable ?? false,
          profiles: task.profiles ?? [],
          ...(progress ? { progress } : {}),
          ...(watched ? { watched } : {}),
          ...(task.hub ? { hub: true } : {}),
        },
      );
      if (storedNote) report.notes.push(storedNote);
      report.notes.push(...(task.notes ?? []));
      result.report = report;
      if (task.format === 'markdown') result.rendered = renderMarkdown(report);
      else if (task.format === 'html') result.rendered = renderHtml(report);
    }
  } finally {
    // The last message on the progress port: the coordinator waits for it before resolving,
    // since the task's result travels on another port and may overtake the progress.
    port?.postMessage({ final: true });
  }
  result.cpuMs = threadCpuMs() - cpu0;
  result.heapUsed = getHeapStatistics().used_heap_size;
  return result;
}
