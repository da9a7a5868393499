/**
 * What status() shows of one export endpoint, and that status before it did anything. The
 * monitor's thread shows the idle one for every configured endpoint until the exporter actor's
 * first report (a second after start()): status().export.exporters was empty until then,
 * so a health check reading `exporters[0].sent` right after start() threw. Apart from
 * endpoint.ts, whose sender loads the OTLP serializers, which the monitor's thread never needs.
 */
import { shownUrl } from '../url-credentials.js';

export type ExporterKind = 'remoteWrite' | 'otlp';

export interface ExporterStatus {
  kind: ExporterKind;
  /** The URL without its credentials or query (headers are never shown). */
  url: string;
  /** Samples (remote_write) or points (OTLP) the receiver took. */
  sent: number;
  /** Samples in requests the receiver refused (a 4xx other than 429; OTLP's 5xx other than 502, 503, 504): not retried. */
  failed: number;
  /** Samples dropped from a full queue, or left unsent when the monitor stopped. */
  dropped: number;
  /** Requests sent successfully, attempts that failed and were retried, bytes sent. */
  requests: number;
  retries: number;
  bytes: number;
  /** Exports that could not be encoded (a fault of ours: nothing was queued). */
  encodeErrors: number;
  /** Requests waiting (the one being sent included), and their samples. */
  queueDepth: number;
  queuedSamples: number;
  /** The last error, until a request is taken whole after it. */
  lastError: { message: string; status: number | null; at: number } | null;
  lastSuccessAt: number | null;
  /** Age of the oldest batch not yet sent, or of the export being encoded (0 when none waits). */
  lagMs: number;
}

/** An endpoint that has sent nothing, queued nothing and failed at nothing. */
export function idleStatus(kind: ExporterKind, url: string): ExporterStatus {
  return { kind, url: shownUrl(url), sent: 0, failed: 0, dropped: 0, requests: 0, retries: 0, bytes: 0, encodeErrors: 0, queueDepth: 0, queuedSamples: 0, lastError: null, lastSuccessAt: null, lagMs: 0 };
}
