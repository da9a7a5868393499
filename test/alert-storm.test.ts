/**
 * An alert storm on the host's thread: one rule over a metric with thousands of series (a
 * route tag, a shard tag), all breaching at once when a dependency fails. With storage
 * 'sqlite' each transition and alert state goes to the storage actor in one commit; the host's
 * thread must hand them over without doing the database's work: until 2026-12-03 it encoded
 * every body with msgpack and posted each in a 2 KiB buffer of its own, which held its event
 * loop for seconds at 10,000 series. What the host's thread posts is measured in bytes (the
 * copy it pays for), not in time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { waitFor } from './helpers.js';

const SERIES = 2_000;

/**
 * The bytes a message costs to post: its serialization, plus the whole buffer behind each
 * typed array in it, which a MessagePort copies entire (v8.serialize writes only the view).
 */
function postedBytes(message: unknown): number {
  const buffers = new Set<ArrayBufferLike>();
  const walk = (v: unknown): void => {
    if (ArrayBuffer.isView(v)) buffers.add(v.buffer);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(message);
  let bytes = serialize(message).byteLength;
  for (const b of buffers) bytes += b.byteLength;
  return bytes;
}

/** Counts the bytes of every comlink call of `method` posted from this thread, while installed. */
function postedCalls(method: string): { calls: number; bytes: number; restore(): void } {
  const post = MessagePort.prototype.postMessage;
  const seen = { calls: 0, bytes: 0, restore: () => void (MessagePort.prototype.postMessage = post) };
  MessagePort.prototype.postMessage = function (this: MessagePort, message: unknown, ...rest: unknown[]) {
    const m = message as { type?: string; path?: string[] } | null;
    if (m?.type === 'APPLY' && m.path?.at(-1) === method) {
      seen.calls++;
      seen.bytes += postedBytes(message);
    }
    return (post as (this: MessagePort, ...args: unknown[]) => void).call(this, message, ...rest);
  } as typeof post;
  return seen;
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe('an alert storm', () => {
  it("hands the storage actor its transitions as they are: a commit of 2,000 firing alerts copies under 1 KiB for each transition and alert state from the host's thread", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-storm-'));
    const m = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
    const posted = postedCalls('commit');
    cleanup = async () => {
      posted.restore();
      await m.stop();
      rmSync(dir, { recursive: true, force: true });
    };
    await m.start();
    await m.createAlertRule({ metric: 'lat', aggregation: 'last', operator: '>', threshold: 50 });
    const handles = Array.from({ length: SERIES }, (_, i) => m.metric('lat', { shard: `s${i}` }));
    let firing = 0;
    m.on('alert', (t) => void (t.to === 'firing' && firing++));
    const before = { calls: posted.calls, bytes: posted.bytes };
    for (const h of handles) h.record(100);
    await m.flush();
    await waitFor(() => firing === SERIES, 30_000, 'every series firing');
    // Each transition is committed with its alert's state, before it is seen: all are on disk.
    expect(await m.storedData()).toMatchObject({ transitions: SERIES, alerts: SERIES });
    const calls = posted.calls - before.calls;
    const bytes = posted.bytes - before.bytes;
    expect(calls).toBeGreaterThan(0);
    expect(bytes / (2 * SERIES)).toBeLessThan(1024);
  });
});
