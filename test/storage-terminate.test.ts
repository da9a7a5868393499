import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ActorExit, PerformanceMonitor } from '../dist/src/index.js';
import { FREED_FILLED_ENV, historyTotals, monitorStarter, waitFor } from './helpers.js';

const HOST = new URL('./fixtures/storage-terminate.mjs', import.meta.url).pathname;
const started = monitorStarter();

/** Runs the fixture in `mode` on a new dataDir; its exit, its output, and the dataDir. */
async function host(mode: string): Promise<{ status: number | null; signal: NodeJS.Signals | null; out: string; dataDir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pw-storage-terminate-'));
  const dataDir = join(dir, 'data');
  // In its own folder: where a core dump lands when cores are on (.ci/run).
  // Freed memory filled: a connection the actor's end closed twice takes the child down every time.
  const child = spawn(process.execPath, [HOST, mode, dataDir], { cwd: dir, env: FREED_FILLED_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, sig) => resolve([code, sig])));
  return { status, signal, out, dataDir };
}

/** The fixture's last JSON line. */
function said<T>(out: string): T {
  const line = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .at(-1);
  return JSON.parse(line ?? 'null') as T;
}

/** The monitor's storage actor's supervisor. */
const storageActor = (m: PerformanceMonitor) => (m as unknown as { storage: { actor: { call(fn: (a: { status(): Promise<unknown> }) => Promise<unknown>): Promise<unknown>; stop(): Promise<void> } } }).storage.actor;

/**
 * Hangs the storage actor (a loop of statements that never beats) and waits until it answers
 * no more: each call it answers is followed, on its thread, by the hang's timer, due since.
 */
async function hangStorage(m: PerformanceMonitor): Promise<void> {
  await m.injectFault('hang', 'storage');
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (;;) {
    const answered = await Promise.race([storageActor(m).call((a) => a.status()).then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 2_000))]);
    if (!answered) return;
  }
}

