/**
 * The MCP front of one monitor: builds an McpServer (SDK v2) per connection or request, all
 * over the same MonitorHost, and carries monitor events to connected clients.
 *
 * Eras: a 2025-era connection (initialize handshake; stdio, or an HTTP session) gets log
 * notifications (notifications/message, level by severity, filtered by logging/setLevel) and
 * resources/updated for the URIs it subscribed to with resources/subscribe. A 2026-07-28
 * connection has no unsolicited log messages (MCP logging is per request there); it gets
 * resources/updated on its subscriptions/listen stream, which the SDK's serving entry routes.
 */
import { McpServer, type ServerContext } from '@modelcontextprotocol/server';
import { MetricSummaries } from './format.js';
import type { TagLimits } from './schemas.js';
import type { MonitorHost } from './host.js';
import type { EndpointStatus } from './http-options.js';
import type { Front, LogLevel, ToolLimits } from './front.js';
import { GROUP_WAIT_MS, forwardAlerts } from './alert-notices.js';
import { fastLane, type FastLane } from './fast-lane/index.js';
import { answeringInvalidParams } from './invalid-params.js';
import { registerResources } from './resources.js';
import { TOOL_DEADLINE_MS } from './tools/define.js';
import { registerTools } from './tools/index.js';
import { answeringUnknownResources, unknownResourceError } from './unknown-resource.js';
import { answeringUnknownTools } from './unknown-tool.js';
import { VERSION } from '../version.js';

export type Era = 'legacy' | 'modern';

const INSTRUCTIONS = `perfwatch monitors this Node.js service and machine in-process.
Orient with get_monitoring_status; read current values with get_performance_metrics and trends with get_metric_history (both bounded: limit, max_points).
Record measurements with record_performance_metric (one, or a batch of samples) and record_request_performance.
Watch thresholds with create_performance_alert_rule and get_performance_alerts (delete_performance_alert_rule takes a rule back); alert changes arrive as notifications (log messages, and resources/updated for perfwatch://alerts).
Explain and improve with generate_performance_report (score, diagnoses, recommendations with evidence) and optimize_performance (a dry-run plan first, then auto_apply with verification and rollback).
Find the code to blame with capture_performance_profile (a CPU or heap profile of the service's main thread: top functions at file:line).
start_performance_monitoring and stop_performance_monitoring start and stop the monitor (a service's own: pause and resume its own sampling).
Durations are seconds unless a name says ms; time_range is 90s, 15m, 1h, 24h or 7d.`;

/** A connected 2025-era instance and the resource URIs it subscribed to. */
interface LegacyPeer {
  server: McpServer;
  subscriptions: Set<string>;
}

/** Where a resource-updated event goes besides legacy peers (a modern HTTP entry's listen bus). */
export type UpdatePublisher = (uri: string) => void;

export interface FrontOptions {
  /** Whether the tools that change state run (default true; see policy.ts). */
  stateChanges?: boolean;
  /** Longest a tool call may hold its request (tests shorten it). */
  toolDeadlineMs?: number;
  /** How long alert transitions are gathered into one notification. */
  alertGroupWaitMs?: number;
  /** Whether record_performance_metric batches take the fast lane (default true; see fast-lane/index.ts). */
  fastLane?: boolean;
}

export class McpFront implements Front {
  readonly host: MonitorHost;
  /** Whether tools that change state run for this front's clients (policy.ts). */
  readonly stateChanges: boolean;
  /** Set by an HTTP endpoint serving this front. */
  endpointStatus: (() => EndpointStatus) | undefined;
  /**
   * Metric summaries kept between polls: one for every connection and request (a 2026-era
   * HTTP request gets a server of its own).
   */
  readonly summaries = new MetricSummaries();
  readonly checkedSummaries = new WeakSet<object>();
  readonly lane: FastLane;
  private readonly legacy = new Set<LegacyPeer>();
  private readonly modern = new Set<McpServer>();
  private readonly publishers = new Set<UpdatePublisher>();

  /** Limits of every tool call (the deadline; tests shorten it). */
  readonly limits: ToolLimits;

