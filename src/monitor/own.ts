/**
 * The monitor's own metrics that its parts record (the overhead governor, the report pool),
 * defined with their kinds at construction in the name table's share held back for them, and its own knobs for optimize(): the report
 * pool's threads and the system sampling cadence; and the sampled names the application may not
 * record into while their sampler runs (engine/reserved.ts).
 */
import { availableParallelism } from 'node:os';
import type { Registry } from '../engine/registry.js';
import type { Optimizer } from '../optimizer/optimizer.js';
import type { OverheadGovernor } from '../overhead/governor.js';
import type { ReportService } from '../reports/service.js';
import type { ResolvedOptions } from './options.js';
import { HUB_METRICS } from '../hub/role.js';
import { EXPORT_METRICS } from './export-link.js';
import { SYSTEM_SERIES } from '../engine/system.js';
import type { SampledName } from '../engine/reserved.js';
import { RUNTIME_SERIES } from './runtime.js';

const OWN_METRICS = [
  { name: 'monitor_overhead_cpu', kind: 'gauge', unit: 'percent' },
  { name: 'monitor_overhead_memory', kind: 'gauge', unit: 'bytes' },
  { name: 'monitor_backoff_level', kind: 'gauge', unit: 'count' },
  { name: 'monitor_report_time', kind: 'distribution', unit: 'ms' },
] as const;

export function defineOwnMetrics(registry: Registry): void {
  for (const m of [...OWN_METRICS, ...HUB_METRICS, ...EXPORT_METRICS]) registry.defineOwn(m.name, m.kind, m.unit);
}

/** The sampled names the application may not record into under these options: those of the samplers that run. */
export function sampledNames(o: ResolvedOptions): SampledName[] {
  return [...(o.system.enabled ? SYSTEM_SERIES.map((n): SampledName => [n, 'system.enabled']) : []), ...(o.runtime.enabled ? RUNTIME_SERIES.map((n): SampledName => [n, 'runtime.enabled']) : [])];
}

export function registerOwnTunables(optimizer: Optimizer, reports: ReportService, overhead: OverheadGovernor, o: ResolvedOptions): void {
  optimizer.register(
    {
      name: 'perfwatch.report_threads',
      type: 'concurrency',
      get: () => reports.threads,
      set: (n) => reports.setThreads(n),
      min: 1,
      // The cores (at least 2), or the threads configured where more (reports.threads takes
      // 1-64 whatever the machine): the configured value lies in the range, or the monitor's
      // constructor threw "tunable.get must return a finite number …", naming no option.
      max: Math.max(2, availableParallelism(), o.reports.threads),
      step: 1,
      target: 'monitor_report_time',
      goal: 'decrease',
      description: 'Threads of the report pool; more serve concurrent reports, each costs a heap and two 3 MB sketches.',
    },
    true,
  );
  if (!o.system.enabled) return;
  optimizer.register(
    {
      name: 'perfwatch.system_cadence_ms',
      type: 'cpu',
      get: () => overhead.baseCadenceMs,
      set: (ms) => overhead.setBaseCadence(ms),
      min: o.collectionIntervalMs,
      max: o.collectionIntervalMs * 60,
      step: o.collectionIntervalMs,
      target: 'monitor_overhead_cpu',
      goal: 'decrease',
      prefer: 'up',
      description: 'How often the collector samples system metrics (cpu, memory, disk, network); slower costs less CPU and shows less detail.',
    },
    true,
  );
}
