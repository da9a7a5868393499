/**
 * Reading request bodies within two bounds: the longest one request may send, and the bytes
 * held across all requests at once (a ByteBudget). A declared Content-Length over the limit
 * is answered 413 before a byte is read, and the connection closed so that none of it is;
 * a body the budget cannot take now is answered 503 with Retry-After and discarded as it
 * arrives, never buffered. A body's bytes stay counted until its response has ended, since
 * the parsed request lives that long.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonError } from './http-guard.js';

/** Bytes held by the requests in progress, against a cap. */
export class ByteBudget {
  readonly limit: number;
  private held = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.held;
  }

  take(bytes: number): boolean {
    if (this.held + bytes > this.limit) return false;
    this.held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.held -= bytes;
  }
}

export interface BodyCounters {
  /** Bodies refused for their length (413). */
  tooLarge: number;
  /** Bodies refused because the budget was spent (503). */
  busy: number;
}

/** How a route answers a body it refuses: /mcp in JSON-RPC, the JSON API in its own error shape. */
export interface BodyRefusal {
  /** What to do about a body over the limit, after "the body is over N bytes, the limit of one request". */
  advice: string;
  send(res: ServerResponse, status: number, message: string, headers: Record<string, string>): void;
}

/** /mcp's: a JSON-RPC error; its large bodies are record_performance_metric batches. */
const JSON_RPC_REFUSAL: BodyRefusal = {
  advice: 'split a record_performance_metric batch into smaller ones',
  send: (res, status, message, headers) => jsonError(res, status, -32600, message, headers),
};

/** Answers and closes: the client must not go on sending what nobody will read. */
function refuse(res: ServerResponse, refusal: BodyRefusal, status: number, message: string, headers: Record<string, string> = {}): undefined {
  refusal.send(res, status, message, { Connection: 'close', ...headers });
  return undefined;
}

/**
 * Answers and discards the body as it arrives (it is within the limit, and the timeouts
 * bound how long it may take), so that a client still sending it reads the answer instead
 * of a reset connection, and may retry on the same one.
 */
function refuseAndDrain(req: IncomingMessage, res: ServerResponse, refusal: BodyRefusal, status: number, message: string, headers: Record<string, string>): undefined {
  refusal.send(res, status, message, headers);
  req.resume();
  return undefined;
}

/**
 * Reads a request's body into one buffer; undefined when it was refused (answered as
 * `refusal` says) or the client went away. The bytes it holds are given back to `budget` when `res` closes.
 */
export async function readBody(req: IncomingMessage, res: ServerResponse, maxBytes: number, budget: ByteBudget, counters: BodyCounters, refusal: BodyRefusal = JSON_RPC_REFUSAL): Promise<Buffer | undefined> {
  const tooLarge = (): undefined => {
    counters.tooLarge++;
    return refuse(res, refusal, 413, `Payload Too Large: the body is over ${maxBytes} bytes, the limit of one request; ${refusal.advice}`);
  };
  const busy = (drain: boolean): undefined => {
    counters.busy++;
    const message = `Service Unavailable: other requests hold ${budget.used} of the ${budget.limit} bytes of bodies this server buffers at once; retry shortly`;
    return drain ? refuseAndDrain(req, res, refusal, 503, message, { 'Retry-After': '1' }) : refuse(res, refusal, 503, message, { 'Retry-After': '1' });
  };
  let held = 0;
  res.once('close', () => budget.give(held));
  const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  if (declared !== undefined) {
    if (declared > maxBytes) return tooLarge();
    if (!budget.take(declared)) return busy(true);
    held = declared;
  }
  const chunks: Buffer[] = [];
  const buffer = declared !== undefined ? Buffer.allocUnsafe(declared) : undefined;
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (buffer !== undefined) {
        // The parser never delivers more than Content-Length.
        chunk.copy(buffer, size);
      } else {
        if (size + chunk.length > maxBytes) return tooLarge();
        if (!budget.take(chunk.length)) return busy(false);
        held += chunk.length;
        chunks.push(chunk);
      }
      size += chunk.length;
    }
  } catch {
    return undefined;
  }
  if (buffer !== undefined) return size === declared ? buffer : undefined;
  return Buffer.concat(chunks, size);
}
