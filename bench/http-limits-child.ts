/**
 * The measured process of bench/http-limits.ts: a monitor serving MCP over HTTP, or sending
 * a webhook, and nothing else, so that its memory is what they cost. It answers the driver
 * over IPC: `mem` (after a full GC), `peak` (the highest RSS since the last `peak`, sampled
 * every 10 ms from the first), `status` (the endpoint's), `notifications` (one delivery).
 * Run with --expose-gc.
 */
import { PerformanceMonitor, type McpHttpServer, type ServeMcpOptions } from '../src/index.js';

export type ChildRequest = { cmd: 'mem' } | { cmd: 'peak' } | { cmd: 'status' } | { cmd: 'notifications' } | { cmd: 'exit' };

export interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
}

export type ChildSetup = { kind: 'serve'; options: ServeMcpOptions } | { kind: 'webhook'; url: string } | { kind: 'arraybuffer'; url: string };

const gc = (globalThis as { gc?: () => void }).gc;

function memory(): Memory {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}

/** One delivery of a large answer: through a monitor's webhook, or read whole with arrayBuffer(). */
async function deliver(setup: ChildSetup, monitor: PerformanceMonitor | undefined): Promise<{ sent: number }> {
  if (setup.kind === 'arraybuffer') {
    const r = await fetch(setup.url, { method: 'POST', body: '{}' });
    await r.arrayBuffer();
    return { sent: r.ok ? 1 : 0 };
  }
  monitor!.record('bench_webhook', 5);
  for (;;) {
    const n = monitor!.status().alerts.notifications;
    if (n.queued === 0 && n.sent + n.failed > 0) return n;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function main(setup: ChildSetup): Promise<void> {
  let peak = 0;
  // Started by the first `peak`: a 10 ms timer would keep V8 from ever finding the heap idle
  // and giving pages back, which the session cases measure.
  let sampler: NodeJS.Timeout | undefined;
  let monitor: PerformanceMonitor | undefined;
  let server: McpHttpServer | undefined;
  if (setup.kind === 'serve') {
    monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, collectionIntervalMs: 10_000, ringCapacity: 1 << 17 });
    await monitor.start();
    server = await monitor.serveMcp(setup.options);
  } else if (setup.kind === 'webhook') {
    monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, alerts: { webhooks: [setup.url], resolveHoldMs: 0, timeoutMs: 60_000, maxAttempts: 1 } });
    await monitor.start();
    await monitor.createAlertRule({ metric: 'bench_webhook', operator: '>', threshold: 1, severity: 'critical' });
  }
  const reply = (value: unknown): void => void process.send!(value);
  process.on('message', (message: ChildRequest) => {
    if (message.cmd === 'mem') reply(memory());
    else if (message.cmd === 'peak') {
      sampler ??= setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
      reply(peak);
      peak = process.memoryUsage.rss();
    } else if (message.cmd === 'status') reply(server?.status() ?? null);
    else if (message.cmd === 'notifications') void deliver(setup, monitor).then(reply);
    else if (message.cmd === 'exit') {
      clearInterval(sampler);
      void (async () => {
        await server?.close();
        await monitor?.stop();
        process.exit(0);
      })();
    }
  });
  reply({ ready: true, url: server?.url ?? null });
}

void main(JSON.parse(process.env.PERFWATCH_BENCH_CHILD!) as ChildSetup);
