/**
 * The collector actor: a thread that drives the engine (src/engine/engine.ts) on the wall
 * clock. The engine drains the rings into the store, closes buckets and samples the system;
 * this shell decides when it runs, and answers the coordinator.
 *
 * Loop: while rings hold data, drain passes run back to back (yielding to the event loop
 * every few ms so control calls get answered); when they are empty it sets SLEEPING and
 * waits on the doorbell until a producer rings or the next bucket boundary is due. Each
 * wake-up costs the thread a good part of a millisecond whatever it then does, so after a
 * pass that moved data it dozes (see sleep()): the bursts of DOZE_MS are taken in one pass.
 *
 * The wait is a blocking Atomics.wait, not Atomics.waitAsync: on this kind of machine a
 * wake-up through waitAsync and the event loop costs the thread 90-160 µs, a blocking one
 * about 40 µs (bench:wake-cost), and a busy service wakes the collector tens of times a second.
 * So the event loop turns only when it has work: when the coordinator posted a control call
 * (it raises MAIL and rings, see ringMail), while the system sampler waits on an async
 * source, every TIMER_TURN_MS while a timer of its own waits, and at least every IDLE_TURN_MS
 * for V8's own tasks. Control calls arrive over comlink, on the port the watchdog thread (its
 * parent, src/actors/watchdog.ts) handed to the coordinator.
 *
 * Heartbeat: CLOCK at every round, and BEAT_BY, the time by which it will beat again (now
 * while busy, the wake-up time before it sleeps); passes over all series beat as they go. The
 * watchdog replaces it a grace period past a broken promise.
 *
 * On start the engine resumes from the rings' APPLIED cells and the store's own state: a
 * collector restarted after a crash loses no sample and applies none twice.
 */
