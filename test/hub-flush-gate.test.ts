import { describe, expect, it } from 'vitest';
import { FlushGate } from '../dist/src/hub/durable.js';

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
});
