/**
 * MCP over Streamable HTTP on 127.0.0.1, so that an agent can reach a monitor embedded in a
 * running service (stdio cannot reach that process). One endpoint, `/mcp`, serves both eras:
 * - 2026-07-28 requests go to the SDK's createMcpHandler (a server instance per request;
 *   subscriptions/listen streams carry resources/updated from its notify bus);
 * - 2025-era requests (initialize, then requests with an Mcp-Session-Id) go to a sessionful
 *   NodeStreamableHTTPServerTransport per client, so that a 2025 client gets log
 *   notifications and resources/updated on its standalone GET stream. (createMcpHandler's
 *   own legacy leg is stateless and could deliver neither.)
 * Routing uses the SDK's isLegacyRequest, the same classification the handler runs.
 * Host and Origin headers are checked against localhost names (DNS-rebinding protection).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMcpHandler, isLegacyRequest } from '@modelcontextprotocol/server';
import { NodeStreamableHTTPServerTransport, localhostHostValidation, localhostOriginValidation, toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';
import { validatePort } from './port.js';
import type { McpFront } from './server.js';
import { normalizeToolCall } from './validate.js';

/** Largest request body: a full 100,000-sample batch with tags fits. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;
export const MCP_PATH = '/mcp';

export interface ServeMcpOptions {
  /** TCP port; 0 picks a free one (see the returned url). */
  port: number;
  /** Interface to listen on (default 127.0.0.1: the endpoint has no authentication). */
  host?: string;
}

/** A running Streamable HTTP endpoint. */
export interface McpHttpServer {
  /** `http://127.0.0.1:PORT/mcp` */
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections, closes sessions and open streams. */
  close(): Promise<void>;
}

function jsonError(res: ServerResponse, status: number, code: number, message: string, id: string | number | null = null): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id }));
}

/** Reads a request body up to the limit; undefined when it was too long (answered 413). */
async function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      jsonError(res, 413, -32600, `Invalid Request: the body is over ${MAX_BODY_BYTES} bytes`);
      req.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

export async function serveMcpHttp(front: McpFront, options: ServeMcpOptions): Promise<McpHttpServer> {
  const port = validatePort(options.port);
  const host = options.host ?? '127.0.0.1';
  const onerror = (error: Error): void => {
    process.stderr.write(`perfwatch mcp http: ${error.message}\n`);
  };
  const modern = createMcpHandler(({ era }) => front.createServer(era, false), { legacy: 'reject', onerror, maxRequestBodySize: MAX_BODY_BYTES });
  const modernNode = toNodeHandler(modern, { onerror, maxRequestBodySize: MAX_BODY_BYTES });
  const unpublish = front.addPublisher((uri) => modern.notify.resourceUpdated(uri));
  const sessions = new Map<string, NodeStreamableHTTPServerTransport>();
  const checkHost = localhostHostValidation();
  const checkOrigin = localhostOriginValidation();

  const legacy = async (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> => {
    const id = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(id) ? id[0] : id;
    if (sessionId !== undefined) {
      const transport = sessions.get(sessionId);
      if (!transport) return jsonError(res, 404, -32001, 'Session not found: initialize again');
      return transport.handleRequest(req, res, body);
    }
    const isInitialize = req.method === 'POST' && body !== null && typeof body === 'object' && !Array.isArray(body) && (body as { method?: unknown }).method === 'initialize';
    if (!isInitialize) return jsonError(res, 400, -32000, 'Bad Request: send initialize first, then the Mcp-Session-Id it returns');
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (sid) => {
        sessions.set(sid, transport);
      },
      onsessionclosed: (sid) => {
        sessions.delete(sid);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    const server = front.createServer('legacy');
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!checkHost(req, res) || !checkOrigin(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (path !== MCP_PATH) return jsonError(res, 404, -32601, `Not found: the MCP endpoint is ${MCP_PATH}`);
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req, res);
      if (raw === undefined) return;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return jsonError(res, 400, -32700, 'Parse error: the body is not valid JSON');
      }
      for (const message of Array.isArray(body) ? body : [body]) normalizeToolCall(message);
    }
    const request = await toWebRequest(req, body);
    if (await isLegacyRequest(request, body, { maxRequestBodySize: MAX_BODY_BYTES })) return legacy(req, res, body);
    return modernNode(req, res, body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      onerror(error instanceof Error ? error : new Error(String(error)));
      jsonError(res, 500, -32603, 'Internal error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${bound}${MCP_PATH}`,
    port: bound,
    close: async () => {
      unpublish();
      await modern.close();
      await Promise.all([...sessions.values()].map((t) => t.close().catch(() => {})));
      sessions.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
