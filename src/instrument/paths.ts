/**
 * Route names for requests that no framework named: the path without its query, each
 * segment that carries an identity folded (numbers, UUIDs, hex hashes and ObjectIds to
 * `:id`, long opaque tokens to `:token`, ISO dates to `:date`, e-mail addresses to `:email`,
 * IPv4 addresses to `:ip`), so `/users/42/orders/9f86d081884c7d65` and
 * `/users/7/orders/5feceb66ffc86f38` are the same series. A fold is a guess: frameworks that
 * publish their route templates (Fastify, Express 5) are used instead wherever they run.
 */

const DIGITS = /^\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Hex of 8+ characters with at least one digit: hashes, ObjectIds, short commit ids. */
const HEX = /^(?=[a-f]*\d)[0-9a-f]{8,}$/i;
const HAS_DIGIT = /\d/;
/** An ISO date, with a time or not (`2026-12-03`, `2026-12-03T10:15:00Z`, its colons encoded or not): a report's day, a log's hour. */
const DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}(?::|%3A)\d{2}\S*)?$/i;
/** An e-mail address, its `@` encoded or not: a user's key in many APIs. */
const EMAIL = /^[^@/]+(?:@|%40)[^@/.]+(?:\.[^@/.]+)+$/i;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
/** Segments this long holding a digit are tokens (base64 ids, signed keys), not names. */
const TOKEN_LENGTH = 20;
const MAX_SEGMENTS = 16;
/**
 * The scheme and authority of an absolute-form request target (`GET http://host/path`), which
 * node:http takes as it is: what proxies are sent, and what proxy scanners send to any open
 * port. A service answers its path (Express's router, `new URL(req.url, base)`), and the host
 * is the sender's to choose: kept, each host a scanner names took a route of its own.
 */
const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

function foldSegment(segment: string): string {
  if (DIGITS.test(segment) || UUID.test(segment) || HEX.test(segment)) return ':id';
  if (HAS_DIGIT.test(segment)) {
    if (DATE.test(segment)) return ':date';
    if (IPV4.test(segment)) return ':ip';
  }
  if (EMAIL.test(segment)) return ':email';
  if (segment.length >= TOKEN_LENGTH && HAS_DIGIT.test(segment)) return ':token';
  return segment;
}

/** `/users/42?x=1` (or `http://host/users/42?x=1`) → `/users/:id`; at most 16 segments kept, the rest as `/…`. */
export function normalizePath(url: string): string {
  if (url.charCodeAt(0) !== 0x2f) url = url.replace(ABSOLUTE_FORM, '');
  let end = url.length;
  const q = url.indexOf('?');
  if (q !== -1) end = q;
  const h = url.indexOf('#');
  if (h !== -1 && h < end) end = h;
  const path = end === url.length ? url : url.slice(0, end);
  if (path === '/' || path === '') return '/';
  const parts = path.split('/');
  const kept = Math.min(parts.length, MAX_SEGMENTS + 1);
  for (let i = 1; i < kept; i++) parts[i] = foldSegment(parts[i]!);
  if (parts.length > kept) {
    parts.length = kept;
    parts.push('…');
  }
  return parts.join('/');
}
