/** What a running HTTP front is and says of itself (monitor.serveHttp's answer). */
import type { CallStats } from '../monitor/call-gate.js';
import type { EndpointStatus } from '../mcp/http-options.js';
import type { ExpositionStats } from './exposition.js';
import type { HeldStats } from './held-bodies.js';
import type { Router } from './router.js';

export interface EventStreamStats {
  open: number;
  limit: number;
  /** Streams refused (503) because `limit` were open: a client that EventSource leaves refused asks again later. */
  refused: number;
  /** Streams dropped: their client read too slowly (buffer) or not at all (stalled). */
  dropped: { buffer: number; stalled: number };
}

export interface HttpServerStatus {
  url: string;
  /** TCP connections open now, the cap (maxConnections), and those refused at the cap. */
  connections: { open: number; limit: number; refused: number };
  /** The MCP endpoint's sessions, buffered bytes and refusals. */
  mcp: EndpointStatus;
  /**
   * The call gate /mcp's calls and /api's requests share (one main thread): places in progress,
   * away (given back while they await work off the main thread), queued, the limits, refused
   * busy. The same counts as `mcp.calls`, kept there for the readers of that name.
   */
  calls: CallStats;
  /** The last /metrics rendered: families, series, what was left out and why, unbucketed samples; and the bodies held now for clients still reading them, against their bound, with the scrapes refused at it. */
  metrics: ExpositionStats & HeldStats & {
    /** /metrics answers closed since the server started, their client having left their body unread for responseStallMs. */
    stalled: number;
  };
  scrapes: number;
  /** Renders asked of the exposition worker: scrapes that arrive while one of their format is in flight share it, so fewer than `scrapes`. */
  renders: number;
  /** Exposition workers started (more than one: it was restarted). */
  workerStarts: number;
  histogramBuckets: number[];
  events: EventStreamStats;
}

export interface HttpServer {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  readonly port: number;
  readonly mcpUrl: string;
  readonly metricsUrl: string;
  /** The routes; a front built on this one (the dashboard) adds its own. */
  readonly router: Router;
  status(): HttpServerStatus;
  /** Stops accepting, closes MCP sessions, event streams and the exposition worker. */
  close(): Promise<void>;
}
