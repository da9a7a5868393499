import { describe, expect, it } from 'vitest';
import { DurableAcks, FlushGate, type HubSeq } from '../dist/src/hub/durable.js';

/**
 * The flush gate of a hub on a database (src/hub/durable.ts): a flush must read the store
 * between applies, never during one, or it writes part of a batch that its numbers do not
 * cover. Events are ordered by promises, not by time.
 */
describe("a hub's flush gate", () => {
  it('a flush waits for the applies in flight, and applies that come meanwhile wait for the flush', async () => {
    const gate = new FlushGate();
    const log: string[] = [];
    let finishApply!: () => void;
    let finishFlush!: () => void;
    await gate.enter();
    log.push('apply 1 in');
    const applied = new Promise<void>((resolve) => (finishApply = resolve)).then(() => {
      log.push('apply 1 out');
      gate.leave();
    });
    const flushed = gate.exclusive(async () => {
      log.push('flush reads');
      await new Promise<void>((resolve) => (finishFlush = resolve));
      log.push('flush done');
    });
    const second = gate.enter().then(() => {
      log.push('apply 2 in');
      gate.leave();
    });
    // Nothing moves while apply 1 is in flight.
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['apply 1 in']);
    finishApply();
    await applied;
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['apply 1 in', 'apply 1 out', 'flush reads']);
    finishFlush();
    await Promise.all([flushed, second]);
    expect(log).toEqual(['apply 1 in', 'apply 1 out', 'flush reads', 'flush done', 'apply 2 in']);
  });

  it('a flush writes only the numbers that moved since the last commit, and those of a flush that failed again', async () => {
    const written: HubSeq[][] = [];
    let ok = true;
    const acks = new DurableAcks({ load: async () => [{ instance: 'gone:1', epoch: 'e0', acked: 9 }], flush: async (seqs) => (written.push(seqs), ok), flushMs: 5000 });
    await acks.load();
    const flush = () => acks.flush(false, () => false, () => {});
    acks.applied('a', 'e1', 1);
    acks.applied('b', 'e2', 1);
    expect(await flush()).toBe(true);
    acks.applied('a', 'e1', 2);
    ok = false;
    expect(await flush()).toBe(false);
    ok = true;
    acks.applied('b', 'e3', 1);
    expect(await flush()).toBe(true);
    expect(await flush()).toBe(true);
    expect(written).toEqual([
      [{ instance: 'a', epoch: 'e1', acked: 1 }, { instance: 'b', epoch: 'e2', acked: 1 }],
      [{ instance: 'a', epoch: 'e1', acked: 2 }],
      [{ instance: 'a', epoch: 'e1', acked: 2 }, { instance: 'b', epoch: 'e3', acked: 1 }],
      [],
    ]);
    // What the disk held is still known: a member forgotten long ago that comes back.
    expect(acks.known('gone:1', 'e0')).toEqual({ applied: 9, committed: 9 });
  });
});
