/**
 * The wake-ups the collector pays for (each costs its thread a good part of a millisecond,
 * docs/benchmarks.md): a producer rings a sleeping collector once per burst recorded in one
 * turn of its event loop, at the end-of-turn flush, unless the ring fills to half
 * first; a collector dozing after a burst only at half full; and a drain wakes the
 * alert actor only while it has `last` rules (DRAIN_LISTENING), which judge every drain.
 */
import { describe, expect, it } from 'vitest';
import { ALERT_BEAT_BY, ALERT_CLOCK, ASLEEP, BEAT_BY, CLOCK, DOORBELL, DOZING, DRAIN_EPOCH, DRAIN_LISTENING, MAIL, SLEEPING, controlViews, createControl } from '../dist/src/engine/control.js';
import { Engine } from '../dist/src/engine/engine.js';
import { Registry, createRegistry } from '../dist/src/engine/registry.js';
import { RingWriter, createRing } from '../dist/src/engine/ring.js';
import { createStore } from '../dist/src/engine/store/layout.js';
import { PerformanceMonitor } from '../dist/src/index.js';
import { harness } from './alert-harness.js';
import { waitFor } from './helpers.js';

const T0 = 1_800_000_000_000;
const MiB = 1024 * 1024;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
/**
 * A monitor little else wakes: no system or runtime readings, a bucket a minute long (no
 * boundary in a test's window to speak of), the overhead checks (whose readings a flush
 * publishes, which rings) a minute apart.
 */
const idle = () => new PerformanceMonitor({ storage: 'memory', collectionIntervalMs: 60_000, system: { enabled: false }, runtime: { enabled: false }, overhead: { checkIntervalMs: 60_000 } });
const controlOf = (m: PerformanceMonitor) => controlViews((m as unknown as { control: SharedArrayBuffer }).control);

describe('a producer wakes a sleeping collector', () => {
  it('once per burst, at the end of the turn, while the ring stays under half full', async () => {
    const control = createControl();
    const ctl = controlViews(control);
    const producer = new RingWriter(createRing(1 << 12), control, 'drop');
    Atomics.store(ctl.i32, SLEEPING, 1);
    const bell = Atomics.load(ctl.i32, DOORBELL);
    for (let i = 0; i < 1000; i++) producer.push(1, i);
    // Published (every 64 samples), but the collector sleeps on.
    expect(producer.unpublished()).toBeLessThan(64);
    expect(Atomics.load(ctl.i32, DOORBELL)).toBe(bell);
    expect(Atomics.load(ctl.i32, SLEEPING)).toBe(1);
    await nextTurn();
    expect(producer.unpublished()).toBe(0);
    expect(Atomics.load(ctl.i32, DOORBELL)).toBe(bell + 1);
    expect(Atomics.load(ctl.i32, SLEEPING)).toBe(0);
  });

  it('at once when the ring is half full, within the turn', () => {
    const control = createControl();
    const ctl = controlViews(control);
    const producer = new RingWriter(createRing(1 << 12), control, 'drop');
    Atomics.store(ctl.i32, SLEEPING, 1);
    const bell = Atomics.load(ctl.i32, DOORBELL);
    let i = 0;
    for (; i < 2048 && Atomics.load(ctl.i32, DOORBELL) === bell; i++) producer.push(1, i);
    // The publish that found the ring half (2,048 of 4,096) full rang.
    expect(i).toBe(2048);
    expect(Atomics.load(ctl.i32, DOORBELL)).toBe(bell + 1);
  });
});

describe('a producer wakes a dozing collector (it drained a burst and waits a few ms for more)', () => {
  it('not at the end of a turn, but once the ring is half full', async () => {
    const control = createControl();
    const ctl = controlViews(control);
    const producer = new RingWriter(createRing(1 << 12), control, 'drop');
    Atomics.store(ctl.i32, SLEEPING, DOZING);
    const bell = Atomics.load(ctl.i32, DOORBELL);
    for (let i = 0; i < 500; i++) producer.push(1, i);
    await nextTurn();
    // Published at the end of the turn, and left for the doze to find.
    expect(producer.unpublished()).toBe(0);
    expect(Atomics.load(ctl.i32, DOORBELL)).toBe(bell);
    expect(Atomics.load(ctl.i32, SLEEPING)).toBe(DOZING);
    let i = 500;
    for (; i < 2048 && Atomics.load(ctl.i32, DOORBELL) === bell; i++) producer.push(1, i);
    expect(i).toBe(2048);
    expect(Atomics.load(ctl.i32, DOORBELL)).toBe(bell + 1);
    expect(Atomics.load(ctl.i32, SLEEPING)).toBe(0);
  });
});

