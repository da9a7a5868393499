/**
 * What status() says: the collector's lag is the age of the oldest sample waiting, and a
 * stopped monitor says stopped and shows no live rate.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { PendingClock } from '../dist/src/engine/pending-clock.js';
import { statusOut, statusText } from '../dist/src/mcp/status-answer.js';
import { waitFor } from './helpers.js';

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

describe('collector lag', () => {
  it('is the age of the oldest waiting sample, through a backlog the collector drains in passes', () => {
    const clock = new PendingClock();
    // A producer 240,000 samples ahead; the collector drains 65,536 a pass, 1 ms a pass,
    // while the producer adds 1,000 a ms. The oldest waiting sample was seen at t = 0.
    let read = 0;
    let write = 240_000;
    clock.see(write, 0);
    for (let t = 1; t <= 3; t++) {
      write += 1_000;
      clock.see(write, t);
      read += 65_536;
      clock.consumed(read);
      expect(clock.oldest()).toBe(0); // every pass so far left samples seen at t = 0 waiting
    }
    read = 240_500; // past 240,000: what waits now was first seen at t = 1 or later
    clock.consumed(read);
    expect(clock.oldest()).toBe(1);
    read = write;
    clock.consumed(read);
    expect(clock.oldest()).toBeNaN();
    // Indices wrap at 2^31 like the ring's.
    const wrapped = new PendingClock();
    wrapped.see((0x7fffffff + 10) | 0, 5);
    wrapped.consumed(0x7ffffff0);
    expect(wrapped.oldest()).toBe(5);
    wrapped.consumed((0x7fffffff + 10) | 0);
    expect(wrapped.oldest()).toBeNaN();
  });

  it('grows while samples wait for a collector that has stopped draining', async () => {
    const m = new PerformanceMonitor({ storage: 'memory', overflow: 'block', system: { enabled: false }, runtime: { enabled: false } });
    monitors.push(m);
    await m.start();
    await m.injectFault('hang');
    // From here this thread does not yield until it has read what it needs: the watchdog
    // thread replaces the hung collector on its own, a few hundred ms after its last beat,
    // and the successor beats on its own too, so the reads below are bounded by that.
    const deadline = Date.now() + 10_000;
    const beatAge = (): number => m.status().collector.heartbeatAgeMs ?? 0;
    const h = m.metric('response_time', { case: 'lag' });
    let reads: { at: number; lag: number; beat: number }[] = [];
    let recordedAt = 0;
    for (let attempt = 1; ; attempt++) {
      // Stuck: its heartbeat stops (it would drain anything recorded before that).
      while (beatAge() <= 150 && Date.now() < deadline);
      expect(beatAge()).toBeGreaterThan(150);
      for (let i = 0; i < 10_000; i++) h.record(4);
      recordedAt = Date.now();
      // Samples waiting, and a lag that counts how long they have (it read 0 before: it was
      // the age at the last pass, and there was none since): at every read, at least the time
      // since they were recorded. Read until a beat (the beat's age, or the lag read from it,
      // goes down: status() reads the clock cell twice, and the beat may land between) or a
      // drain.
      reads = [];
      for (;;) {
        const at = Date.now();
        const s = m.status();
        const beat = s.collector.heartbeatAgeMs ?? 0;
        const lag = s.collector.lagMs;
        const prev = reads.at(-1);
        if (s.ingestion.pending === 0 || (prev && (beat < prev.beat || lag < prev.lag)) || at > deadline) break;
        reads.push({ at, lag, beat });
      }
      if (reads.length > 0 && reads.at(-1)!.at - recordedAt >= 5) break;
      // A beat or a drain at once: the collector had only napped (the fault starts a few ms
      // after the call returns, later on a loaded machine) and woke for them, or this thread
      // saw the hang too late, as the successor came. Again.
      expect(attempt, 'no stretch of 5 ms with samples waiting and no beat').toBeLessThan(5);
    }
    for (const r of reads) expect(r.lag, JSON.stringify(r)).toBeGreaterThanOrEqual(r.at - recordedAt);
    await waitFor(() => m.status().collector.restarts === 1, 10_000, 'the replacement');
    // Once a new collector has drained them, nothing waits and the lag is 0.
    await m.flush();
    expect(m.status()).toMatchObject({ ingestion: { pending: 0 }, collector: { lagMs: 0 } });
  });
});

describe('a stopped monitor', () => {
  it('says stopped and shows no live rate', async () => {
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    monitors.push(m);
    await m.start();
    m.record('queue_size', 3);
    await m.flush();
    await m.stop();
    const s = m.status();
    expect(s).toMatchObject({ state: 'stopped', running: false, uptimeMs: 0, ingestion: { ratePerSecond: null } });
    const text = statusText(statusOut(s), s);
    expect(text).toMatch(/^monitor stopped, interval 1s$/m);
    expect(text).toMatch(/ingested \d+, dropped 0/);
    expect(text).not.toMatch(/\/s\)|lag /);
  });
});
