/**
 * perfwatch: an in-process performance monitor for Node.js.
 *
 * The library's public surface; everything else is internal and may change.
 */
// First: a copy of perfwatch that cannot find its files says so before any other module fails on it.
import './bundle-check.js';
export { PerformanceMonitor } from './monitor/monitor.js';
export type { MonitorStatus, MonitorState, RingStatus, ActorExit } from './monitor/monitor.js';
export type { BindingLimit, MemoryFit } from './monitor/memory-fit.js';
export type { MemoryLimit } from './engine/memory-limit.js';
export type { CpuLimit } from './engine/cpu-limit.js';
export type { EmitterEvent, MonitorEvents } from './monitor/events.js';
export type { CatalogView, StorageStatusView } from './monitor/storage-link.js';
export type { StoredData } from './monitor/control-state.js';
export type { ControlCounts } from './actors/protocols.js';
export type { ControlLogStatus } from './monitor/control-log.js';
export type { StorageStatus, StorageOp } from './storage/service.js';
export type { HubLinkStatus } from './hub/role.js';
export type { HubStatus, HubMemberStatus } from './hub/hub.js';
export type { HubConnections } from './hub/transport.js';
export type { MemberLinkStatus } from './hub/member.js';
export type { HubOptions } from './hub/options.js';
export type { SqlValue } from './storage/driver.js';
export type { ActorState } from './actors/supervisor.js';
export type { Fault, SystemInfo } from './actors/protocols.js';
export type { SourceCost } from './engine/system.js';
export type { CpuSource } from './engine/thread-cpu.js';
export type { OverflowPolicy, RingStats } from './engine/ring.js';
export type { DropReport } from './monitor/drops.js';
export type { FaultStatus, FaultRecord } from './monitor/faults.js';
export type { SeriesRefusalStatus } from './monitor/series-refusals.js';
export type { ExportStatus, ExporterStatus } from './monitor/export-link.js';
export type { ExporterKind } from './export/endpoint.js';
export { attachProducer } from './engine/producer.js';
export type { MetricHandle, CounterHandle, Producer } from './engine/producer.js';
export type { ProducerHandle, MetricOptions, RequestSample, BatchSample, SampleColumns } from './engine/producer.js';
export type { SampledName } from './engine/reserved.js';
export { MonitorOptionsSchema, resolveOptions } from './monitor/options.js';
export { InstrumentOptionsSchema } from './instrument/options.js';
export type { InstrumentOptions, InstrumentSource, PiscinaLike } from './instrument/options.js';
export type { InstrumentStatus } from './instrument/instrumentation.js';
export type { MonitorOptions, ResolvedOptions } from './monitor/options.js';
export type { MetricName, MetricQuery, MetricSnapshot, MetricWindow } from './monitor/query.js';
export type { HistoryQuery, HistoryOrder, HistoryPoint, MetricHistory, SeriesHistory, Resolution } from './monitor/history.js';
export type { McpHttpServer, ServeMcpOptions, EndpointStatus } from './mcp/http-options.js';
export type { SessionStats } from './mcp/sessions.js';
export type { CallStats } from './monitor/call-gate.js';
export type { HttpServer, HttpServerStatus, EventStreamStats } from './http/types.js';
export type { ServeHttpOptions } from './http/options.js';
export type { ExpositionLeftOut, ExpositionStats } from './http/exposition.js';
export type { HeldStats } from './http/held-bodies.js';
export type { Router, Route, RouteContext } from './http/router.js';
export { BUILTIN_METRICS, KINDS, UNITS } from './engine/metrics.js';
export type { MetricKind, MetricUnit, MetricDefinition } from './engine/metrics.js';
export type { Tags, CanonicalTags, RegistryBuffers, RegistryLimits } from './engine/registry.js';
export { ANOMALY_RULES } from './analysis/anomaly.js';
export { analyzeAlerts, ALERT_RULES } from './reports/alerts.js';
export { SCORE_PARTS, SCORE_FORMULA } from './reports/score.js';
export type { ScorePartRule } from './reports/score.js';
export { DIAGNOSIS_RULES } from './reports/diagnoses.js';
export { OPTIMIZATION_TYPES } from './optimizer/tunables.js';
export type { BaselineOptions, ReportOptions } from './reports/service.js';
export type { OptimizeOptions, OptimizationResult, OptimizationRun, RunState, OptimizationLogEntry, LogKind, PlanStep, AppliedChange } from './optimizer/optimization.js';
export type { Tunable, TunableDefinition, OptimizationType, TunableType, Goal, TargetReading } from './optimizer/tunables.js';
export type { OverheadOptions, OverheadStatus } from './overhead/governor.js';
export { ProfileRequestSchema } from './profiling/schema.js';
export { PROFILE_KINDS, type ProfileKind } from './profiling/limits.js';
export type { ProfileRequest, Capture, CaptureNote, CpuSummary, HeapSummary, FunctionTime, HotStack, AllocationSite, CodeSite, LeadSite } from './profiling/schema.js';
export type { ProfilerStatus } from './profiling/profiler.js';
export type { ProfileFilesStatus } from './profiling/files.js';
export type { ProfilingOptions } from './profiling/options.js';
export { ProfileBusyError, ProfileError } from './profiling/errors.js';
export type * from './reports/types.js';
export {
  PerfwatchError,
  InvalidArgumentError,
  CardinalityError,
  KindMismatchError,
  CapacityError,
  MonitorStoppedError,
  ActorError,
  ReportAbortedError,
  ReportFailedError,
  ReportTimeoutError,
  OptimizationBusyError,
  StorageError,
  StorageLockedError,
  ERROR_CODES,
} from './errors.js';
export type { ErrorCode, ErrorParts, Given } from './errors.js';
export { AlertRuleInputSchema, AGGREGATIONS, OPERATORS, SEVERITIES, ALERT_STATES } from './alerts/schema.js';
export type { AlertRule, AlertRuleInput, Alert, AlertTransition, Aggregation, Operator, Severity, AlertState } from './alerts/schema.js';
export type { AlertQuery, HistoryFilter, AlertingStatus } from './alerts/alerting.js';
export type { NotifierStats } from './alerts/notify.js';