describe('a drain wakes a waiter on DRAIN_EPOCH', () => {
  function engineWithSamples() {
    const control = createControl();
    const registryBuffers = createRegistry({ maxSeries: 64, maxTags: 8, maxTagValueLength: 64 });
    const registry = new Registry(registryBuffers, 1);
    const store = createStore({ maxSeries: 64, rawCapacity: 64, bucketCapacity: 60, rollupCapacity: 60, intervalMs: 1000, rollupMs: 60_000, logBytes: 4 * MiB, rollupLogBytes: 4 * MiB, poolBytes: 4 * MiB });
    const ring = createRing(1 << 10);
    const producer = new RingWriter(ring, control, 'drop');
    const engine = new Engine({ control, registry: registryBuffers, store, rings: [ring], intervalMs: 1000, ownReadings: false, clock: () => T0 });
    engine.start(T0);
    const id = registry.seriesId('x', undefined);
    return {
      ctl: controlViews(control),
      drain(t: number): number {
        producer.push(id, 1);
        producer.publish(false);
        return engine.pass(t);
      },
    };
  }

  it('not while DRAIN_LISTENING is down: the epoch moves without a notify', async () => {
    const e = engineWithSamples();
    const epoch = Atomics.load(e.ctl.i32, DRAIN_EPOCH);
    const waited = Atomics.waitAsync(e.ctl.i32, DRAIN_EPOCH, epoch, 300);
    expect(e.drain(T0 + 10)).toBe(1);
    expect(Atomics.load(e.ctl.i32, DRAIN_EPOCH)).toBe(epoch + 1);
    // The guard ends the wait: nobody notified it.
    expect(await waited.value).toBe('timed-out');
  });

  it('at once while it is up', async () => {
    const e = engineWithSamples();
    Atomics.store(e.ctl.i32, DRAIN_LISTENING, 1);
    const epoch = Atomics.load(e.ctl.i32, DRAIN_EPOCH);
    const waited = Atomics.waitAsync(e.ctl.i32, DRAIN_EPOCH, epoch, 30_000);
    expect(e.drain(T0 + 10)).toBe(1);
    expect(await waited.value).toBe('ok');
  });

  it('the evaluator counts the rules that need every drain: `last` ones', () => {
    const h = harness();
    expect(h.evaluator.lastRules).toBe(0);
    h.rule({ name: 'p99', metric: 'latency', aggregation: 'p99', window: 60, operator: '>', threshold: 1, severity: 'warning' });
    expect(h.evaluator.lastRules).toBe(0);
    const last = h.rule({ name: 'deep', metric: 'queue', aggregation: 'last', operator: '>', threshold: 1, severity: 'warning' });
    expect(h.evaluator.lastRules).toBe(1);
    h.evaluator.deleteRule(last.id, T0);
    expect(h.evaluator.lastRules).toBe(0);
  });

  it("the alert actor raises DRAIN_LISTENING while it has a `last` rule, and lowers it when the rule goes", async () => {
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    await m.start();
    try {
      const ctl = controlViews((m as unknown as { control: SharedArrayBuffer }).control);
      await m.createAlertRule({ name: 'p99', metric: 'latency', aggregation: 'p99', window: 60, operator: '>', threshold: 1 });
      await m.flush();
      expect(Atomics.load(ctl.i32, DRAIN_LISTENING)).toBe(0);
      const rule = await m.createAlertRule({ name: 'deep', metric: 'queue', aggregation: 'last', operator: '>', threshold: 1 });
      await waitFor(() => Atomics.load(ctl.i32, DRAIN_LISTENING) === 1, 10_000, 'DRAIN_LISTENING raised');
      await m.deleteAlertRule(rule.id);
      await waitFor(() => Atomics.load(ctl.i32, DRAIN_LISTENING) === 0, 10_000, 'DRAIN_LISTENING lowered');
    } finally {
      await m.stop();
    }
  });
});

