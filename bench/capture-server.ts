/**
 * The server bench:capture loads: a plain node:http server answering a small JSON body, with
 * a running PerformanceMonitor beside it (storage 'memory', system sampling off, as a
 * service embedding perfwatch runs it), in its own process. Over IPC ({ id, cmd } in,
 * { id, ok, value | error } out) it starts a capture and says when it began ('capture'), says
 * when it ended with what it cost ('captured'), and reports its own CPU time ('cpu').
 * Its first message is { port }.
 */
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceMonitor } from '../src/index.js';
import type { Capture, ProfileKind } from '../src/index.js';

const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, profiling: { dir: mkdtempSync(join(tmpdir(), 'pw-bench-capture-')), maxFiles: 4 } });
await monitor.start();

const server = createServer((req, res) => {
  const body = JSON.stringify({ path: req.url, at: Date.now(), items: [1, 2, 3] });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

const captures = new Map<number, Promise<Capture>>();

interface Command {
  id: number;
  cmd: string;
  kind?: ProfileKind;
  seconds?: number;
  capture?: number;
}

const COMMANDS: Record<string, (m: Command) => unknown> = {
  capture: (m) => {
    const started = monitor.startProfile({ kind: m.kind!, seconds: m.seconds! });
    captures.set(started.id, started.done);
    return started.id;
  },
  captured: async (m) => {
    const c = await captures.get(m.capture!)!;
    captures.delete(c.id);
    return { mainThreadMs: c.mainThreadMs, fileBytes: c.fileBytes, headline: c.headline };
  },
  cpu: () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  },
};

process.on('message', async (m: Command) => {
  try {
    process.send!({ id: m.id, ok: true, value: await COMMANDS[m.cmd]!(m) });
  } catch (error) {
    process.send!({ id: m.id, ok: false, error: (error as Error).message });
  }
});
process.on('disconnect', () => {
  server.close();
  void monitor.close().then(() => process.exit(0));
});
process.send!({ port: (server.address() as { port: number }).port });
