/**
 * The control state's changes wait in memory while the disk refuses them (full, removed,
 * read-only): no more of them than the disk would keep, however long the outage.
 */
import { describe, expect, it } from 'vitest';
import type { ControlOp } from '../dist/src/actors/protocols.js';
import { ControlLog } from '../dist/src/monitor/control-log.js';
import { TRANSITIONS_KEPT } from '../dist/src/storage/transitions-kept.js';

describe('control changes during a disk outage', () => {
  it('keep the newest transitions the disk keeps and the last state of each alert, not one of each per flap', async () => {
    // A rule flapping through an outage added a transition and an alert state per flap to
    // the changes waiting, without bound: 250,000 flaps, 500,000 changes held.
    let failing = true;
    const committed: ControlOp[] = [];
    const log = new ControlLog({
      path: '/data/perfwatch.db',
      retryMs: 3_600_000,
      fault: () => {},
      commit: async (ops) => {
        if (failing) throw new Error('SQLITE_FULL: database or disk is full');
        for (const op of ops) committed.push(op);
      },
    });
    await log.opened();
    const flaps = 250_000;
    let most = 0;
    for (let seq = 1; seq <= flaps; ) {
      const round: Promise<boolean>[] = [];
      for (let i = 0; i < 5_000; i++, seq++) {
        const state = seq % 2 ? 'firing' : 'resolved';
        round.push(
          log.kept([
            { op: 'transition', seq, transition: { seq, to: state } as never },
            { op: 'put-alert', alert: { fingerprint: 'flappy', state, value: seq } as never },
          ]),
        );
      }
      expect(await Promise.all(round)).not.toContain(true);
      most = Math.max(most, log.status().unsaved);
    }
    // What waits: the newest TRANSITIONS_KEPT transitions and one alert state, at most twice
    // that between two compactions.
    expect(most).toBeLessThanOrEqual(2 * (TRANSITIONS_KEPT + 1) + 10_000);
    failing = false;
    expect(await log.kept([])).toBe(true);
    expect(log.status().unsaved).toBe(0);
    const seqs = committed.filter((op) => op.op === 'transition').map((op) => (op as { seq: number }).seq);
    expect(seqs.at(-1)).toBe(flaps);
    expect(seqs.length).toBeGreaterThanOrEqual(TRANSITIONS_KEPT);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const states = committed.filter((op) => op.op === 'put-alert');
    expect(states.at(-1)).toMatchObject({ alert: { fingerprint: 'flappy', value: flaps } });
    expect(states.length).toBeLessThan(flaps / 10);
  });
});
