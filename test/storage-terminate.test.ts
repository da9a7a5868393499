import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
});
