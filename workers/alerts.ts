/**
 * The alert actor: evaluates every rule as data arrives, off the main thread. It waits on
 * the collector's DRAIN_EPOCH (bumped after each drain pass, each closed bucket and, while it has window rules, each hub batch applied) with
 * Atomics.waitAsync, so a breaching sample is evaluated within one drain of being recorded;
 * `last` rules on every drain (the collector notifies drains only while DRAIN_LISTENING is up) (every raw sample since their last look), window rules on
 * every closed bucket, and on a hub's member series at every batch of its members' buckets
 * applied (APPLIED_EPOCH: member-window.ts), or read further (HUB_READ_TO). Rules and manual resolutions arrive as comlink calls (on the port the
 * watchdog thread handed to the coordinator); transitions leave through the sink the
 * coordinator subscribed, in batches, in order. How far each series was judged is written to
 * shared memory once a round's transitions are sent, for a successor to resume from.
 *
 * Heartbeat: ALERT_CLOCK at every round and ALERT_BEAT_BY before each wait, from the first round after load (see run and src/engine/control.ts);
 * ALERT_CLOCK also after each series a round binds (evaluator.beat).
 */
import { workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { afterFreeze } from '../src/analysis/watched.js';
import { lastFreeze } from '../src/engine/freeze-watch.js';
import { ALERT_BEAT_BY, ALERT_CLOCK, ALERT_TID, APPLIED_EPOCH, BUCKET_EPOCH, CLOSED_BUCKET_START, DRAIN_EPOCH, DRAIN_LISTENING, HUB_READ_TO, MEMBER_LISTENING, PARTIAL_WINDOWS, UNJUDGED, controlViews } from '../src/engine/control.js';
import { monitorNow } from '../src/engine/monitor-clock.js';
import { ownThreadId } from '../src/engine/thread-cpu.js';
import { nodeEndpoint } from '../src/actors/comlink-node.js';
import { AlertEvaluator } from '../src/alerts/evaluator.js';
import type { AlertActorApi, AlertActorData, AlertSink } from '../src/actors/protocols.js';
import { ALERTS_LOCK_TAG, Registry, withoutStaleLocks } from '../src/engine/registry.js';
import { StoreReader } from '../src/engine/store/reader.js';

/**
 * Longest wait, so that the heartbeat moves (a hang in a control call run during the wait is
 * noticed within this plus the watchdog's grace) and pending timers are checked. At a 1 s
 * interval the closed buckets wake it once a second; a cap of 250 ms woke it four more times
 * a second, each a wake-up of the watchdog's too.
 */
const MAX_WAIT_MS = 1_000;

const data = workerData as AlertActorData;
const ctl = controlViews(data.control);
/** The monitor's clock (engine/monitor-clock.ts): the buckets' and the transitions' time. */
const now = (): number => monitorNow(ctl);
ctl.f64[ALERT_TID] = ownThreadId();
const evaluator = new AlertEvaluator(withoutStaleLocks(new Registry(data.registry, ALERTS_LOCK_TAG)), new StoreReader(data.store), new Float64Array(data.progress));
evaluator.watchedFrom = data.watchedFrom;
evaluator.watched = data.watched;
// A replacement actor counts on from its predecessors' totals (status() reads them).
evaluator.unjudged = ctl.f64[UNJUDGED]!;
evaluator.partialWindows = ctl.f64[PARTIAL_WINDOWS]!;
// A long bind beats as it goes; the promise (ALERT_BEAT_BY) stands, as the watchdog counts
// from the later of it and the last beat.
evaluator.beat = () => {
  if (beating) ctl.f64[ALERT_CLOCK] = now();
};
let sink: AlertSink | undefined;
let loaded!: () => void;
const loading = new Promise<void>((resolve) => (loaded = resolve));
let stopping = false;
/** Set once load is done: until then the actor has not beaten, and a beat would start the watchdog's clock mid-load. */
let beating = false;
let nextTimer = Infinity;
let wake: () => void = () => {};

/**
 * Sends the round's transitions (and, with `withValues`, the active alerts' values), then
 * records how far it judged. Settles once the coordinator has taken them: a control call
 * answers after that, so what it changed is there when its caller looks (the batch travels on
 * the sink's port, beside the call's answer, and the answer came first for some).
 */
function flush(withValues: boolean): Promise<void> {
  const transitions = evaluator.takeTransitions();
  ctl.f64[UNJUDGED] = evaluator.unjudged;
  ctl.f64[PARTIAL_WINDOWS] = evaluator.partialWindows;
  const values = sink && withValues ? evaluator.activeValues() : [];
  let taken = Promise.resolve();
  if (sink && (transitions.length > 0 || values.length > 0)) {
    // The coordinator's sink does not throw; a message that cannot be delivered (the
    // coordinator is closing) must not end this actor either.
    taken = Promise.resolve(sink({ transitions, values })).catch(() => {});
  }
  evaluator.commitProgress();
  return taken;
}

async function run(): Promise<void> {
  // The first beat comes once the actor holds every rule and alert state (load, which the
  // coordinator calls on each new actor): restoring them is one synchronous step that grows
  // with the alerts, and a successor that had beaten already was due again within a round.
  // With 170,000 alerts it was replaced while loading, and each successor in turn: a crash
  // loop, no alerts evaluated, and a rule created meanwhile waited for ever. Until its first
  // beat the watchdog allows it a start's time (module loading, recovery).
  await loading;
  beating = true;
  let drainEpoch = Atomics.load(ctl.i32, DRAIN_EPOCH);
  let bucketEpoch = Atomics.load(ctl.i32, BUCKET_EPOCH);
  let appliedEpoch = Atomics.load(ctl.i32, APPLIED_EPOCH);
  evaluator.onData(now());
  void flush(false);
  while (!stopping) {
    const at = now();
    const timeout = Math.max(1, Math.min(MAX_WAIT_MS, nextTimer - at));
    ctl.f64[ALERT_CLOCK] = at;
    ctl.f64[ALERT_BEAT_BY] = at + timeout;
    // Raised before waitAsync compares the epoch, so a drain after it is never missed.
    const listening = evaluator.lastRules > 0 ? 1 : 0;
    if (Atomics.load(ctl.i32, DRAIN_LISTENING) !== listening) Atomics.store(ctl.i32, DRAIN_LISTENING, listening);
    const members = evaluator.windowRules > 0 ? 1 : 0;
    if (Atomics.load(ctl.i32, MEMBER_LISTENING) !== members) Atomics.store(ctl.i32, MEMBER_LISTENING, members);
    const waited = Atomics.waitAsync(ctl.i32, DRAIN_EPOCH, drainEpoch, timeout);
    if (waited.async) {
      // A control call (a new rule, say) also ends the wait, through wake().
      await Promise.race([waited.value, new Promise<void>((resolve) => (wake = resolve))]);
    }
    const t = now();
    // The process was stopped (SIGSTOP, a VM suspended): its gap was not watched, as between a stop() and a start().
    evaluator.watched = afterFreeze(evaluator.watched, lastFreeze(ctl));
    // A hub's main thread read its links past a boundary (markHubRead): a silent member's windows move on.
    const read = ctl.f64[HUB_READ_TO]!;
    const readPast = Math.floor(read / data.intervalMs) !== Math.floor(evaluator.hubReadTo / data.intervalMs);
    evaluator.hubReadTo = read;
    const d = Atomics.load(ctl.i32, DRAIN_EPOCH);
    if (d !== drainEpoch) {
      drainEpoch = d;
      evaluator.onData(t);
    }
    const be = Atomics.load(ctl.i32, BUCKET_EPOCH);
    let bucket = false;
    if (be !== bucketEpoch) {
      bucketEpoch = be;
      evaluator.onBucket(ctl.f64[CLOSED_BUCKET_START]! + data.intervalMs, t);
      bucket = true;
    }
    const ae = Atomics.load(ctl.i32, APPLIED_EPOCH);
    if (ae !== appliedEpoch || readPast) {
      appliedEpoch = ae;
      evaluator.onMemberBuckets(t);
      bucket = true;
    }
    nextTimer = evaluator.onTimer(t);
    void flush(bucket);
  }
}

const api: AlertActorApi = {
  ready: () => now(),
  subscribe(s) {
    sink = s;
  },
  load(rules, alerts) {
    evaluator.resume(rules, alerts, now());
    evaluator.onData(now());
    void flush(false);
    loaded();
    wake();
  },
  async addRule(rule) {
    evaluator.addRule(rule, now());
    // Evaluate the rule against the data already there, now.
    evaluator.onData(now());
    nextTimer = Math.min(nextTimer, evaluator.onTimer(now()));
    const taken = flush(false);
    wake();
    await taken;
  },
  async deleteRule(id) {
    const deleted = evaluator.deleteRule(id, now());
    await flush(false);
    return deleted;
  },
  watch(watched) {
    evaluator.watched = watched;
  },
  async resolve(fingerprint) {
    const resolved = evaluator.resolve(fingerprint, now());
    await flush(false);
    return resolved;
  },
  async stop() {
    stopping = true;
    wake();
  },
  injectFault(fault) {
    // A few ms later, so that this call's reply reaches the coordinator first.
    if (fault === 'exit') setTimeout(() => process.exit(4), 5);
    else if (fault === 'hang') {
      setTimeout(() => {
        const until = Date.now() + 60_000;
        while (Date.now() < until) {
          // a stuck actor: its beat stops, and the watchdog must notice and replace it
        }
      }, 5);
    } else
      setTimeout(() => {
        throw new Error('injected alert actor fault');
      }, 5);
  },
};

Comlink.expose(api, nodeEndpoint(data.port!));
void run();
