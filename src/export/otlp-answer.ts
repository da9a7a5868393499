/**
 * An OTLP/HTTP receiver's 200 may accept a request in part: its ExportMetricsServiceResponse
 * then carries `partial_success` with the number of data points it rejected and why (the
 * OTLP specification: the client must not retry them). Read here from the start of the answer
 * (answer-start.ts), in the request's encoding, by the official serializers that encode the
 * requests (@opentelemetry/otlp-transformer's deserializeResponse).
 * Until 2026-12-02 every point of such a request counted as sent, and nothing said otherwise.
 */
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';

export interface PartialSuccess {
  rejected: number;
  message: string;
}

/** The receiver's partial success, or undefined when it took every point (or said nothing readable). */
export function partialSuccess(body: Uint8Array | undefined, json: boolean): PartialSuccess | undefined {
  if (body === undefined || body.byteLength === 0) return undefined;
  try {
    const answer = (json ? JsonMetricsSerializer : ProtobufMetricsSerializer).deserializeResponse(body);
    // JSON may name the fields as the .proto does (proto3's JSON mapping takes both).
    const named = answer as Record<string, unknown> | undefined;
    const p = (named?.partialSuccess ?? named?.partial_success) as Record<string, unknown> | undefined;
    if (p === null || typeof p !== 'object') return undefined;
    // int64: a number from protobuf, a string in JSON (the proto3 JSON mapping).
    const rejected = Number(p.rejectedDataPoints ?? p.rejected_data_points ?? 0);
    if (!Number.isFinite(rejected) || rejected <= 0) return undefined;
    const message = p.errorMessage ?? p.error_message;
    return { rejected, message: typeof message === 'string' ? message : '' };
  } catch {
    return undefined;
  }
}
