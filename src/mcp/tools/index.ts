/**
 * The tools of a front, in the order tools/list shows them. A tool is one file of this
 * folder (its arguments, its answer, its handler; helpers in define.ts) and its line here.
 * The tools' schemas are re-exported for the tests that check answers against them.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import type { Front } from '../front.js';
import capturePerformanceProfile from './capture-performance-profile.js';
import createPerformanceAlertRule from './create-performance-alert-rule.js';
import deletePerformanceAlertRule from './delete-performance-alert-rule.js';
import generatePerformanceReport from './generate-performance-report.js';
import getMetricHistory from './get-metric-history.js';
import getMonitoringStatus from './get-monitoring-status.js';
import getPerformanceAlerts from './get-performance-alerts.js';
import getPerformanceMetrics from './get-performance-metrics.js';
import optimizePerformance from './optimize-performance.js';
import recordPerformanceMetric from './record-performance-metric.js';
import recordRequestPerformance from './record-request-performance.js';
import startPerformanceMonitoring from './start-performance-monitoring.js';
import stopPerformanceMonitoring from './stop-performance-monitoring.js';

const TOOLS: readonly ((server: McpServer, front: Front) => void)[] = [
  startPerformanceMonitoring,
  stopPerformanceMonitoring,
  recordPerformanceMetric,
  recordRequestPerformance,
  getPerformanceMetrics,
  getMonitoringStatus,
  getMetricHistory,
  createPerformanceAlertRule,
  deletePerformanceAlertRule,
  getPerformanceAlerts,
  generatePerformanceReport,
  optimizePerformance,
  capturePerformanceProfile,
];

export function registerTools(server: McpServer, front: Front): void {
  for (const register of TOOLS) register(server, front);
}

export * from './capture-performance-profile.js';
export * from './create-performance-alert-rule.js';
export * from './delete-performance-alert-rule.js';
export * from './generate-performance-report.js';
export * from './get-metric-history.js';
export * from './get-performance-metrics.js';
export * from './optimize-performance.js';
export * from './record-performance-metric.js';
export * from './record-request-performance.js';
export * from './start-performance-monitoring.js';
export * from './stop-performance-monitoring.js';