  constructor(host: MonitorHost, options: FrontOptions = {}) {
    this.host = host;
    this.stateChanges = options.stateChanges ?? true;
    this.limits = { deadlineMs: options.toolDeadlineMs ?? TOOL_DEADLINE_MS };
    this.lane = fastLane(options.fastLane ?? true);
    forwardAlerts(this, options.alertGroupWaitMs ?? GROUP_WAIT_MS);
  }

  /**
   * A server instance with every tool and resource. `track` registers it for notifications:
   * true for an instance that lives as long as its connection (stdio, an HTTP session), false
   * for a per-request one.
   */
  createServer(era: Era, track = true): McpServer {
    // The tools and resources capabilities are declared by the first tool and resource
    // registered (as `{ listChanged: true }`), which installs the SDK's tools/call and
    // resources/read handlers where answeringUnknownTools and answeringUnknownResources can
    // wrap them; declared here, they would be installed at once, out of reach.
    const server = new McpServer({ name: 'perfwatch', version: VERSION }, { capabilities: { logging: {} }, instructions: INSTRUCTIONS });
    answeringInvalidParams(server);
    answeringUnknownTools(server, () => registerTools(server, this));
    const resources = answeringUnknownResources(server, () => registerResources(server, this));
    server.server.registerCapabilities({ resources: { subscribe: true } });
    if (!track) return server;
    if (era === 'legacy') {
      const peer: LegacyPeer = { server, subscriptions: new Set() };
      server.server.setRequestHandler('resources/subscribe', (request) => {
        // Only a resource's URI: a session kept any URI it was sent, without bound.
        const uri = request.params.uri;
        if (!resources.has(uri)) throw unknownResourceError(uri, [...resources]);
        peer.subscriptions.add(uri);
        return {};
      });
      server.server.setRequestHandler('resources/unsubscribe', (request) => {
        peer.subscriptions.delete(request.params.uri);
        return {};
      });
      this.legacy.add(peer);
      chainOnClose(server, () => this.legacy.delete(peer));
    } else {
      this.modern.add(server);
      chainOnClose(server, () => this.modern.delete(server));
    }
    return server;
  }

  /**
   * The tag limits of the monitor served, which the tools' schemas advertise. A server takes
   * them when it is created; a monitor replaced later with other limits has its own checks.
   */
  get tagLimits(): TagLimits {
    const o = this.host.monitor.options;
    return { maxTags: o.maxTags, maxTagValueLength: o.maxTagValueLength };
  }

  /** Adds a sink for resource updates (the HTTP entry's listen bus); returns an undo. */
  addPublisher(publish: UpdatePublisher): () => void {
    this.publishers.add(publish);
    return () => this.publishers.delete(publish);
  }

  /** Tells subscribers of `uri` that it changed, on every era and transport. */
  resourceUpdated(uri: string): void {
    for (const peer of this.legacy) {
      if (peer.subscriptions.has(uri)) void peer.server.server.sendResourceUpdated({ uri }).catch(() => {});
    }
    // A modern stdio instance's outbound change notifications are routed onto its open
    // subscriptions/listen streams by serveStdio (and dropped when none asked for the URI).
    for (const server of this.modern) void server.server.sendResourceUpdated({ uri }).catch(() => {});
    for (const publish of this.publishers) publish(uri);
  }

  /** A log notification to every 2025-era connection (each filters by its logging/setLevel). */
  log(level: LogLevel, logger: string, data: unknown): void {
    for (const peer of this.legacy) {
      // The SDK keeps a connection's logging/setLevel under its transport's session id (an
      // HTTP session's Mcp-Session-Id; none on stdio) and filters by the id it is sent with:
      // sent without one, an HTTP session's level was never found and every level went out.
      const sessionId = peer.server.server.transport?.sessionId;
      void peer.server.sendLoggingMessage({ level, logger, data }, sessionId).catch(() => {});
    }
  }
}

/** Runs `fn` when the instance closes, keeping whatever onclose the SDK or a caller set. */
function chainOnClose(server: McpServer, fn: () => void): void {
  const previous = server.server.onclose;
  server.server.onclose = () => {
    fn();
    previous?.();
  };
}

export type { ServerContext };