// libsql panics on a statement entered by a thread being terminated (Node's "pending
// exception"), and the panic aborts the process: src/actors/native-gate.ts.
describe('a storage actor ended in the middle of its SQLite statements', () => {
  it('leaves the host running when the watchdog terminates it, six times in a row, and its successors write every sample', async () => {
    const r = await host('kill');
    expect({ status: r.status, signal: r.signal }, r.out).toEqual({ status: 0, signal: null });
    expect(r.out).not.toContain('panicked');
    const recorded = said<{ count: number; sum: number }>(r.out);
    expect(recorded.count).toBe(1_400);
    const m = await started({ storage: 'sqlite', dataDir: r.dataDir });
    expect(await historyTotals(m, 'ended_rt')).toEqual(recorded);
  }, 60_000);

  it('leaves the host to end as it asked when it calls process.exit() meanwhile, with what it flushed on disk', async () => {
    const r = await host('exit');
    expect({ status: r.status, signal: r.signal }, r.out).toEqual({ status: 0, signal: null });
    expect(r.out).not.toContain('panicked');
    const m = await started({ storage: 'sqlite', dataDir: r.dataDir });
    expect(await historyTotals(m, 'ended_rt')).toEqual({ count: 200, sum: (199 * 200) / 2 });
  }, 60_000);

  it("leaves the host running when a worker thread of it that holds the monitor calls process.exit() meanwhile", async () => {
    const r = await host('thread-exit');
    expect({ status: r.status, signal: r.signal }, r.out).toEqual({ status: 0, signal: null });
    expect(said(r.out)).toEqual({ lived: true, threadCode: 0 });
  }, 60_000);

  it('says when one statement keeps the actor from being ended (a disk that hangs), and replaces it once the statement returns', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'pw-storage-terminate-')), 'data');
    const m = await started({ storage: 'sqlite', dataDir });
    for (let s = 0; s < 100; s++) m.record('stalled_rt', s, { shard: `s${s}` });
    await m.flushStorage();
    await m.injectFault('stall', 'storage');
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Awaited, the kill resolves once the actor has exited.
    const killed = m.injectFault('kill', 'storage');
    // One statement of seconds: the watchdog waits for it, and says so past 2 s.
    await waitFor(() => m.status().faults.byKind['actor-stuck'] !== undefined, 30_000, 'the actor-stuck fault');
    expect(m.status().faults.byKind['actor-stuck']!.lastMessage).toMatch(/^storage: it is to be ended \(replaced, or stopped\), and one of its calls into native code \(SQLite\) has not returned for 2 s/);
    const st = (): { state: string; restarts: number } | undefined => {
      const s = m.status().storage;
      return s.mode === 'sqlite' ? s.actor : undefined;
    };
    expect(st()).toEqual({ state: 'running', restarts: 0 });
    // Once the statement returns it is ended, and a successor writes what the store holds.
    await killed;
    await waitFor(() => st()!.restarts === 1 && st()!.state === 'running', 60_000, "the storage actor's successor");
    for (let s = 0; s < 100; s++) m.record('stalled_rt', 1, { shard: `s${s}` });
    expect(await m.flushStorage()).toBe(true);
    await m.stop();
    const again = await started({ storage: 'sqlite', dataDir });
    expect(await historyTotals(again, 'stalled_rt')).toEqual({ count: 200, sum: (99 * 100) / 2 + 100 });
  }, 90_000);
  it('hands the stop of a storage actor hung in a loop to a successor, which writes what the store held: nothing is lost', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'pw-storage-terminate-')), 'data');
    const m = await started({ storage: 'sqlite', dataDir });
    for (let s = 0; s < 50; s++) m.record('hung_stop_rt', s, { shard: `s${s}` });
    await m.flushStorage();
    // A loop of statements that never beats: the watchdog would call it hung only past its
    // flush interval plus 10 s, longer than stop()'s bound.
    await hangStorage(m);
    // Never written before the stop: only a successor's last flush saves them, and the new series' name.
    for (let s = 0; s < 50; s++) m.record('hung_stop_rt', 1, { shard: `s${s}` });
    m.record('hung_stop_new', 7);
    const exits: ActorExit[] = [];
    m.on('actor-exit', (e: ActorExit) => exits.push(e));
    await m.stop();
    expect(m.status().faults.byKind['actor-stop']).toBeUndefined();
    // The storage actor's own (a loaded machine may have the watchdog replace another actor meanwhile).
    const own = exits.filter((e) => e.actor === 'storage');
    expect(own.map((e) => [e.actor, e.hung])).toEqual([['storage', true]]);
    expect(own[0]!.error?.message).toMatch(/^storage: died during its stop \(no heartbeat since it was asked to flush, 5000 ms before its stop\): a successor does its stop$/);
    const again = await started({ storage: 'sqlite', dataDir });
    expect(await historyTotals(again, 'hung_stop_rt')).toEqual({ count: 100, sum: (49 * 50) / 2 + 50 });
    expect(await historyTotals(again, 'hung_stop_new')).toEqual({ count: 1, sum: 7 });
  }, 90_000);
  it('takes a storage actor silent through the whole of its stop for hung, not slow, and a successor does its stop', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'pw-storage-terminate-')), 'data');
    const m = await started({ storage: 'sqlite', dataDir });
    for (let s = 0; s < 50; s++) m.record('silent_stop_rt', s, { shard: `s${s}` });
    // In the store (the collector's flush), not written: the actor hangs before its next flush.
    await m.flush();
    await hangStorage(m);
    const exits: ActorExit[] = [];
    m.on('actor-exit', (e: ActorExit) => exits.push(e));
    // Its stop asked straight away (no last flush asked first): it never answers, nor beats.
    await storageActor(m).stop();
    expect(m.status().faults.byKind['actor-stop']).toBeUndefined();
    // The storage actor's own (a loaded machine may have the watchdog replace another actor meanwhile).
    expect(exits.filter((e) => e.actor === 'storage').map((e) => e.error?.message)).toEqual(['storage: died during its stop (no heartbeat in the 5000 ms since it was asked to stop): a successor does its stop']);
    await m.stop();
    const again = await started({ storage: 'sqlite', dataDir });
    expect(await historyTotals(again, 'silent_stop_rt')).toEqual({ count: 50, sum: (49 * 50) / 2 });
  }, 90_000);
});
