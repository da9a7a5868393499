import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { PerformanceMonitor, type MonitorOptions } from '../dist/src/index.js';
import { openSchema } from '../dist/src/storage/schema.js';

/** Polls `probe` (sync or async) until it yields a value other than undefined/false, or fails after `ms`. */
export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * A new dataDir whose database holds `count` series of the distribution `name` (tag shard),
 * as a monitor that recorded them left it: the next start restores every one.
 */
export function dataDirWithSeries(name: string, count: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'perfwatch-stored-'));
  const db = openSchema(join(dir, 'perfwatch.db'));
  const insert = db.prepare('INSERT INTO series (name, tags, kind, unit, own) VALUES (?, ?, ?, ?, 0)');
  db.transaction(() => {
    for (let i = 0; i < count; i++) insert.run([name, JSON.stringify({ shard: `s${i}` }), 'distribution', 'ms']);
  });
  // The WAL written back and its files gone now: the close is SQLite's close_v2, deferred while
  // the statement above is not finalized (until this thread's garbage collection), and at that
  // close SQLite checkpointed and deleted them, in the middle of a test that compared the
  // directory's files before and after a run that must not touch them (CI).
  db.exec('PRAGMA journal_mode = DELETE');
  db.close();
  return dir;
}

/** Resolves with the first emission of `event`. */
export function once<T = unknown>(emitter: { once(event: string, fn: (value: T) => void): unknown }, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, resolve));
}

/** Runs `fn`, which must throw, and returns what it threw (for checking class, code, field and message). */
export function caught<E = Error>(fn: () => unknown): E {
  try {
    fn();
  } catch (error) {
    return error as E;
  }
  throw new Error('expected an error');
}

/**
 * A starter of monitors for a test file (system and runtime sampling off unless asked), each
 * stopped after its test: `const started = monitorStarter();` at the file's top level.
 */
export function monitorStarter(): (options?: MonitorOptions) => Promise<PerformanceMonitor> {
  const monitors: PerformanceMonitor[] = [];
  afterEach(async () => {
    await Promise.all(monitors.splice(0).map((m) => m.stop()));
  });
  return async (options = {}) => {
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, ...options });
    monitors.push(m);
    await m.start();
    return m;
  };
}

/** Count and sum of every point of a metric's history, across its series. */
export async function historyTotals(m: PerformanceMonitor, metric: string): Promise<{ count: number; sum: number }> {
  const h = await m.getMetricHistory({ metric });
  let count = 0;
  let sum = 0;
  for (const s of h.series) for (const p of s.points) {
    count += p.count;
    sum += p.sum;
  }
  return { count, sum };
}

/** Closes the servers taken out of `servers`, their open connections (a request held unanswered) too. */
export async function closeServers(servers: Server[]): Promise<void> {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
}

/**
 * Answers a request with `status` and `bytes` bytes of 'a' (a proxy's error page, a URL that
 * points at something else), written as fast as the client reads them; `closed` gets the bytes
 * the socket wrote when the connection closed: what the client took off the server's hands.
 */
export function longAnswer(req: IncomingMessage, res: ServerResponse, status: number, bytes: number, closed: (written: number) => void): void {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  req.resume();
  req.on('end', () => {
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(bytes) });
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (sent >= bytes) res.end();
    };
    const socket = res.socket!;
    res.on('close', () => closed(socket.bytesWritten));
    pump();
  });
}

/**
 * glibc's allocator without its per-thread cache, filling freed blocks with 0x76: SQLite's
 * state byte of an open connection. A second sqlite3_close_v2 of a freed handle (libsql
 * 0.5.29 makes one whenever a connection drops with no statement alive) then reads an open
 * connection and follows garbage pointers: a SIGSEGV every time, where the default allocator
 * crashes only when another thread reused the block in between.
 */
export const FREED_FILLED_ENV = { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0', MALLOC_PERTURB_: '118' };

/** Runs `fn` counting the Atomics.wait calls made meanwhile on this thread (a producer's waits on a full ring). */
export function countingWaits(fn: () => void): number {
  const original = Atomics.wait;
  let waits = 0;
  Atomics.wait = ((...args: unknown[]) => {
    waits++;
    return Reflect.apply(original, Atomics, args);
  }) as typeof Atomics.wait;
  try {
    fn();
  } finally {
    Atomics.wait = original;
  }
  return waits;
}

/** mulberry32: a seeded uniform generator in [0, 1), the same values at every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Counts the calls to `method` of the monitor's private `part` (its store reader's
 * everRecorded(), its registry's info(), ...): how many series a call to the monitor read.
 * Reset by setting `calls` to 0.
 */
export function countCalls(monitor: PerformanceMonitor, part: string, method: string): { calls: number } {
  const target = (monitor as unknown as Record<string, Record<string, (...args: unknown[]) => unknown>>)[part]!;
  const seen = { calls: 0 };
  const original = target[method]!.bind(target);
  target[method] = (...args: unknown[]): unknown => {
    seen.calls++;
    return original(...args);
  };
  return seen;
}
