/**
 * Serving a monitor's MCP front over stdio with the SDK's serveStdio entry: it negotiates the
 * era of the connection (a 2025-era initialize or a 2026-07-28 server/discover) and pins one
 * instance for the connection's life; this module brings the transport (LineTransport).
 */
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { Readable, Writable } from 'node:stream';
import type { McpFront } from './server.js';
import { LineTransport } from './stdio.js';

export interface StdioServeOptions {
  stdin?: Readable;
  stdout?: Writable;
  maxLineBytes?: number;
}

export interface StdioServing {
  /** Resolves when the client closed the connection (stdin ended) or close() was called. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

export function serveFrontOverStdio(front: McpFront, options: StdioServeOptions = {}): StdioServing {
  const transport = new LineTransport({
    ...(options.stdin ? { stdin: options.stdin } : {}),
    ...(options.stdout ? { stdout: options.stdout } : {}),
    ...(options.maxLineBytes ? { maxLineBytes: options.maxLineBytes } : {}),
    lane: front.lane,
  });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  const handle = serveStdio(({ era }) => front.createServer(era), {
    transport,
    onerror: (error) => process.stderr.write(`perfwatch mcp: ${error.message}\n`),
  });
  // serveStdio has installed its callbacks on the transport by now (synchronously); wrap its
  // onclose so that the caller learns when the client went away.
  const inner = transport.onclose;
  transport.onclose = () => {
    inner?.();
    resolveClosed();
  };
  return {
    closed,
    close: async () => {
      await handle.close();
      resolveClosed();
    },
  };
}
