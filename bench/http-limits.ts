/**
 * What hostile HTTP traffic costs the process that serves MCP or sends webhooks, with the
 * limits as they are and, as the peer in the same run, with the limits lifted to what they
 * were before (no session expiry, no cap on buffered bodies, an answer read whole).
 * `npm run bench:http-limits` (BENCH_SESSIONS, default 15,000; BENCH_IDLE_MS, default 90,000: longer than the flood takes).
 *
 * Each case runs the measured side in a child process of its own (http-limits-child.ts,
 * with --expose-gc); this process is the clients and the webhook receiver. "after GC" is
 * RSS and heap after two full collections; "peak" is the highest RSS sampled every 10 ms.
 * A status 0 in the tables is a connection that failed without an answer.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ChildRequest, ChildSetup, Memory } from './http-limits-child.js';
import type { McpHttpServer } from '../src/index.js';
import { MAX_REQUEST_BYTES, SAMPLE_TAG_BYTES } from '../src/mcp/http-options.js';
import { MAX_BATCH } from '../src/mcp/schemas.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 15_000);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 90_000);
const SETTLE_MS = 60_000;
const MiB = 1024 * 1024;
const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

interface Child {
  ask<T>(request: ChildRequest): Promise<T>;
  url: string | null;
}

async function child(setup: ChildSetup): Promise<Child> {
  const proc: ChildProcess = fork(fileURLToPath(new URL('./http-limits-child.js', import.meta.url)), [], {
    execArgv: ['--expose-gc'],
    env: { ...process.env, PERFWATCH_BENCH_CHILD: JSON.stringify(setup) },
  });
  const replies: ((value: unknown) => void)[] = [];
  proc.on('message', (m) => replies.shift()?.(m));
  const ready = await new Promise<{ url: string | null }>((resolve) => replies.push(resolve as (value: unknown) => void));
  return {
    url: ready.url,
    ask: <T>(request: ChildRequest) =>
      new Promise<T>((resolve) => {
        if (request.cmd === 'exit') {
          proc.once('exit', () => resolve(undefined as T));
        } else {
          replies.push(resolve as (value: unknown) => void);
        }
        proc.send(request);
      }),
  };
}

const mb = (bytes: number): string => (bytes / MiB).toFixed(1);

/** `n` initialize requests, `concurrency` at a time, each answer's stream let go at once. */
async function flood(url: string, n: number, concurrency: number): Promise<{ statuses: Record<number, number>; ms: number }> {
  const statuses: Record<number, number> = {};
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) {
        const r = await fetch(url, { method: 'POST', headers: HEADERS, body: INIT });
        await r.body?.cancel();
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }
    }),
  );
  return { statuses, ms: performance.now() - t0 };
}

async function sessionCase(label: string, options: { maxSessions?: number; sessionIdleMs?: number }, waitForExpiry: boolean): Promise<string[]> {
  const c = await child({ kind: 'serve', options: { port: 0, ...options } });
  // One session first: what the first one loads (the SDK's schemas, code) is paid once.
  await flood(c.url!, 1, 1);
  const start = await c.ask<Memory>({ cmd: 'mem' });
  const { statuses, ms } = await flood(c.url!, SESSIONS, 64);
  const open = (await c.ask<ReturnType<McpHttpServer['status']>>({ cmd: 'status' })).sessions.count;
  const full = await c.ask<Memory>({ cmd: 'mem' });
  const rows = [`| ${label}: ${SESSIONS} initialize in ${(ms / 1000).toFixed(1)} s (${Object.entries(statuses).map(([s, k]) => `${k} × ${s}`).join(', ')}), ${open} open | ${mb(start.rss)} | ${mb(full.rss)} (+${mb(full.rss - start.rss)}) | ${mb(start.heapUsed)} → ${mb(full.heapUsed)} |`];
  if (waitForExpiry) {
    const t0 = Date.now();
    while ((await c.ask<ReturnType<McpHttpServer['status']>>({ cmd: 'status' })).sessions.count > 0) await new Promise((resolve) => setTimeout(resolve, 500));
    const expired = (Date.now() - t0) / 1000;
    // V8 gives emptied heap pages back to the system on its own schedule, seconds after a
    // quiet spell: look every 2 s for up to SETTLE_MS, until RSS is within 5 MiB of the start.
    let after = await c.ask<Memory>({ cmd: 'mem' });
    const t1 = Date.now();
    while (after.rss > start.rss + 5 * MiB && Date.now() - t1 < SETTLE_MS) {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      after = await c.ask<Memory>({ cmd: 'mem' });
    }
    const settled = ((Date.now() - t1) / 1000).toFixed(0);
    rows.push(`| … once they expired (${expired.toFixed(0)} s later), ${settled} s after | ${mb(start.rss)} | ${mb(after.rss)} (${after.rss >= start.rss ? '+' : ''}${mb(after.rss - start.rss)}) | ${mb(start.heapUsed)} → ${mb(after.heapUsed)} |`);
  }
  await c.ask({ cmd: 'exit' });
  return rows;
}

/** The largest valid request (MAX_REQUEST_BYTES) as one buffer: a batch at the schema's limits. */
function largestBatch(id: number): Buffer {
  const tag = (SAMPLE_TAG_BYTES - '"route":"","region":""'.length) / 2;
  const timestamp = `${new Date().toISOString().slice(0, 23)}00000000000+00:00`;
  const sample = JSON.stringify({ metric_type: 'a'.repeat(200), value: -2.2250738585072014e-308, tags: { route: 'r'.repeat(tag), region: 'g'.repeat(tag) }, timestamp });
  const head = `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[`;
  return Buffer.from(`${head}${new Array(MAX_BATCH).fill(sample).join(',')}]}}}`);
}

