/**
 * MCP over Streamable HTTP (127.0.0.1 by default), so that an agent can reach a monitor
 * embedded in a running service (stdio cannot reach that process). One endpoint, `/mcp`,
 * serves both eras:
 * - 2026-07-28 requests go to the SDK's createMcpHandler (a server instance per request;
 *   subscriptions/listen streams carry resources/updated from its notify bus);
 * - 2025-era requests (initialize, then requests with an Mcp-Session-Id) go to a sessionful
 *   NodeStreamableHTTPServerTransport per client, so that a 2025 client gets log
 *   notifications and resources/updated on its standalone GET stream. (createMcpHandler's
 *   own legacy leg is stateless and could deliver neither.)
 * Routing uses the SDK's isLegacyRequest, the same classification the handler runs.
 *
 * Before a body is read, a request passes the Host/Origin check and the token check
 * (http-guard.ts, run by the listener of http-listen.ts); bodies are read within the limits
 * of http-body.ts; sessions are capped and expire, and at the cap the least recently active
 * idle one makes room for a new one (sessions.ts), and a session whose client answers no ping
 * has its streams closed; an answer its client leaves unread is closed (stall-watch.ts); the
 * calls of a request whose connection closes before its answer are cancelled (http-hangup.ts);
 * a POST that would have two requests of its session with one id in progress is refused
 * (request-ids.ts).
 * The policy and its defaults are in http-options.ts. mcpEndpoint() is the endpoint alone,
 * so that one server (serveMcp's here, or serveHttp's beside /metrics and /api) can mount it
 * at /mcp.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SUPPORTED_PROTOCOL_VERSIONS, createMcpHandler, isLegacyRequest } from '@modelcontextprotocol/server';
import { NodeStreamableHTTPServerTransport, toNodeHandler } from '@modelcontextprotocol/node';
import { CallGate, stampPlace } from '../monitor/call-gate.js';
import { ByteBudget, readBody, type BodyCounters } from './http-body.js';
import { jsonError } from './http-guard.js';
import { HttpRejections } from './http-rejections.js';
import { jsonRpcFault } from './json-rpc-shape.js';
import { MAX_JSON_DEPTH, nestsWithin } from './json-depth.js';
import { cancelOnHangup } from './http-hangup.js';
import { requestIds } from './request-ids.js';
import type { EndpointStatus, HttpPolicy, McpHttpServer } from './http-options.js';
import { listenGuarded, type RequestHandler } from './http-listen.js';
import { Sessions, type SessionUse } from './sessions.js';
import { StallWatch } from './stall-watch.js';
import type { McpFront } from './server.js';
import { normalizeToolCall } from './validate.js';

export const MCP_PATH = '/mcp';
/** The methods MCP_PATH takes (Streamable HTTP): a message, the server's stream, a session's end. */
export const MCP_METHODS = ['GET', 'POST', 'DELETE'] as const;
const MCP_ALLOW = MCP_METHODS.join(', ');

/**
 * The request as the SDK's era classification needs it: method, URL and headers. The body
 * goes beside it already parsed, so it is neither copied nor serialised again.
 */
