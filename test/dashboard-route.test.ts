/**
 * The dashboard's static route on the HTTP front, without a browser: what it serves, how it
 * caches, and that no request path reaches the file system.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type HttpServer } from '../dist/src/index.js';

describe('the dashboard route', () => {
  let monitor: PerformanceMonitor;
  let server: HttpServer;

  beforeAll(async () => {
    monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    server = await monitor.serveHttp({ port: 0 });
  });

  afterAll(async () => {
    await server?.close();
    await monitor?.close();
  });

  it('serves the page, its modules and the installed uPlot, with a policy that keeps scripts and data on this origin', async () => {
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(await page.text()).toBe(readFileSync(new URL('../dashboard/index.html', import.meta.url), 'utf8'));
    const main = await fetch(new URL('/dashboard/js/main.js', server.url));
    expect(main.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const uplot = await fetch(new URL('/dashboard/vendor/uPlot.esm.js', server.url));
    expect(await uplot.text()).toBe(readFileSync(createRequire(import.meta.url).resolve('uplot/dist/uPlot.esm.js'), 'utf8'));
  });

  it('answers 304 to a revalidation of an unchanged file, and HEAD without a body', async () => {
    const first = await fetch(new URL('/dashboard/style.css', server.url));
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const again = await fetch(new URL('/dashboard/style.css', server.url), { headers: { 'If-None-Match': etag! } });
    expect(again.status).toBe(304);
    // As a compressing proxy (nginx) passes it on, weak; in a list; any: the same file, 304.
    for (const tag of [`W/${etag}`, `"other", ${etag}`, '*']) {
      const revalidated = await fetch(new URL('/dashboard/style.css', server.url), { headers: { 'If-None-Match': tag } });
      expect(revalidated.status, tag).toBe(304);
    }
    const changed = await fetch(new URL('/dashboard/style.css', server.url), { headers: { 'If-None-Match': '"other"' } });
    expect(changed.status).toBe(200);
    const head = await fetch(new URL('/dashboard/style.css', server.url), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String((await first.arrayBuffer()).byteLength));
  });

  it('finds nothing outside its files: unknown names, encoded dot segments and other methods', async () => {
    for (const path of ['/dashboard/nope.js', '/dashboard/%2e%2e/package.json', '/dashboard/..%2fpackage.json', '/dashboard/js/', '/index.html']) {
      const res = await fetch(new URL(path, server.url));
      expect(res.status, path).toBe(404);
      expect((await res.json()).error.field).toBe('path');
    }
    const post = await fetch(server.url, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });
});
