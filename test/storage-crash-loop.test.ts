import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ActorError, type PerformanceMonitor } from '../dist/src/index.js';
import { monitorStarter, waitFor } from './helpers.js';

/**
 * A storage actor whose successors die in their start-up, restart after restart (the watchdog
 * spacing the tries): what waits on it answers or fails saying so. A report, a history, a
 * flush waited for a successor to come up without bound, for as long as the loop lasted.
 */
const started = monitorStarter();

type Supervised = { data: () => object; updateData(): void; restarts: number; state: string };
const storageActor = (m: PerformanceMonitor): Supervised => (m as unknown as { storage: { actor: Supervised } }).storage.actor;

/** Has every successor of the storage actor die before its first beat (its control block missing), from its next exit on; answers the undo. */
function crashLoop(m: PerformanceMonitor): () => void {
  const actor = storageActor(m);
  const data = actor.data;
  actor.data = () => ({ ...data(), control: undefined });
  actor.updateData();
  return () => {
    actor.data = data;
    actor.updateData();
  };
}

describe('a storage actor whose restarts end before they start', () => {
  it('answers a report from memory with a note saying why the stored history is missing, a history with its unread series, and fails a flush saying so, rather than wait for ever', async () => {
    const m = await started({ storage: 'sqlite', dataDir: mkdtempSync(join(tmpdir(), 'pw-storage-crash-loop-')), system: { enabled: false } });
    m.record('crash_loop_ms', 5);
    const undo = crashLoop(m);
    try {
      await m.injectFault('exit', 'storage');
      await waitFor(() => storageActor(m).state === 'restarting' && storageActor(m).restarts >= 2, 30_000, 'restarts that end before they start');
      const report = await m.generateReport();
      const note = report.notes.find((n) => n.startsWith('The rollups on disk could not be read'));
      expect(note).toMatch(/^The rollups on disk could not be read \(storage: is down, its restarts ending before they start \(restart \d+: [^)]+\); the call was not made: the watchdog keeps starting another, and calls are answered once one is up\): only the data in memory is included\.$/);
      const history = await m.getMetricHistory({ metric: 'crash_loop_ms' });
      expect(history.series[0]?.points.map((p) => p.value)).toEqual([5]);
      expect(history.unread?.error).toMatch(/^storage: is down, its restarts ending before they start/);
      const flushed = await m.flushStorage().catch((error: unknown) => error);
      expect(flushed).toBeInstanceOf(ActorError);
      expect((flushed as ActorError).message).toMatch(/^storage: is down, its restarts ending before they start \(restart \d+: /);
    } finally {
      undo();
    }
    // One that comes up answers again.
    await waitFor(() => storageActor(m).state === 'running', 30_000, 'a successor that starts');
    expect(await m.flushStorage()).toBe(true);
  }, 90_000);
});
