/**
 * perfwatch: an in-process performance monitor for Node.js.
 *
 * The library's public surface; everything else is internal and may change.
 */
export { PerformanceMonitor } from './monitor.js';
export type { MonitorStatus, MonitorState, RingStatus, ActorExit } from './monitor.js';
export type { DropReport } from './drops.js';
export type { FaultStatus, FaultRecord } from './faults.js';
export { attachProducer, MetricHandle, CounterHandle, Producer } from './producer.js';
export type { ProducerHandle, MetricOptions, RequestSample, BatchSample, SampleColumns } from './producer.js';
export { MonitorOptionsSchema, resolveOptions } from './options.js';
export type { MonitorOptions, ResolvedOptions } from './options.js';
export type { MetricQuery, MetricSnapshot, MetricWindow } from './query.js';
export type { HistoryQuery, HistoryPoint, MetricHistory, SeriesHistory, Resolution } from './history.js';
export type { McpHttpServer, ServeMcpOptions } from './mcp/http.js';
export { BUILTIN_METRICS, KINDS, UNITS } from './metrics.js';
export type { MetricKind, MetricUnit, MetricDefinition } from './metrics.js';
export type { Tags, CanonicalTags } from './registry.js';
export { anomalyScore, anomalyDetail, ANOMALY_RULES } from './reports/anomaly.js';
export { analyzeAlerts, ALERT_RULES } from './reports/alerts.js';
export { SCORE_PARTS, SCORE_FORMULA } from './reports/score.js';
export { DIAGNOSIS_RULES } from './reports/diagnoses.js';
export { OPTIMIZATION_TYPES } from './reports/tunables.js';
export { ReportAbortedError, ReportFailedError, ReportTimeoutError, OptimizationBusyError } from './reports/errors.js';
export type { ReportOptions } from './reports/service.js';
export type { OptimizeOptions, OptimizationResult, OptimizationRun, RunState, OptimizationLogEntry, PlanStep, AppliedChange } from './reports/optimization.js';
export type { TunableDefinition, OptimizationType, TunableType, Goal } from './reports/tunables.js';
export type { OverheadStatus } from './reports/overhead.js';
export type * from './reports/types.js';
export {
  PerfwatchError,
  InvalidArgumentError,
  CardinalityError,
  KindMismatchError,
  CapacityError,
  MonitorStoppedError,
  ActorError,
} from './errors.js';
export { AlertRuleInputSchema, AGGREGATIONS, OPERATORS, SEVERITIES, ALERT_STATES } from './alerts/schema.js';
export type { AlertRule, AlertRuleInput, Alert, AlertTransition, Aggregation, Operator, Severity, AlertState } from './alerts/schema.js';
export type { AlertQuery, HistoryFilter, AlertingStatus } from './alerts/alerting.js';
