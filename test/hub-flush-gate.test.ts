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

  it("while an apply in flight waits for other members' applies (a batch an interval at a time), those go in past a flush waiting, and the flush still reads only once every apply left", async () => {
    const gate = new FlushGate();
    const log: string[] = [];
    let finishFlush!: () => void;
    await gate.enter();
    gate.span();
    log.push('late part 1 in');
    const flushed = gate.exclusive(async () => {
      log.push('flush reads');
      await new Promise<void>((resolve) => (finishFlush = resolve));
      log.push('flush done');
    });
    // A punctual member's batch, which the late batch's next part waits for: held at the gate, it held the late batch a grace.
    await gate.enter();
    log.push('punctual in');
    await new Promise((resolve) => setImmediate(resolve));
    gate.leave();
    log.push('punctual out');
    await new Promise((resolve) => setImmediate(resolve));
    // The late batch is still in: the flush waits.
    expect(log).toEqual(['late part 1 in', 'punctual in', 'punctual out']);
    log.push('late part 2 out');
    gate.unspan();
    // Once no apply waits for others, a newcomer waits for the flush again.
    const after = gate.enter().then(() => {
      log.push('after in');
      gate.leave();
    });
    gate.leave();
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['late part 1 in', 'punctual in', 'punctual out', 'late part 2 out', 'flush reads']);
    finishFlush();
    await Promise.all([flushed, after]);
    expect(log.slice(-2)).toEqual(['flush done', 'after in']);
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
