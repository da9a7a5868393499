/**
 * An OTLP/HTTP receiver's 200 may accept a request in part: its ExportMetricsServiceResponse
 * then carries `partial_success` with the number of data points it rejected and why (the
 * OTLP specification: the client must not retry them). Read here from the start of the answer
 * (answer-start.ts), in the request's encoding: protobuf (field 1, a message of
 * rejected_data_points = 1, error_message = 2) or JSON (`partialSuccess`).
 * Until 2026-12-02 every point of such a request counted as sent, and nothing said otherwise.
 */
export interface PartialSuccess {
  rejected: number;
  message: string;
}

/** The receiver's partial success, or undefined when it took every point (or said nothing readable). */
export function partialSuccess(body: Uint8Array | undefined, json: boolean): PartialSuccess | undefined {
  if (body === undefined || body.byteLength === 0) return undefined;
  try {
    const p = json ? fromJson(body) : fromProtobuf(body);
    return p !== undefined && p.rejected > 0 ? p : undefined;
  } catch {
    return undefined;
  }
}

function fromJson(body: Uint8Array): PartialSuccess | undefined {
  const o = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as Record<string, unknown> | null;
  const p = (o?.partialSuccess ?? o?.partial_success) as Record<string, unknown> | undefined;
  if (p === null || typeof p !== 'object') return undefined;
  const rejected = Number(p.rejectedDataPoints ?? p.rejected_data_points ?? 0);
  const message = p.errorMessage ?? p.error_message;
  return Number.isFinite(rejected) ? { rejected, message: typeof message === 'string' ? message : '' } : undefined;
}

/** Reads a varint at `at`: [value, next position]. */
function varint(b: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < b.byteLength && i < at + 10; i++) {
    value += (b[i]! & 0x7f) * scale;
    if ((b[i]! & 0x80) === 0) return [value, i + 1];
    scale *= 128;
  }
  throw new Error('varint cut short');
}

/** The fields of a protobuf message as (field number, wire type, value or bytes). */
function* fields(b: Uint8Array): Generator<[number, number, number | Uint8Array]> {
  let at = 0;
  while (at < b.byteLength) {
    const [key, next] = varint(b, at);
    at = next;
    const field = Math.floor(key / 8);
    const type = key % 8;
    if (type === 0) {
      const [v, n] = varint(b, at);
      at = n;
      yield [field, type, v];
    } else if (type === 2) {
      const [len, n] = varint(b, at);
      if (n + len > b.byteLength) throw new Error('field cut short');
      yield [field, type, b.subarray(n, n + len)];
      at = n + len;
    } else if (type === 1) at += 8;
    else if (type === 5) at += 4;
    else throw new Error(`wire type ${type}`);
  }
}

function fromProtobuf(body: Uint8Array): PartialSuccess | undefined {
  for (const [field, type, value] of fields(body)) {
    if (field !== 1 || type !== 2) continue;
    let rejected = 0;
    let message = '';
    for (const [f, t, v] of fields(value as Uint8Array)) {
      if (f === 1 && t === 0) rejected = v as number;
      else if (f === 2 && t === 2) message = Buffer.from(v as Uint8Array).toString('utf8');
    }
    return { rejected, message };
  }
  return undefined;
}
