/**
 * The checks a request passes before the MCP endpoint reads its body: Host and Origin
 * (well-formed, and on the allow-list: DNS-rebinding protection), then the bearer token.
 * Each answers the request itself when it refuses it and says so by returning false.
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
import { OAuthError, OAuthErrorCode, bearerAuthChallengeResponse, validateHostHeader, validateOriginHeader, verifyBearerToken, type AuthInfo } from '@modelcontextprotocol/server';

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
    refuse(req, res, 400, 'host', 'Bad Request: the Host header must be a host name or address with an optional port');
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
  // Without a list (a non-loopback bind), no browser page may call: the list names its origins.
  const o = validateOriginHeader(req.headers.origin, allowed ?? []);
  if (!o.ok) {
    refuse(req, res, 403, 'origin', `Forbidden: ${o.message}`);
    return false;
  }
  return true;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * A check of `Authorization: Bearer <token>`; on success it sets `req.auth`, which the SDK
 * passes to the tools. A refusal is the SDK's 401 with a WWW-Authenticate challenge.
 */
export function bearerCheck(token: string): (req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse) => Promise<boolean> {
  const expected = digest(token);
  const verifier = {
    verifyAccessToken: async (given: string): Promise<AuthInfo> => {
      if (!timingSafeEqual(digest(given), expected)) throw new OAuthError(OAuthErrorCode.InvalidToken, 'Invalid token');
      // A static token has no expiry; the SDK requires one.
      return { token: given, clientId: 'perfwatch', scopes: [], expiresAt: Number.MAX_SAFE_INTEGER };
    },
  };
  return async (req, res) => {
    try {
      req.auth = await verifyBearerToken(req.headers.authorization, { verifier });
      return true;
    } catch (error) {
      const answer = bearerAuthChallengeResponse(error);
      const headers: Record<string, string> = {};
      for (const [name, value] of answer.headers) headers[name] = value;
      if (!res.headersSent) res.writeHead(answer.status, headers).end(await answer.text());
      return false;
    }
  };
}
