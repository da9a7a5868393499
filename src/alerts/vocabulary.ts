/**
 * The words of an alert rule and its states, apart from the rule's zod schema (schema.ts), so
 * that a thread that only reads alerts, a report's, does not load zod: its ~90 files, opened at
 * once, were most of the descriptors a report thread needed to start (a host with few left
 * could not get one) and 3 MB of its heap.
 *
 * `anomaly` is the robust z-score (median/MAD, see src/analysis/anomaly.ts) of the window's mean
 * (a counter's rate) against the closed buckets before it: `anomaly > 4` fires when the window
 * sits four robust deviations above its recent history. No verdict (no data) without a baseline.
 */
export const AGGREGATIONS = ['last', 'avg', 'min', 'max', 'sum', 'count', 'rate', 'p50', 'p90', 'p95', 'p99', 'anomaly'] as const;
export const OPERATORS = ['>', '<', '>=', '<=', '==', '!='] as const;
export const SEVERITIES = ['info', 'warning', 'critical', 'emergency'] as const;
export const ALERT_STATES = ['inactive', 'pending', 'firing', 'resolved'] as const;

export type Aggregation = (typeof AGGREGATIONS)[number];
export type Operator = (typeof OPERATORS)[number];
export type Severity = (typeof SEVERITIES)[number];
export type AlertState = (typeof ALERT_STATES)[number];