/** Posts `body` `n` times at once on one session; resolves with each answer's status once its result (or refusal) is in. */
async function concurrentPosts(url: string, n: number, body: Buffer | 'declared-only', declared: number): Promise<Record<number, number>> {
  const init = await fetch(url, { method: 'POST', headers: HEADERS, body: INIT });
  const session = init.headers.get('mcp-session-id')!;
  await init.body?.cancel();
  const headers = { ...HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
  await (await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).body?.cancel();
  const statuses: Record<number, number> = {};
  await Promise.all(
    Array.from({ length: n }, async () => {
      let status: number;
      if (body === 'declared-only') {
        // A client that declares the length and would send it if let.
        const { request } = await import('node:http');
        status = await new Promise<number>((resolve) => {
          const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(declared) } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', () => resolve(0));
          req.flushHeaders();
        });
      } else {
        const r = await fetch(url, { method: 'POST', headers, body }).catch(() => undefined);
        if (r === undefined) {
          statuses[0] = (statuses[0] ?? 0) + 1;
          return;
        }
        status = r.status;
        // Read the answer until its result arrives (an SSE stream may stay open after it).
        const reader = r.body!.getReader();
        let text = '';
        const decoder = new TextDecoder();
        while (!/"result"|"error"/.test(text)) {
          const chunk = await reader.read();
          if (chunk.done) break;
          text += decoder.decode(chunk.value, { stream: true });
        }
        await reader.cancel();
      }
      statuses[status] = (statuses[status] ?? 0) + 1;
    }),
  );
  return statuses;
}

async function bodyCase(label: string, options: { maxBodyBytes?: number; maxBufferedBytes?: number }, payload: 'largest' | 'declared-only', declared: number): Promise<string> {
  const c = await child({ kind: 'serve', options: { port: 0, allowStateChanges: true, ...options } });
  // Built now: its timestamps must lie within a collection interval of the post.
  const body = payload === 'largest' ? largestBatch(2) : payload;
  const start = await c.ask<Memory>({ cmd: 'mem' });
  await c.ask<number>({ cmd: 'peak' });
  const statuses = await concurrentPosts(c.url!, 8, body, declared);
  const peak = await c.ask<number>({ cmd: 'peak' });
  await c.ask({ cmd: 'exit' });
  return `| ${label} (${Object.entries(statuses).map(([s, k]) => `${k} × ${s}`).join(', ')}) | ${mb(start.rss)} | ${mb(peak)} (+${mb(peak - start.rss)}) |`;
}

async function webhookCase(label: string, kind: 'webhook' | 'arraybuffer', answerBytes: number): Promise<string> {
  let pushed = 0;
  const chunk = Buffer.alloc(MiB, 0x61);
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-length': String(answerBytes) });
      const pump = (): void => {
        while (pushed < answerBytes && !res.destroyed) {
          pushed += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (pushed >= answerBytes) res.end();
      };
      pump();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  const c = await child({ kind, url });
  const start = await c.ask<Memory>({ cmd: 'mem' });
  await c.ask<number>({ cmd: 'peak' });
  const result = await c.ask<{ sent: number }>({ cmd: 'notifications' });
  const peak = await c.ask<number>({ cmd: 'peak' });
  await c.ask({ cmd: 'exit' });
  receiver.closeAllConnections();
  receiver.close();
  return `| ${label}: ${mb(answerBytes)} MiB answer, ${mb(pushed)} MiB of it pushed, delivery ${result.sent === 1 ? 'sent' : 'not sent'} | ${mb(start.rss)} | ${mb(peak)} (+${mb(peak - start.rss)}) |`;
}

async function main(): Promise<void> {
  const load0 = loadavg();
  console.log(`perfwatch HTTP limits benchmark — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
  console.log(`load average at start: ${load0.map((l) => l.toFixed(2)).join(', ')}\n`);

  console.log('| sessions (server process) | RSS at start, MiB | RSS after GC, MiB | heap used, MiB |');
  console.log('|---|---:|---:|---:|');
  for (const row of await sessionCase(`expiry after ${IDLE_MS / 1000} s, cap lifted`, { maxSessions: 100_000, sessionIdleMs: IDLE_MS }, true)) console.log(row);
  for (const row of await sessionCase('defaults (cap 100)', {}, false)) console.log(row);

  const size = largestBatch(2).length;
  console.log(`\n| 8 concurrent posts on one session (server process) | RSS at start, MiB | peak RSS, MiB |`);
  console.log('|---|---:|---:|');
  console.log(await bodyCase(`largest valid batch (${mb(size)} MiB), limits as before (64 MiB, nothing held back)`, { maxBodyBytes: 64 * MiB, maxBufferedBytes: 4096 * MiB }, 'largest', size));
  console.log(await bodyCase(`largest valid batch (${mb(size)} MiB), defaults (limit ${mb(MAX_REQUEST_BYTES)} MiB, ${mb(MAX_REQUEST_BYTES + 8 * MiB)} MiB held at most)`, {}, 'largest', size));
  console.log(await bodyCase('60 MiB declared, defaults', {}, 'declared-only', 60 * MiB));

  console.log(`\n| a webhook receiver's answer (monitored process) | RSS at start, MiB | peak RSS, MiB |`);
  console.log('|---|---:|---:|');
  console.log(await webhookCase('perfwatch webhook (reads 64 KiB, cancels the rest)', 'webhook', 512 * MiB));
  console.log(await webhookCase('fetch + arrayBuffer(), as before', 'arraybuffer', 512 * MiB));

  console.log(`\nload average at end: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