describe('a collector with `last` rules to feed', () => {
  it('dozes a few ms after a drain, so a thread recording in every turn does not wake it in each', async () => {
    const m = idle();
    await m.start();
    try {
      const ctl = controlOf(m);
      await m.createAlertRule({ name: 'deep', metric: 'queue', aggregation: 'last', operator: '>', threshold: 1e9 });
      await waitFor(() => Atomics.load(ctl.i32, DRAIN_LISTENING) === 1, 10_000, 'DRAIN_LISTENING raised');
      const queue = m.metric('queue');
      // A sample a timer turn (about one a millisecond) for two seconds, as a service handles
      // its requests: each turn's end-of-turn flush publishes it. Asleep after each drain (no
      // doze), the collector was woken for each (about 900 drains a second, and as many
      // wake-ups of the alert actor); dozing 5 ms, at most one drain a doze (each drain bumps
      // DRAIN_EPOCH). A stream of samples every few µs keeps the collector passing back to
      // back either way: not this.
      const epoch = Atomics.load(ctl.i32, DRAIN_EPOCH);
      const t0 = performance.now();
      let turns = 0;
      while (performance.now() - t0 < 2_000) {
        queue.record(turns++);
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      const elapsed = performance.now() - t0;
      const drains = Atomics.load(ctl.i32, DRAIN_EPOCH) - epoch;
      expect(drains).toBeGreaterThan(0);
      expect(drains).toBeLessThanOrEqual(Math.ceil(elapsed / 5) + 20);
      await m.flush();
      expect(m.getMetrics({ names: ['queue'] })[0]!.totalCount).toBe(turns);
    } finally {
      await m.stop();
    }
  });
});

describe('a control call reaches a collector in its blocking wait', () => {
  it('at once: answered before the wake-up the collector promised when it went to sleep', async () => {
    const m = idle();
    await m.start();
    try {
      const ctl = controlOf(m);
      // Without MAIL the call waits in the port until the wait times out at the promised
      // BEAT_BY, so no answer comes before it unless something else rings; with it, an answer
      // comes within a millisecond or so. Three of five, so that a machine that stalls a round
      // trip past the sleep (1 s) cannot fail it, nor a stray ring pass it.
      let early = 0;
      for (let i = 0; i < 5; i++) {
        await waitFor(() => Atomics.load(ctl.i32, SLEEPING) === ASLEEP && ctl.f64[BEAT_BY]! > Date.now() + 50, 10_000, 'the collector asleep');
        const promised = ctl.f64[BEAT_BY]!;
        await m.flush();
        if (Date.now() < promised) early++;
      }
      expect(early).toBeGreaterThanOrEqual(3);
      expect(Atomics.load(ctl.i32, MAIL)).toBe(0);
    } finally {
      await m.stop();
    }
  });
});

describe('an idle monitor sleeps in long waits', () => {
  // Each sleep cut short of its promise costs a wake-up of the actor and one of the watchdog
  // (which wakes when a promise falls due).

  it('the collector, asleep in its blocking wait, promises its next beat a second ahead, not a quarter', async () => {
    const m = idle();
    await m.start();
    try {
      const ctl = controlOf(m);
      // The promise is made at the end of the round that beat (CLOCK) and read while it holds:
      // a wake between the reads shows CLOCK = BEAT_BY, so it is read until a sleep is seen.
      await waitFor(() => Atomics.load(ctl.i32, SLEEPING) === ASLEEP && ctl.f64[BEAT_BY]! - ctl.f64[CLOCK]! >= 1_000, 10_000, 'a sleep of a second');
    } finally {
      await m.stop();
    }
  });

  it('the alert actor promises its next beat a second ahead when no bucket closes, not a quarter', async () => {
    const m = idle();
    await m.start();
    try {
      const ctl = controlOf(m);
      await waitFor(() => ctl.f64[ALERT_BEAT_BY]! - ctl.f64[ALERT_CLOCK]! >= 1_000, 10_000, 'a wait of a second');
    } finally {
      await m.stop();
    }
  });
});
