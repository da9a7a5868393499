/**
 * How a browser gets past the token: a page load or an EventSource cannot send
 * `Authorization: Bearer`, so a server with a token (always the case beyond the loopback)
 * would leave the dashboard unreachable from a laptop or a phone.
 *
 * Opening any page with `?token=<token>` (as Jupyter does) sets a session cookie and
 * redirects (303) to the same address without the token, so it leaves the address bar.
 * The cookie holds an HMAC of the token, not the token: it opens the dashboard, /api and
 * /metrics, never /mcp, whose clients send the header. It is HttpOnly and SameSite=Strict
 * (another site's page cannot send it), and changing the token ends every session.
 *
 * With a token, a request whose Origin is this server's own (`http://` + its Host) is the
 * dashboard's own call (Chrome sends Origin on a same-origin POST): it is let through the
 * Origin check, which would refuse it without an allow-list. A DNS-rebinding page has that
 * same Origin but no cookie for its host name, so the token check still stops it.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BrowserAccess } from '../mcp/http-listen.js';
import { requestPath, requestUrl } from './router.js';

export const SESSION_COOKIE = 'perfwatch_session';
const TOKEN_PARAM = 'token';

function sessionValue(token: string): Buffer {
  return createHmac('sha256', token).update('perfwatch browser session').digest();
}

/** The session cookie's value in a Cookie header, or undefined. */
function cookieOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Browser access for a server with `token`; `exempt` paths (the MCP endpoint) take the header only. */
export function browserAccess(token: string, exempt: string): BrowserAccess {
  const expected = sessionValue(token);
  const expectedText = expected.toString('base64url');
  // Digests of equal length, compared in constant time (as the bearer check does).
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  const tokenDigest = digest(token);
  const same = (given: string): boolean => timingSafeEqual(digest(given), tokenDigest);
  return {
    sameOrigin(req: IncomingMessage): boolean {
      const origin = req.headers.origin;
      return origin !== undefined && req.headers.host !== undefined && origin === `http://${req.headers.host}`;
    },
    signIn(req: IncomingMessage, res: ServerResponse): boolean {
      const url = requestUrl(req.url);
      const given = url?.searchParams.get(TOKEN_PARAM) ?? null;
      if (url === undefined || given === null || url.pathname === exempt || req.method !== 'GET' || !same(given)) return false;
      url.searchParams.delete(TOKEN_PARAM);
      res.writeHead(303, {
        // Relative (the path's last segment): behind a reverse proxy under a prefix, the page stays under it.
        Location: `${url.pathname.slice(url.pathname.lastIndexOf('/') + 1) || './'}${url.search}`,
        'Set-Cookie': `${SESSION_COOKIE}=${expectedText}; Path=/; HttpOnly; SameSite=Strict`,
        'Cache-Control': 'no-store',
        'Referrer-Policy': 'no-referrer',
      });
      res.end();
      return true;
    },
    signInRefused(req: IncomingMessage): string | undefined {
      const url = requestUrl(req.url);
      if (url === undefined || url.pathname === exempt || !url.searchParams.has(TOKEN_PARAM)) return undefined;
      if (req.method !== 'GET') return `a sign-in with ?${TOKEN_PARAM}= is a GET (a page load), not a ${String(req.method).slice(0, 16)}: send Authorization: Bearer <token>`;
      return `the ?${TOKEN_PARAM}= given is not this server's token (PERFWATCH_TOKEN, or the token option): open the page with the right one`;
    },
    hasSession(req: IncomingMessage): boolean {
      const path = requestPath(req.url);
      if (path === undefined || path === exempt) return false;
      const given = cookieOf(req.headers.cookie);
      if (given === undefined) return false;
      const bytes = Buffer.from(given, 'base64url');
      return bytes.length === expected.length && timingSafeEqual(bytes, expected);
    },
  };
}
