/**
 * The dashboard's static files, served at `/` by the HTTP front: the page, its stylesheet and
 * its ES modules from the package's `dashboard/` folder, and uPlot's two dist files from the
 * installed `uplot` package (a runtime dependency) under `/dashboard/vendor/`. No build step,
 * no CDN: the files are read once, when the server starts, and answered from memory.
 *
 * uPlot is served from where npm installed it rather than copied into the package at build
 * time: npm resolves it for a fresh clone and an installed package alike, nothing has to
 * remember to copy it again when it is upgraded, and the package carries no second copy.
 *
 * Only the files found at load are served (an allow-list keyed by URL path), so no request
 * path ever reaches the file system: `..` or encoded tricks find no entry and get a 404.
 * The routes pass the server's checks (Host/Origin, token) like every other.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError, sendError, type Route, type RouteContext } from './router.js';

/** The URL prefix of every file but the page itself. */
export const DASHBOARD_PREFIX = '/dashboard/';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * The page's own code and uPlot only; uPlot sets element styles from script, hence the
 * inline-style allowance. Data comes from this origin alone (connect-src).
 */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function asset(path: string): Asset {
  const body = readFileSync(path);
  const type = TYPES[extname(path)];
  if (type === undefined) throw new Error(`dashboard: no content type for ${path}`);
  return { body, type, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
}

/** The dashboard folder shipped with the package (dist/src/http → the package root). */
const ROOT = fileURLToPath(new URL('../../../dashboard/', import.meta.url));

export class DashboardAssets {
  private readonly assets = new Map<string, Asset>();

  /** Reads every file once; throws when the package is incomplete (a missing folder or uPlot). */
  constructor(root: string = ROOT) {
    for (const file of filesUnder(root)) {
      const url = relative(root, file).split(sep).join('/');
      if (TYPES[extname(file)] === undefined) continue;
      this.assets.set(url === 'index.html' ? '/' : `${DASHBOARD_PREFIX}${url}`, asset(file));
    }
    if (!this.assets.has('/')) throw new Error(`dashboard: no index.html in ${root}`);
    const require = createRequire(import.meta.url);
    for (const name of ['uPlot.esm.js', 'uPlot.min.css']) {
      this.assets.set(`${DASHBOARD_PREFIX}vendor/${name}`, asset(require.resolve(`uplot/dist/${name}`)));
    }
  }

  /** The routes of the page and its files (GET, and HEAD through the router). */
  routes(): Route[] {
    const handle = ({ req, res, url }: RouteContext): void => {
      const found = this.assets.get(url.pathname);
      if (found === undefined) return sendError(res, new HttpError(404, `Not found: ${url.pathname} is no file of the dashboard`, 'path'));
      send(req, res, found);
    };
    return [
      { method: 'GET', path: '/', handle },
      { method: 'GET', path: `${DASHBOARD_PREFIX}*`, handle },
    ];
  }
}

/**
 * Whether If-None-Match names `etag` as RFC 9110 (13.1.2) compares them: weakly (a proxy that
 * compresses a body marks its tag W/, as nginx does), in a list, or `*`. Compared exactly, every
 * reload behind such a proxy fetched every file again. Not the `fresh` package: it answers
 * "changed" to any request with Cache-Control: no-cache, which fetch() adds to every request
 * given an If-None-Match of its own.
 */
function unchanged(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || (t.startsWith('W/') ? t.slice(2) : t) === etag;
  });
}

function send(req: IncomingMessage, res: ServerResponse, found: Asset): void {
  // Revalidated on every load (no-cache), answered 304 when unchanged: an upgraded package shows at once.
  const headers = { 'Content-Type': found.type, ETag: found.etag, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': CSP, 'Referrer-Policy': 'no-referrer' };
  if (unchanged(req.headers['if-none-match'], found.etag)) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': String(found.body.length) });
  res.end(req.method === 'HEAD' ? undefined : found.body);
}
