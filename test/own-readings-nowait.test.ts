import { afterEach, describe, expect, it } from 'vitest';
import { HANG_AT, controlViews } from '../dist/src/engine/control.js';
import { ringStats } from '../dist/src/engine/ring.js';
import { CardinalityError, PerformanceMonitor } from '../dist/src/index.js';
import { countingWaits, waitFor } from './helpers.js';

// The monitor's own readings on the host's main thread (a fault's monitor_faults sample, the
// runtime's, a report's time) go into the host's ring. Under a policy that waits on a full
// ring they waited too: a fault while the collector hung held the host's event loop for a
// sample it never asked for. They never wait: with no room they are dropped and counted.

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

describe("the monitor's own readings on a host thread", () => {
  for (const overflow of ['block', 'wait'] as const) {
    it(`never wait on the host's full ring under '${overflow}': dropped and counted`, async () => {
      // The smallest ring, and a stall far longer than the test: a wait is seen as Atomics.wait
      // calls on this thread, whatever the machine's speed.
      const m = new PerformanceMonitor({ storage: 'memory', overflow, ringCapacity: 1024, stallTimeoutMs: 10_000, maxSeries: 16, system: { enabled: false }, runtime: { enabled: false } });
      monitors.push(m);
      await m.start();
      for (let i = 0; i < 16; i++) m.metric('jobs', { i: String(i) });
      const h = m.metric('jobs', { i: '0' });
      const ring = (m as unknown as { mainRing: SharedArrayBuffer }).mainRing;
      const ctl = controlViews((m as unknown as { control: SharedArrayBuffer }).control);
      await m.injectFault('hang');
      // Hung: from here only a successor (hundreds of ms away) frees room in the ring.
      await waitFor(() => ctl.f64[HANG_AT]! > 0, 10_000, 'the collector to hang');
      const writer = (m as unknown as { mainWriter: { fill(): number } }).mainWriter;
      while (writer.fill() < 1024) h.record(1);
      const droppedBefore = ringStats(ring).dropped;
      // A series past maxSeries: the refusal is a fault, whose monitor_faults sample is recorded here.
      let refused: unknown;
      const waits = countingWaits(() => {
        try {
          m.metric('jobs', { i: '16' });
        } catch (error) {
          refused = error;
        }
      });
      expect(refused).toBeInstanceOf(CardinalityError);
      expect(m.status().faults.byKind['series-limit']?.count).toBe(1);
      expect(waits).toBe(0);
      expect(ringStats(ring).dropped).toBe(droppedBefore + 1);
      expect(m.status().ingestion.dropped).toBeGreaterThanOrEqual(1);
    }, 30_000);
  }
});
