/**
 * MCP over stdio: newline-delimited JSON-RPC, one message per line, stdout for protocol
 * messages only (every log goes to stderr).
 *
 * This transport replaces the SDK's StdioServerTransport under the SDK's own serveStdio entry
 * (which accepts any Transport), for three behaviours the protocol asks for and it lacks:
 * - a line that is not JSON gets a JSON-RPC parse error (-32700) and one that is not a
 *   JSON-RPC message an invalid-request error (-32600), and the server reads on; the SDK's
 *   drops the first silently;
 * - a line longer than the limit is skipped up to its newline and answered with -32600,
 *   where the SDK's closes the connection;
 * - lines are found by scanning each chunk once and joined once, so a 5 MB batch costs one
 *   copy, not one per 64 KB chunk;
 * - with the fast lane on, a line long enough to be a batch goes to its line reader first
 *   (fast-lane/index.ts), which reads a record_performance_metric batch into columns;
 * - a request with the id of one still in progress is refused, as over HTTP (request-ids.ts):
 *   both ran, and both answers carried the id;
 * - a batch (a JSON array of messages, which protocol 2025-03-26 has clients send) is taken
 *   message by message, as the SDK's HTTP transport takes one, each answer on a line of its
 *   own: the SDK's refused the line, and one error with id null left every request of it
 *   unanswered, its client waiting for good.
 * Sends wait for 'drain' when stdout's buffer is full, as the SDK's do.
 */
