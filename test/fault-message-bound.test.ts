/**
 * A fault's message is bounded: one made of a refused series' tags (64 tags of 4,096
 * characters, within the documented limits) was some 786 KB, printed whole as a process
 * warning and kept in status().faults. Its middle is cut, so that what happened (the head)
 * and what to do (the tail) stay.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CardinalityError, PerformanceMonitor } from '../dist/src/index.js';
import { FAULT_MESSAGE_MOST, boundedMessage } from '../dist/src/monitor/faults.js';

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

describe("a fault's message", () => {
  it('is cut in its middle to FAULT_MESSAGE_MOST, saying how much, its head and tail kept', () => {
    const message = `head: ${'x'.repeat(100_000)} :tail`;
    const cut = boundedMessage(message);
    expect(cut.length).toBeLessThanOrEqual(FAULT_MESSAGE_MOST);
    expect(cut.length).toBeGreaterThan(FAULT_MESSAGE_MOST - 10);
    expect(cut.startsWith('head: xxx')).toBe(true);
    expect(cut.endsWith('xxx :tail')).toBe(true);
    const n = Number(/… \((\d+) characters cut\) …/.exec(cut)?.[1]);
    // What is kept and what is said cut add up to the message.
    expect(cut.length - cut.match(/… \(\d+ characters cut\) …/)![0].length + n).toBe(message.length);
    expect(boundedMessage('short')).toBe('short');
  });

  it('is never cut inside a character outside the Basic Multilingual Plane', () => {
    for (const pad of ['', 'a']) {
      const cut = boundedMessage(pad + '😀'.repeat(5_000));
      expect(cut.length).toBeLessThanOrEqual(FAULT_MESSAGE_MOST);
      expect(cut.isWellFormed()).toBe(true);
    }
  });

  it("of a series refused at maxSeries with the longest tags stays bounded in status() and the warning, and still says what to do", async () => {
    const warnings: string[] = [];
    const listen = (w: Error): void => {
      if (w.message.includes('series-limit')) warnings.push(w.message);
    };
    process.on('warning', listen);
    try {
      const m = new PerformanceMonitor({ storage: 'memory', maxSeries: 16, maxTags: 64, maxTagValueLength: 4096, system: { enabled: false }, runtime: { enabled: false } });
      monitors.push(m);
      await m.start();
      const tags = (s: number): Record<string, string> => Object.fromEntries(Array.from({ length: 64 }, (_, t) => [`t${t}`, `${s}`.padStart(6, '0') + '€'.repeat(4090)]));
      for (let s = 0; s < 16; s++) m.record('big', 1, tags(s));
      expect(() => m.record('big', 1, tags(16))).toThrow(CardinalityError);
      const fault = m.status().faults.byKind['series-limit'];
      expect(fault?.count).toBe(1);
      expect(fault!.lastMessage.length).toBeLessThanOrEqual(FAULT_MESSAGE_MOST);
      expect(fault!.lastMessage).toMatch(/^maxSeries \(16\) reached: big\{t0="000016€€€/);
      expect(fault!.lastMessage).toMatch(/characters cut\) …/);
      expect(fault!.lastMessage).toMatch(/raise maxSeries or reduce tag values$/);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.length).toBeLessThan(FAULT_MESSAGE_MOST + 200);
    } finally {
      process.off('warning', listen);
    }
  });
});