function probeOf(req: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === 'content-length' || name === 'transfer-encoding') continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return new Request(`http://${req.headers.host}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers });
}

function sessionIdOf(req: IncomingMessage): string | undefined {
  const id = req.headers['mcp-session-id'];
  return Array.isArray(id) ? id[0] : id;
}

/** Whether a body holds a request (a method and an id): notifications and responses hold none. */
function carriesCall(body: unknown): boolean {
  return (Array.isArray(body) ? body : [body]).some((m) => m !== null && typeof m === 'object' && 'method' in m && 'id' in m);
}

export function logHttpError(error: Error): void {
  process.stderr.write(`perfwatch http: ${error.message}\n`);
}

/** The MCP endpoint of one HTTP server: `handle` answers a request that passed the guard. */
export interface McpEndpoint {
  handle: RequestHandler;
  status(): EndpointStatus;
  close(): Promise<void>;
}

/** The MCP endpoint of `front`, to mount at MCP_PATH on a server that guards its requests. */
/** `gate`: the share of the host's main thread its calls take, one a server (serveHttp's /api takes places of it too). */
export function mcpEndpoint(front: McpFront, policy: HttpPolicy, gate: CallGate = new CallGate(policy)): McpEndpoint {
  // A refusal the SDK reports is logged once per kind and counted (http-rejections.ts).
  const rejections = new HttpRejections();
  const onerror = rejections.report;
  const modern = createMcpHandler(({ era }) => front.createServer(era, false), { legacy: 'reject', onerror, maxRequestBodySize: policy.maxBodyBytes });
  const modernNode = toNodeHandler(modern, { onerror, maxRequestBodySize: policy.maxBodyBytes });
  const unpublish = front.addPublisher((uri) => modern.notify.resourceUpdated(uri));
  const sessions = new Sessions(policy.maxSessions, policy.sessionIdleMs, { pingMs: policy.sessionPingMs, pingTimeoutMs: policy.sessionPingTimeoutMs, streamIdleMs: policy.sessionStreamIdleMs });
  const stalls = new StallWatch(policy.responseStallMs);
  const budget = new ByteBudget(policy.maxBufferedBytes);
  const refusedBodies: BodyCounters = { tooLarge: 0, busy: 0 };

  /** `session` is the one the request names, taken as the request arrived (handle); undefined when none open has its id. */
  const legacy = async (req: IncomingMessage, res: ServerResponse, body: unknown, session: SessionUse | undefined): Promise<void> => {
    if (sessionIdOf(req) !== undefined) {
      if (!session) return jsonError(res, 404, -32001, 'Session not found: initialize again');
      // A message of the client's own, not only the answer to our ping: the session is in use.
      if ((Array.isArray(body) ? body : [body]).some((m) => m !== null && typeof m === 'object' && 'method' in m)) session.requested();
      const ids = requestIds(body);
      const refused = session.ids.take(ids);
      if (refused) return jsonError(res, refused.why === 'batch' ? 400 : 409, -32600, refused.message);
      res.once('close', () => session.ids.release(ids));
      cancelOnHangup(session.transport, res, ids);
      return session.transport.handleRequest(req, res, body);
    }
    const isInitialize = req.method === 'POST' && body !== null && typeof body === 'object' && !Array.isArray(body) && (body as { method?: unknown }).method === 'initialize';
    if (!isInitialize) return jsonError(res, 400, -32000, 'Bad Request: send initialize first, then the Mcp-Session-Id it returns');
    // The SDK checks the header on a session's requests only; an initialize naming a version it
    // does not serve was taken (the MCP spec, 2025-06-18: 400 for an unsupported version).
    const version = req.headers['mcp-protocol-version'];
    if (typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      return jsonError(res, 400, -32000, `Bad Request: Unsupported protocol version in the MCP-Protocol-Version header: ${JSON.stringify(version.slice(0, 64))} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}); send a supported one, or none on initialize`);
    }
    const release = sessions.admit();
    if (!release) {
      const { limit } = sessions.stats();
      return jsonError(res, 503, -32000, `Service Unavailable: ${limit} ${limit === 1 ? 'session is' : 'sessions are'} open, the limit (maxSessions), ${limit === 1 ? 'with' : 'each with'} a request in progress or a stream whose client sent a request less than sessionStreamIdleMs (${policy.sessionStreamIdleMs.toLocaleString('en-US')} ms) ago; retry later, or reuse a session`, { 'Retry-After': String(sessions.retryAfterSeconds) });
    }
    res.once('close', release);
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (sid) => {
        sessions.added(sid, transport, () => server.server.request({ method: 'ping' }, { timeout: policy.sessionPingTimeoutMs }));
        release();
      },
      onsessionclosed: (sid) => sessions.removed(sid),
    });
    transport.onclose = () => sessions.removed(transport.sessionId);
    const server = front.createServer('legacy');
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    // An initialize that opened no session leaves nothing behind.
    if (transport.sessionId === undefined) await transport.close();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Before the session: a PUT is answered so with or without one (it was 400 "send
    // initialize first" without, the SDK's 405 with), and on either front (serveHttp routes
    // every method of /mcp here).
    if (!(MCP_METHODS as readonly string[]).includes(req.method ?? '')) {
      return jsonError(res, 405, -32000, `Method Not Allowed: ${MCP_PATH} takes ${MCP_ALLOW}`, { Allow: MCP_ALLOW });
    }
    stalls.watch(res);
    stampPlace(req);
    // The session a request names is busy from the request's first byte, not from the end of
    // its body: one whose large batch is still arriving is not the idle session evicted to
    // make room for a new one, to be answered 404 once it has sent it all.
    const sessionId = sessionIdOf(req);
    const session = sessionId === undefined ? undefined : sessions.use(sessionId, res, req.method === 'GET');
    if (session) res.once('close', session.done);
    let body: unknown;
    if (req.method === 'POST') {
      let raw = await readBody(req, res, policy.maxBodyBytes, budget, refusedBodies);
      if (raw === undefined) return;
      if (!nestsWithin(raw, MAX_JSON_DEPTH)) return jsonError(res, 400, -32700, `Parse error: the body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep, the limit (MCP messages need a few)`);
      const text = raw.toString('utf8');
      // The bytes can go while the text is parsed: a body at the limit is tens of MB.
      raw = undefined;
      try {
        body = JSON.parse(text);
      } catch {
        return jsonError(res, 400, -32700, 'Parse error: the body is not valid JSON');
      }
      // Refused here rather than by the SDK, whose answer did not say which field was wrong.
      const fault = jsonRpcFault(body);
      if (fault !== undefined) {
        const batch = Array.isArray(body);
        rejections.report(new Error(`Rejected inbound request (${batch ? 'batch-with-invalid-element' : 'invalid-json-rpc-body'}): ${fault}`));
        return jsonError(res, 400, -32600, `Bad Request: ${batch ? 'JSON-RPC batch contains an invalid message' : 'the request body is not a valid JSON-RPC message'}: ${fault}`);
      }
      for (const message of Array.isArray(body) ? body : [body]) normalizeToolCall(message);
      // A call's answer is built on the host's main thread: it waits its turn (call-gate.ts).
      if (carriesCall(body)) {
        const gone = new AbortController();
        const onClose = (): void => gone.abort();
        res.once('close', onClose);
        const place = await gate.acquire(session ? sessionId : undefined, gone.signal);
        if (place === undefined) return;
        if ('message' in place) return jsonError(res, 429, -32000, place.message, { 'Retry-After': String(place.retryAfterSeconds) });
        res.off('close', onClose);
        if (res.destroyed) place.release();
        else res.once('close', () => place.release());
        // Its tool calls give the place back while they await work off the main thread (ToolWork.away).
        stampPlace(req, place);
      }
    }
    if (await isLegacyRequest(probeOf(req), body, { maxRequestBodySize: policy.maxBodyBytes })) return legacy(req, res, body, session);
    // A 2026-07-28 request has no session of ours, whatever header it carries.
    session?.done();
    return modernNode(req, res, body);
  };

  const status = (): EndpointStatus => ({
    sessions: sessions.stats(),
    bufferedBytes: budget.used,
    maxBufferedBytes: budget.limit,
    maxBodyBytes: policy.maxBodyBytes,
    refusedBodies: { ...refusedBodies },
    rejected: rejections.counted,
    stalled: stalls.stalled,
    calls: gate.stats(),
    responseStallMs: policy.responseStallMs,
    stateChanges: policy.stateChanges,
    token: policy.token !== undefined,
  });
  front.endpointStatus = status;
  return {
    handle,
    status,
    close: async () => {
      front.endpointStatus = undefined;
      unpublish();
      await modern.close();
      gate.close();
      await sessions.close();
      stalls.close();
    },
  };
}

/** serveMcp: a server of its own with the MCP endpoint at MCP_PATH and nothing else. */
export async function serveMcpHttp(front: McpFront, policy: HttpPolicy): Promise<McpHttpServer> {
  const endpoint = mcpEndpoint(front, policy);
  const listening = await listenGuarded(
    policy,
    async (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== MCP_PATH) return jsonError(res, 404, -32601, `Not found: the MCP endpoint is ${MCP_PATH}`);
      return endpoint.handle(req, res);
    },
    logHttpError,
  );
  return {
    url: `${listening.origin}${MCP_PATH}`,
    port: listening.port,
    status: endpoint.status,
    close: async () => {
      await endpoint.close();
      await listening.close();
    },
  };
}
