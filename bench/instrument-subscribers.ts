/**
 * What instrument()'s incoming-HTTP subscribers cost a request, apart from everything else a
 * request costs: real IncomingMessage and ServerResponse objects over 32 sockets (connections
 * kept alive) are published on `http.server.request.start` and `http.server.response.finish`
 * as node:http publishes them, in batches of 32 in flight, on a running monitor, with
 * instrument() on and off, alternating in one process. Each request's URL is a new string, as
 * node:http's parser makes it (a literal's hash is computed once and kept on the string, which
 * hid the cost of hashing the URL per request until 2026-11-30). CPU time of the whole process per
 * request, median over the passes, each pass timed until the collector has applied its
 * samples (monitor.flush()), so the collector's share is in it; the objects are built outside
 * the timed part, and a pass's samples (three a request) fit the ring without a wait.
 * bench:instrument gives the end-to-end figure, whose noise on a shared machine is larger
 * than this whole cost.
 *
 *   BENCH_PASSES (60), BENCH_REQUESTS (5,000 a pass)
 */
import dc from 'node:diagnostics_channel';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { PerformanceMonitor } from '../src/monitor/monitor.js';
import { median } from './median.js';

const PASSES = Number(process.env.BENCH_PASSES ?? 60);
const N = Number(process.env.BENCH_REQUESTS ?? 5_000);
const IN_FLIGHT = 32;
const URLS = ['/users/17', '/users/4242', '/orders/9', '/orders/31337', '/health', '/users/8'];

const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
const start = dc.channel('http.server.request.start');
const finish = dc.channel('http.server.response.finish');
const sockets = Array.from({ length: IN_FLIGHT }, () => new Socket());

type Message = { request: IncomingMessage; response: ServerResponse; socket: Socket; server: null };

function batch(): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < N; i++) {
    const socket = sockets[i % IN_FLIGHT]!;
    const request = new IncomingMessage(socket);
    request.url = Buffer.from(URLS[i % URLS.length]!, 'latin1').toString('latin1');
    request.method = 'GET';
    const response = new ServerResponse(request);
    response.statusCode = 200;
    out.push({ request, response, socket, server: null });
  }
  return out;
}

/** CPU ns a request for one pass, publishing as node:http does (only when subscribed). */
async function pass(): Promise<number> {
  const messages = batch();
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i += IN_FLIGHT) {
    const end = Math.min(i + IN_FLIGHT, N);
    for (let j = i; j < end; j++) if (start.hasSubscribers) start.publish(messages[j]);
    for (let j = i; j < end; j++) if (finish.hasSubscribers) finish.publish(messages[j]);
  }
  await monitor.flush();
  const c = process.cpuUsage(t0);
  return ((c.user + c.system) * 1000) / N;
}

await monitor.start();
console.log(`bench:instrument-subscribers ${new Date().toISOString()} · Node ${process.version} · ${cpus().length} cores · load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const off: number[] = [];
const on: number[] = [];
let instrumented: { uninstrument(): boolean } | undefined;
for (let p = 0; p < PASSES + 2; p++) {
  for (const mode of p % 2 === 0 ? ['on', 'off'] : ['off', 'on']) {
    if (mode === 'on') instrumented = monitor.instrument({ httpClient: false, fetch: false });
    const ns = await pass();
    instrumented?.uninstrument();
    instrumented = undefined;
    if (p >= 2) (mode === 'on' ? on : off).push(ns);
  }
}
await monitor.close();
const d = median(on) - median(off);
console.table([
  { case: 'monitor running, not instrumented', 'CPU ns a request (median)': Math.round(median(off)), 'min–max': `${Math.round(Math.min(...off))}–${Math.round(Math.max(...off))}` },
  { case: 'instrument() (httpServer)', 'CPU ns a request (median)': Math.round(median(on)), 'min–max': `${Math.round(Math.min(...on))}–${Math.round(Math.max(...on))}` },
]);
console.log(`the subscribers: ${Math.round(d)} ns a request; load after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
