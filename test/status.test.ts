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
    const m = new PerformanceMonitor({ overflow: 'block', system: { enabled: false }, runtime: { enabled: false } });
    monitors.push(m);
    await m.start();
    await m.injectFault('hang');
    // Stuck: its heartbeat stops (it would drain anything recorded before that).
    await waitFor(() => (m.status().collector.heartbeatAgeMs ?? 0) > 150, 10_000, 'the collector to stop beating');
    const h = m.metric('response_time', { case: 'lag' });
    for (let i = 0; i < 10_000; i++) h.record(4);
    // Samples waiting, and a lag that counts how long they have (it read 0 before: it was the
    // age at the last pass, and there was none since). The watchdog replaces the hung
    // collector within a few hundred ms, and its successor drains them; until then the lag is
    // read every 2 ms, on this thread without yielding (both are in shared memory): polls
    // spaced by a busy event loop could miss the whole wait.
    let seen = 0;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const until = Date.now() + 10_000;
    for (let s = m.status(); s.ingestion.pending > 0 && Date.now() < until; s = m.status()) {
      seen = Math.max(seen, s.collector.lagMs);
      Atomics.wait(nap, 0, 0, 2);
    }
    await waitFor(() => m.status().collector.restarts === 1, 10_000, 'the replacement');
    expect(seen).toBeGreaterThanOrEqual(50);
    // Once a new collector has drained them, nothing waits and the lag is 0.
    await m.flush();
    expect(m.status()).toMatchObject({ ingestion: { pending: 0 }, collector: { lagMs: 0 } });
  });
});

describe('a stopped monitor', () => {
  it('says stopped and shows no live rate', async () => {
    const m = new PerformanceMonitor({ system: { enabled: false }, runtime: { enabled: false } });
    monitors.push(m);
    await m.start();
    m.record('queue_size', 3);
    await m.flush();
    await m.stop();
    const s = m.status();
    expect(s).toMatchObject({ state: 'stopped', running: false, uptimeMs: 0, ingestion: { ratePerSecond: null } });
    const text = statusText(statusOut(s));
    expect(text).toMatch(/^monitor stopped, interval 1s$/m);
    expect(text).toMatch(/ingested \d+, dropped 0/);
    expect(text).not.toMatch(/\/s\)|lag /);
  });
});
