/**
 * What a tool, a resource or the alert forwarder sees of the MCP front that serves it
 * (McpFront in server.ts implements it): the monitor's host, the front's policy and limits,
 * the caches shared by its connections, and the ways to tell clients that something changed.
 * Kept apart from server.ts, which registers the tools, so that tools never import it.
 */
import type { FastLane } from './fast-lane/index.js';
import type { EndpointStatus } from './http-options.js';
import type { MetricSummaries } from './format.js';
import type { MonitorHost } from './host.js';
import type { TagLimits } from './schemas.js';

export type LogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error' | 'critical' | 'alert' | 'emergency';

export interface ToolLimits {
  deadlineMs: number;
}

export interface Front {
  readonly host: MonitorHost;
  /** Whether tools that change state run for this front's clients (policy.ts). */
  readonly stateChanges: boolean;
  /** Limits of every tool call (the deadline; tests shorten it). */
  readonly limits: ToolLimits;
  /** The tag limits of the monitor served, which the tools' schemas advertise. */
  readonly tagLimits: TagLimits;
  /**
   * Metric summaries kept between polls: one for every connection and request (a 2026-era
   * HTTP request gets a server of its own).
   */
  readonly summaries: MetricSummaries;
  /** The fast lane for batches, or the ordinary path when it is off. */
  readonly lane: FastLane;
  /** Set by an HTTP endpoint serving this front. */
  readonly endpointStatus: (() => EndpointStatus) | undefined;
  /** Tells subscribers of `uri` that it changed, on every era and transport. */
  resourceUpdated(uri: string): void;
  /** A log notification to every 2025-era connection (each filters by its logging/setLevel). */
  log(level: LogLevel, logger: string, data: unknown): void;
}