import { getHeapStatistics } from 'node:v8';
import { threadId, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { nodeEndpoint } from '../src/actors/comlink-node.js';
import type { CollectorApi, CollectorData } from '../src/actors/protocols.js';
import { ASLEEP, DOORBELL, DOZING, DRAIN_LISTENING, HANG_AT, INGESTED, MAIL, SLEEPING, STARTED_AT, TID, controlViews } from '../src/engine/control.js';
import { Engine } from '../src/engine/engine.js';
import { FreezeWatch } from '../src/engine/freeze-watch.js';
import { SteadyClock } from '../src/engine/monitor-clock.js';
import { SystemSampler } from '../src/engine/system.js';
import { ownThreadId, threadCpuMs } from '../src/engine/thread-cpu.js';

/** Longest run of back-to-back passes before yielding to the event loop. */
const YIELD_MS = 4;
/**
 * The doze after a pass that moved data: the most recorded data waits for the collector
 * (unless a ring fills to half first, or `last` rules listen to every drain). A pass costs
 * the thread a fixed part, most of it the cache lines of every series it touches, cold again
 * after each sleep, so a service recording in bursts every few ms pays for one pass per
 * DOZE_MS, not one per burst: at 100k samples/s over 100 series, 4 passes a second instead of
 * 20 took the collector from about 1.0% of a core to 0.6% (docs/benchmarks.md, "The doze").
 * Readers see recorded data up to this late (flush() first for at once); window rules judge
 * closed buckets, which the boundary's pass closes whatever the doze.
 */
const DOZE_MS = 250;
/**
 * The doze while the alert actor has `last` rules (DRAIN_LISTENING), which judge each drain:
 * short, so that a breach reaches them within a few ms, but a doze. Without one, every
 * end-of-turn flush of a recording thread found this thread asleep and woke it (a futex wake on
 * the recording thread), and each drain woke the alert actor: with one `last` rule, a node:http
 * server at 5,000 requests a second spent about 3.8% more of a core (each of the two actors
 * ~1,400 wake-ups a second, the main thread 1.2 µs a request), its monitor's cost per request
 * three times what it is without the rule (docs/benchmarks.md, "A `last` rule's wake-ups").
 */
const LISTENING_DOZE_MS = 5;
/**
 * The last ms of a bucket, in which the collector does not doze: samples go into the bucket
 * open when they are drained, and a doze that ran on to the boundary put everything recorded
 * in its last 250 ms into the next bucket (a fifth to a quarter of a steady series' samples a
 * second, at a 1 s interval, with no `last` rule to keep the collector awake). A doze ends
 * this long before the boundary instead, and from there the collector sleeps as it does with
 * empty rings, woken by each producer's end-of-turn flush, so what is recorded up to the
 * boundary is drained into its bucket. 2 ms of lead was not enough on a loaded machine, where
 * the wake-up itself came that late (17 of 120 samples a bucket late in a CI run); each
 * second costs a few more wake-ups, those of the flushes in these ms.
 */
const BOUNDARY_LEAD_MS = 20;
/**
 * Longest blocking sleep, so the heartbeat moves at least this often. The watchdog looks when
 * a promise falls due, so a hang that starts after an early wake (a control call) is noticed
 * this plus its grace (300 ms) later at most. At 250 ms an idle collector woke five times a
 * second, each wake-up one of the watchdog's too; at a second, once (at the boundary, for a
 * 1 s interval), at the price of noticing such a hang within 1.3 s instead of 0.55 s. It is
 * also the cap that lets V8's own tasks run (IDLE_TURN_MS).
 */
const MAX_SLEEP_MS = 1_000;
/**
 * Longest sleep in the event loop (while an async system source is pending): its callbacks
 * and timers run under the promise made before the sleep, so this bounds how late a hang in
 * them is noticed: this plus the watchdog's grace (300 ms).
 */
const MAX_LOOP_SLEEP_MS = 250;
/** Longest the event loop goes unturned while a timer of this thread waits (see later()). */
const TIMER_TURN_MS = 100;
/**
 * Longest it goes unturned otherwise. Nothing of ours waits on it then (control calls raise
 * MAIL, an async source turns it while it waits), only V8's own tasks (GC steps), and each
 * turn costs the thread 60-80 µs here: turning every 100 ms regardless was 5 turns a second
 * of an idle collector and 10 of one taking samples every 50 ms (docs/benchmarks.md).
 */
const IDLE_TURN_MS = 1_000;

const data = workerData as CollectorData;
const ctl = controlViews(data.control);
/** The monitor's clock, read through now() below. */
const clock = new SteadyClock(ctl);
ctl.f64[TID] = ownThreadId();
/** Finds a stop of the whole process (SIGSTOP, a VM suspended) before the buckets of its gap close: engine/freeze-watch.ts. */
const freeze = new FreezeWatch(ctl);
const sampler = data.system.enabled
  ? new SystemSampler({ intervalMs: data.intervalMs, slowCadenceMs: data.system.slowCadenceMs, diskPaths: data.system.diskPaths })
  : undefined;
const engine = new Engine({ control: data.control, registry: data.registry, store: data.store, rings: data.rings, intervalMs: data.intervalMs, clock: now, ...(sampler ? { system: sampler } : {}) });
let stopping = false;
let stopped: () => void = () => {};
const done = new Promise<void>((resolve) => {
  stopped = resolve;
});
let flushWaiters: (() => void)[] = [];
/** When the event loop last had a turn. */
let loopTurnedAt = 0;
/** Timers armed by later() that have not fired: while any, the loop turns every TIMER_TURN_MS. */
let timers = 0;

/** setTimeout for this thread: counted, so that the blocking waits let it fire on time. */
function later(ms: number, fn: () => void): void {
  timers++;
  setTimeout(() => {
    timers--;
    fn();
  }, ms);
}

/**
 * Sample times are the monitor's clock (engine/monitor-clock.ts), which every thread reads the
 * same way, so that a reader's `to = monitorNow(ctl)` and the collector's stamps agree; this
 * thread alone moves it past a step back of the wall clock.
 */
function now(): number {
  return clock.now();
}

function wake(): void {
  Atomics.add(ctl.i32, DOORBELL, 1);
  Atomics.notify(ctl.i32, DOORBELL);
}

/**
 * Waits for a producer or the next boundary. ASLEEP (the rings were empty): any publish
 * rings. DOZING (after a pass that moved data): at most DOZE_MS, and only an urgent publish
 * (a ring half full, a producer about to wait on a full one) ends it early, so that the
 * bursts of those milliseconds are taken in one pass and one wake-up. A control call ends
 * either at once (MAIL), as do flush() and stop() once taken (they bump DOORBELL themselves).
 */
async function sleep(t: number, mode: typeof ASLEEP | typeof DOZING, dozeMs: number): Promise<void> {
  const inLoop = sampler?.awaiting === true;
  const boundary = engine.bucketStart + data.intervalMs;
  // A doze comes only before the lead (run()): it ends where the lead begins.
  const until = mode === DOZING ? boundary - BOUNDARY_LEAD_MS : boundary;
  const wakeAt = Math.min(until, t + (mode === DOZING ? dozeMs : inLoop ? MAX_LOOP_SLEEP_MS : timers > 0 ? TIMER_TURN_MS : MAX_SLEEP_MS));
  // SLEEPING goes up before the doorbell is read and the rings are looked at once more:
  // a producer that published after that look sees SLEEPING and bumps DOORBELL, so the
  // wait below returns at once ('not-equal') instead of sleeping on data. MAIL is read after
  // DOORBELL for the same reason (ringMail raises it before it rings).
  Atomics.store(ctl.i32, SLEEPING, mode);
  const bell = Atomics.load(ctl.i32, DOORBELL);
  if ((mode === DOZING || !engine.anyPending()) && flushWaiters.length === 0 && !stopping && Atomics.load(ctl.i32, MAIL) === 0) {
    engine.promiseBeat(wakeAt);
    const ms = Math.max(1, wakeAt - t);
    freeze.sleeping(ms);
    if (inLoop) {
      // An async source answers through the event loop: wait in it.
      const result = Atomics.waitAsync(ctl.i32, DOORBELL, bell, ms);
      if (result.async) await result.value;
      loopTurnedAt = now();
    } else Atomics.wait(ctl.i32, DOORBELL, bell, ms);
  }
  Atomics.store(ctl.i32, SLEEPING, 0);
}

/** Turns the event loop once (control calls, timers, async answers get their turn). */
async function turnLoop(): Promise<void> {
  Atomics.store(ctl.i32, MAIL, 0);
  await new Promise<void>((resolve) => setImmediate(resolve));
  loopTurnedAt = now();
}

async function run(): Promise<void> {
  const start = now();
  engine.start(start);
  loopTurnedAt = start;
  for (;;) {
    const t = now();
    freeze.see(t);
    engine.beat(t);
    const moved = engine.pass(t);
    const end = now();
    // Stopping, it drains on until the rings are empty: a pass takes at most BATCH samples a
    // ring, and with a ring larger than that (ringCapacity), one pass at stop() left the rest.
    if (stopping ? moved > 0 && engine.anyPending() : (moved > 0 && engine.anyPending()) || engine.closing) {
      if (end - loopTurnedAt > YIELD_MS || Atomics.load(ctl.i32, MAIL) !== 0) await turnLoop();
      continue;
    }
    // Rings were empty after this pass: whoever waited for a flush has everything now.
    if (flushWaiters.length > 0) {
      const waiters = flushWaiters;
      flushWaiters = [];
      for (const w of waiters) w();
      // Their answers leave in microtasks, which a blocking wait would hold back: let them run.
      await turnLoop();
    }
    if (stopping) break;
    // `last` rules judge each drain as it comes: while there are some (DRAIN_LISTENING), a
    // burst is held back a few ms at most, not DOZE_MS.
    const dozes = moved > 0 && end < engine.bucketStart + data.intervalMs - BOUNDARY_LEAD_MS;
    await sleep(end, dozes ? DOZING : ASLEEP, Atomics.load(ctl.i32, DRAIN_LISTENING) !== 0 ? LISTENING_DOZE_MS : DOZE_MS);
    if (Atomics.load(ctl.i32, MAIL) !== 0 || now() - loopTurnedAt >= (timers > 0 ? TIMER_TURN_MS : IDLE_TURN_MS)) await turnLoop();
  }
  stopped();
}

const api: CollectorApi = {
  ready: () => ctl.f64[STARTED_AT]!,
  addRing(sab) {
    api.addRings([sab]);
  },
  addRings(list) {
    // A ring handed out while this collector was starting may be in workerData already.
    engine.addRings(list);
    wake();
  },
  flush() {
    return new Promise<number>((resolve) => {
      flushWaiters.push(() => resolve(ctl.f64[INGESTED]!));
      wake();
    });
  },
  info: () => {
    const { rings, openSeries, freeSketchPages } = engine.info();
    return {
      rings,
      openSeries,
      freeSketchPages,
      system: {
        enabled: sampler !== undefined,
        platform: sampler?.platform ?? 'off',
        note: sampler?.note ?? null,
        mounts: sampler?.diskMounts() ?? [],
        sources: sampler?.costs() ?? [],
      },
    };
  },
  async stop() {
    stopping = true;
    wake();
    await done;
  },
  usage: () => {
    const costs = sampler?.costs() ?? [];
    const sampling = sampler?.samplingCost() ?? { samplingMs: 0, passMs: 0 };
    return {
      thread: threadId,
      cpuMs: threadCpuMs(),
      heapUsed: getHeapStatistics().used_heap_size,
      systemCadenceMs: engine.systemCadenceMs,
      slowCadenceMs: sampler?.slowCadenceMs ?? data.system.slowCadenceMs,
      spawnCalls: costs.filter((c) => c.spawnsProcesses).reduce((a, c) => a + c.calls, 0),
      // The sources that read files in this thread; the spawning ones cost in child processes.
      samplingMs: sampling.samplingMs,
      samplePassMs: sampling.passMs,
    };
  },
  setSystemCadence(systemMs, slowMs) {
    engine.setSystemCadence(systemMs, slowMs);
  },
  applyBuckets(batch) {
    const n = engine.applyBuckets(batch, now());
    wake();
    return n;
  },
  injectFault(fault) {
    // A few ms later, so that this call's reply reaches the coordinator first.
    if (fault === 'exit') later(5, () => process.exit(3));
    else if (fault === 'throw') {
      later(5, () => {
        throw new Error('injected collector fault');
      });
    } else {
      later(5, () => {
        ctl.f64[HANG_AT] = Date.now();
        const until = Date.now() + 60_000;
        while (Date.now() < until) {
          // a stuck actor: the watchdog must notice and replace it
        }
      });
    }
  },
};

Comlink.expose(api, nodeEndpoint(data.port!));
void run();
