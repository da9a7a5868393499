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
import { StoreReader } from '../src/engine/store/reader.js';
import { seriesBaseline } from '../src/reports/baseline.js';
import { Pieces } from '../src/analysis/stats.js';
import { buildReport } from '../src/reports/build.js';
import { renderHtml } from '../src/reports/html.js';
import { renderMarkdown } from '../src/reports/markdown.js';
import { threadCpuMs } from '../src/engine/thread-cpu.js';
import type { ReportTask, ReportTaskResult } from '../src/actors/protocols.js';
import type { Baseline } from '../src/reports/types.js';

const acc = new SketchAccumulator();
const metricAcc = new SketchAccumulator();
const pieces = new Pieces();
/** Views per monitor (a process rarely has more than one or two). */
const views = new Map<string, { registry: Registry; reader: StoreReader }>();
/** Progress messages at most this often (plus the first and the last). */
const PROGRESS_EVERY_MS = 10;

function viewsFor(task: ReportTask): { registry: Registry; reader: StoreReader } {
  let v = views.get(task.monitorId);
  if (!v) {
    if (views.size >= 4) views.delete(views.keys().next().value!);
    v = { registry: new Registry(task.registry, reportLockTag(threadId)), reader: new StoreReader(task.store) };
    views.set(task.monitorId, v);
  }
  return v;
}

export default function run(task: ReportTask): ReportTaskResult {
  const cpu0 = threadCpuMs();
  const { registry, reader } = viewsFor(task);
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
      const out: Baseline[] = [];
      const n = registry.seriesCount();
      for (let id = 0; id < n; id++) {
        if (reader.totalCount(id) > 0) {
          const b = seriesBaseline(reader, registry.info(id), acc, task.now, pieces);
          if (b) out.push(b);
        }
        progress?.(id + 1, n);
      }
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
          ...(task.watched ? { watched: task.watched } : {}),
        },
      );
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