import type { Readable, Writable } from 'node:stream';
import { isJSONRPCNotification, isJSONRPCRequest, isJSONRPCResponse, parseJSONRPCMessage, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/server';
import { fastLane, type FastLane, type LineReader } from './fast-lane/index.js';
import { serializeLine } from './prebuilt.js';
import { messageFault } from './json-rpc-shape.js';
import { IdsInProgress } from './request-ids.js';
import { normalizeToolCall } from './validate.js';

/** Default longest line: a full batch of 100,000 samples with tags fits with room. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

const NEWLINE = 0x0a;
/** A line buffer grown past this is let go of once its line is read. */
const RELEASE_BYTES = 8 * 1024 * 1024;

export interface LineTransportOptions {
  stdin?: Readable;
  stdout?: Writable;
  maxLineBytes?: number;
  /** Where diagnostics go (default stderr). */
  log?: (line: string) => void;
  /** The fast lane, whose line reader sees long lines first (default: on). */
  lane?: FastLane;
}

export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private readonly stdin: Readable;
  private readonly stdout: Writable;
  private readonly maxLineBytes: number;
  private readonly log: (line: string) => void;
  /**
   * The start of the line being read, copied out of the chunks it came in (each byte is
   * copied once, as one Buffer.concat would), so that the lane's reader can read ahead in
   * it; reused from line to line, and let go of after a line of over 8 MB.
   */
  private partial: Buffer | undefined;
  private partBytes = 0;
  /** Skipping the rest of an over-long line, up to its newline. */
  private skipping = false;
  private skippedBytes = 0;
  private started = false;
  private closed = false;
  private readonly reader: LineReader | undefined;
  /** Lines at least this long go to the reader first. */
  private readonly laneBytes: number;
  /** The ids of the client's requests not answered yet. */
  private readonly ids = new IdsInProgress('this connection');

  constructor(options: LineTransportOptions = {}) {
    this.stdin = options.stdin ?? process.stdin;
    this.stdout = options.stdout ?? process.stdout;
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.reader = (options.lane ?? fastLane()).lineReader();
    this.laneBytes = this.reader?.minBytes ?? Infinity;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('LineTransport already started');
    this.started = true;
    this.stdin.on('data', this.onData);
    this.stdin.on('error', this.onInputError);
    this.stdin.on('end', this.onEnd);
    this.stdin.on('close', this.onEnd);
    this.stdout.on('error', this.onOutputError);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(NEWLINE, start);
      if (nl === -1) {
        this.keep(buf.subarray(start));
        return;
      }
      const piece = buf.subarray(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.finishSkip(piece.length);
        continue;
      }
      if (this.partBytes + piece.length > this.maxLineBytes) {
        this.skippedBytes = this.partBytes;
        this.partBytes = 0;
        this.finishSkip(piece.length);
        continue;
      }
      if (this.partBytes === 0) {
        this.handleLine(piece, false);
      } else {
        this.append(piece);
        const line = this.partial!.subarray(0, this.partBytes);
        this.partBytes = 0;
        this.handleLine(line, true);
        if (line.length > RELEASE_BYTES) this.partial = undefined;
      }
      if (this.closed) return;
    }
  };

  /** Holds the start of a line; past the limit, drops it and skips to its end. */
  private keep(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.skipping) {
      this.skippedBytes += piece.length;
      return;
    }
    if (this.partBytes + piece.length > this.maxLineBytes) {
      this.skipping = true;
      this.skippedBytes = this.partBytes + piece.length;
      this.partBytes = 0;
      return;
    }
    if (this.partBytes === 0) this.reader?.begin();
    this.append(piece);
    if (this.partBytes >= this.laneBytes) {
      try {
        this.reader!.progress(this.partial!, this.partBytes);
      } catch (error) {
        this.log(`perfwatch mcp: reading ahead in a batch failed (${String(error)}); the whole line will be read when it is complete`);
      }
    }
  }

  /** Adds a piece to the line being read, growing its buffer by doubling (with a byte to spare for the decoder). */
  private append(piece: Buffer): void {
    const need = this.partBytes + piece.length;
    if (this.partial === undefined || this.partial.length <= need) {
      const grown = Buffer.allocUnsafe(Math.max(need + 1, Math.min(this.maxLineBytes + 1, 2 * (this.partial?.length ?? 0)), 64 * 1024));
      if (this.partial !== undefined) this.partial.copy(grown, 0, 0, this.partBytes);
      this.partial = grown;
    }
    piece.copy(this.partial, this.partBytes);
    this.partBytes = need;
  }

  private finishSkip(tail: number): void {
    const bytes = this.skippedBytes + tail;
    this.skipping = false;
    this.skippedBytes = 0;
    this.log(`perfwatch mcp: skipped a message of ${bytes} bytes; the limit is ${this.maxLineBytes} bytes`);
    this.reply(-32600, `Invalid Request: the message is ${bytes} bytes long; the limit is ${this.maxLineBytes} bytes`);
  }

  private handleLine(line: Buffer, continued: boolean): void {
    let end = line.length;
    if (end > 0 && line[end - 1] === 0x0d) end--;
    if (end === 0) return;
    let raw: unknown;
    if (end >= this.laneBytes) {
      try {
        // The reader reads a buffer with a byte to spare after the line: the line buffer
        // holds a line that came in pieces; one that came whole is copied there (~30 µs).
        if (!continued) {
          this.append(line.subarray(0, end));
          this.partBytes = 0;
        }
        raw = this.reader!.decode(this.partial!, end, continued);
      } catch (error) {
        this.log(`perfwatch mcp: the batch lane failed on a line (${String(error)}); parsed it the ordinary way`);
      }
    }
    try {
      raw ??= JSON.parse(line.toString('utf8', 0, end));
    } catch {
      this.log('perfwatch mcp: a line on stdin is not JSON; answered with a parse error');
      this.reply(-32700, 'Parse error: the line is not valid JSON');
      return;
    }
    if (!Array.isArray(raw)) {
      if (!this.handleMessage(raw, '')) this.log('perfwatch mcp: a line on stdin is not a JSON-RPC 2.0 message; answered with an invalid-request error');
      return;
    }
    if (raw.length === 0) {
      this.log('perfwatch mcp: a line on stdin is an empty batch; answered with an invalid-request error');
      this.reply(-32600, 'Invalid Request: the batch is empty: a batch holds one message at least');
      return;
    }
    let refused = 0;
    for (const [i, element] of raw.entries()) {
      if (!this.handleMessage(element, `element ${i} of the batch: `)) refused++;
      if (this.closed) return;
    }
    // Once a line: a batch of 100,000 bad elements is one line of stderr, not 100,000.
    if (refused > 0) this.log(`perfwatch mcp: ${refused} of the ${raw.length} messages of a batch on stdin were refused; each answered with an invalid-request error`);
  }

  /** Hands one message to the server, or answers it -32600 naming what is wrong (`where` says which element of a batch); false when refused. */
  private handleMessage(raw: unknown, where: string): boolean {
    let message: JSONRPCMessage;
    try {
      message = parseJSONRPCMessage(raw);
    } catch {
      const id = raw !== null && typeof raw === 'object' && 'id' in raw && (typeof raw.id === 'string' || typeof raw.id === 'number') ? raw.id : null;
      const fault = messageFault(raw);
      this.reply(-32600, `Invalid Request: ${where}not a JSON-RPC 2.0 request, notification or response${fault === undefined ? '' : `: ${fault}`}`, id);
      return false;
    }
    if (isJSONRPCRequest(message)) {
      const refused = this.ids.take([message.id]);
      if (refused) {
        this.log('perfwatch mcp: a request reused the id of one still in progress; answered with an invalid-request error');
        // With id null: an error with the id would read as the answer of the request that has it.
        this.reply(-32600, refused.message);
        return true;
      }
    } else {
      const cancelled = cancelledId(message);
      if (cancelled !== undefined) this.ids.release([cancelled]);
    }
    normalizeToolCall(message);
    try {
      this.onmessage?.(message);
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
    }
    return true;
  }

  private reply(code: number, message: string, id: string | number | null = null): void {
    if (this.closed) return;
    this.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } })}\n`);
  }

  private readonly onInputError = (error: Error): void => {
    this.onerror?.(error);
  };

  private readonly onOutputError = (error: Error): void => {
    if (this.closed) return;
    this.onerror?.(error);
    void this.close();
  };

  private readonly onEnd = (): void => {
    void this.close();
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stdin.off('data', this.onData);
    this.stdin.off('error', this.onInputError);
    this.stdin.off('end', this.onEnd);
    this.stdin.off('close', this.onEnd);
    // Late write errors (the client went away) must not become uncaught exceptions.
    this.stdout.off('error', this.onOutputError);
    this.stdout.on('error', () => {});
    this.stdin.pause();
    this.partial = undefined;
    this.partBytes = 0;
    this.onclose?.();
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the stdio transport is closed'));
    if (isJSONRPCResponse(message) && message.id !== undefined) this.ids.release([message.id]);
    const text = serializeLine(message);
    if (this.stdout.write(text)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (error?: Error | null): void => {
        this.stdout.off('drain', onDrain);
        this.stdout.off('error', onError);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = (): void => done();
      const onError = (error: Error): void => done(error);
      this.stdout.once('drain', onDrain);
      this.stdout.once('error', onError);
    });
  }
}

/** The request a client's notifications/cancelled names: it gets no answer (MCP), so its id is free again. */
function cancelledId(message: JSONRPCMessage): string | number | undefined {
  if (!isJSONRPCNotification(message) || message.method !== 'notifications/cancelled') return undefined;
  const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
  return typeof requestId === 'string' || typeof requestId === 'number' ? requestId : undefined;
}
