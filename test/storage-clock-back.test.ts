// A service started on a dataDir with its wall clock behind the runs before it (a VM restored
// from a snapshot, a host whose clock NTP has not set yet, libfaketime's -2 h here): the
// monitor's clock, which never goes back within a process (src/engine/monitor-clock.ts),
// does not go back across runs on one database either. Before, the storage actor took every
// series' newest stored row for what it had written itself (a successor of a dead actor) and
// wrote nothing before it: every sample of the run was lost without a word.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { historyTotals } from './helpers.js';
import { describeWithPeer, type ProvidedPeer } from './peers/use.js';

const FIXTURE = new URL('./fixtures/storage-clock-run.mjs', import.meta.url).pathname;
let dir: string | undefined;

afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

interface Run {
  now: number;
  wall: number;
  clock: { aheadMs: number; steps: number };
  faults: string[];
}

/** One run of the fixture on `data`, its wall clock `offset` (libfaketime's form: '-2h') from ours. */
function run(peer: ProvidedPeer, data: string, value: number, samples: number, offset: string): Promise<Run> {
  const child = spawn(process.execPath, [FIXTURE, data, String(value), String(samples)], {
    env: { ...process.env, LD_PRELOAD: peer.binary, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Run) : reject(new Error(`the run exited with ${code}: ${out}`))));
  });
}

function monitor(data: string): PerformanceMonitor {
  return new PerformanceMonitor({ storage: 'sqlite', dataDir: data, system: { enabled: false }, runtime: { enabled: false } });
}

describeWithPeer('libfaketime', 'storage across runs whose wall clock went back', (peer) => {
  it('keeps the samples of a run whose wall clock is behind the stored data, and goes on from the stored data in time', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pw-clock-back-'));
    const data = join(dir, 'data');
    const first = await run(peer, data, 1, 100, '+0');
    const behind = await run(peer, data, 2, 10, '-2h');
    // The run behind went on from the first run's time, said as a step of the clock.
    expect(behind.now).toBeGreaterThanOrEqual(first.now);
    expect(behind.clock.aheadMs).toBeGreaterThan(7_000_000);
    expect(behind.faults).toContain('clock-step');
    // Every sample of both runs is on disk, each once: a monitor with the right clock finds them.
    const m = monitor(data);
    await m.start();
    try {
      expect(await historyTotals(m, 'clock_rt')).toEqual({ count: 110, sum: 120 });
      // Its wall clock is past the data: no step, nothing said.
      expect(m.status().clock).toMatchObject({ aheadMs: 0, steps: 0 });
    } finally {
      await m.stop();
    }
  }, 60_000);
});
