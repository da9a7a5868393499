/**
 * The checks a request passes before the MCP endpoint reads its body: Host and Origin
 * (well-formed, and on the allow-list: DNS-rebinding protection), then the bearer token.
 * Each answers the request itself when it refuses it and says so by returning false.
 *
 * A browser's Origin must be one of this server's own origins, scheme, host and port: the
 * origin the browser addressed (`http://` or `https://` and the Host, which passed the list;
 * `https://` when a reverse proxy ends TLS in front of us) or `http://NAME:PORT` for a listed
 * name and the port the request came in on. The SDK's Origin check compares the host name
 * alone, so a page another program serves on another port of this machine (a dev server on
 * http://localhost:3000, a local app's page) passed it and could post to the tools.
 *
 * The SDK's Host check parses the header as a URL, which takes `evil@localhost:PORT` for
 * localhost and lets it through to a request conversion that then fails (a 500): a Host
 * must here be a bare host name or address with an optional port, or it is answered 400.
 *
 * The token is compared in constant time: both sides are hashed to equal-length digests
 * and compared with timingSafeEqual, so the time taken tells nothing of the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OAuthError, OAuthErrorCode, bearerAuthChallengeResponse, validateHostHeader, verifyBearerToken, type AuthInfo } from '@modelcontextprotocol/server';

/** A host name, an IPv4 address or a bracketed IPv6 address, then an optional port. */
const HOST_SYNTAX = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9.])?)(?::[0-9]{1,5})?$/;

export function jsonError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/**
 * How a refused request is answered: 400 (a malformed Host) or 403 (a Host or Origin not on
 * the list), the header at fault, and what is wrong. The MCP endpoint answers JSON-RPC
 * (`jsonRpcRefusal`); the HTTP front's other routes answer in the API's shape (http/router.ts).
 */
export type Refusal = (req: IncomingMessage, res: ServerResponse, status: 400 | 403, header: 'host' | 'origin', message: string) => void;

export const jsonRpcRefusal: Refusal = (_req, res, status, _header, message) => jsonError(res, status, status === 400 ? -32600 : -32000, message);

/**
 * Host must be well-formed and, when there is a list, on it; a browser's Origin likewise,
 * unless the caller vouches for it (`ownOrigin`: a same-origin page of a server with a token).
 */
export function checkHostAndOrigin(req: IncomingMessage, res: ServerResponse, allowed: string[] | undefined, ownOrigin = false, refuse: Refusal = jsonRpcRefusal): boolean {
  const host = req.headers.host;
  if (host === undefined || !HOST_SYNTAX.test(host)) {
    refuse(req, res, 400, 'host', host === undefined ? 'Bad Request: the request has no Host header, which HTTP/1.1 requires' : 'Bad Request: the Host header must be a host name or address with an optional port');
    return false;
  }
  if (allowed !== undefined) {
    const h = validateHostHeader(host, allowed);
    if (!h.ok) {
      refuse(req, res, 403, 'host', `Forbidden: ${h.message}`);
      return false;
    }
  }
  if (ownOrigin) return true;
  const origin = req.headers.origin;
  // Requests without an Origin are not a browser page's (agents, curl, scrapers): the token guards them.
  if (origin === undefined || origin === '') return true;
  // Without a list (a non-loopback bind), no browser page may call: the list names its origins.
  if (allowed === undefined || !isOwnOrigin(origin, host, allowed, req.socket.localPort)) {
    refuse(req, res, 403, 'origin', `Forbidden: Origin ${JSON.stringify(origin.slice(0, 200))} is not this server's own (scheme, host and port)`);
    return false;
  }
  return true;
}

/** The origins a page of this server has: the one the browser addressed (Host), then a listed name on the port the request came in on. */
function ownOrigins(host: string, allowed: string[], port: number | undefined): string[] {
  const own = [`http://${host.toLowerCase()}`, `https://${host.toLowerCase()}`];
  if (port !== undefined) for (const name of allowed) own.push(`http://${name}:${port}`);
  return own;
}

/** Whether `origin` is one of ownOrigins, scheme, host and port, default ports (80, 443) written or not. */
function isOwnOrigin(origin: string, host: string, allowed: string[], port: number | undefined): boolean {
  const given = originOf(origin);
  if (given === undefined) return false;
  return ownOrigins(host, allowed, port).some((own) => originOf(own) === given);
}

/** `scheme://host[:port]` as URL writes it (lower case, a default port left out), or undefined for anything but an http(s) origin. */
function originOf(text: string): string | undefined {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Answers a request the token check refused (its status, the challenge's headers, and why: the SDK's error_description), or returns false to leave it the SDK's answer. */
export type Unauthorized = (req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, message: string) => boolean;

/**
 * A check of `Authorization: Bearer <token>`; on success it sets `req.auth`, which the SDK
 * passes to the tools. A refusal is the SDK's 401 with a WWW-Authenticate challenge, its body
 * the SDK's unless `unauthorized` answers it (serveHttp's routes but /mcp, in the API's shape).
 */
export function bearerCheck(token: string, unauthorized?: Unauthorized): (req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, reason?: string) => Promise<boolean> {
  const expected = digest(token);
  const verifier = {
    verifyAccessToken: async (given: string): Promise<AuthInfo> => {
      if (!timingSafeEqual(digest(given), expected)) throw new OAuthError(OAuthErrorCode.InvalidToken, 'Invalid token');
      // A static token has no expiry; the SDK requires one.
      return { token: given, clientId: 'perfwatch', scopes: [], expiresAt: Number.MAX_SAFE_INTEGER };
    },
  };
  // `reason`: why the request is refused where the challenge's would mislead (a browser's
  // `?token=` that is not the token reads "Missing Authorization header" there).
  return async (req, res, reason) => {
    try {
      req.auth = await verifyBearerToken(req.headers.authorization, { verifier });
      return true;
    } catch (error) {
      const answer = bearerAuthChallengeResponse(error);
      const headers: Record<string, string> = {};
      for (const [name, value] of answer.headers) headers[name] = value;
      const body = await answer.text();
      if (res.headersSent) return false;
      const challenge = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'content-type'));
      if (!unauthorized?.(req, res, answer.status, challenge, reason ?? challengeReason(body))) res.writeHead(answer.status, headers).end(body);
      return false;
    }
  };
}

/** Why the SDK's challenge refused a request, from its body (`error_description`). */
function challengeReason(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error_description?: unknown };
    if (typeof parsed.error_description === 'string') return parsed.error_description;
  } catch {
    // not JSON: the generic reason below
  }
  return 'a bearer token is required';
}
