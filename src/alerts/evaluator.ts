/**
 * Rule evaluation and the alert state machine, as a plain class driven by the caller's
 * clock: the alert actor calls it when the store moves, tests call it on synthetic time.
 *
 * A rule binds to every series of its metric whose tags include the rule's; each binding is
 * one alert (fingerprint). `last` rules judge every raw sample, in order, that a drain
 * published since they last looked (a spike inside a burst fires, and so does a breach
 * followed by a clean sample in the same drain); window rules aggregate closed buckets each
 * time one closes, and on a hub's member series each time the member's bucket arrives
 * (member-window.ts).
 *
 * What a `last` rule can replay is bounded by the series' raw ring (rawCapacity): samples
 * overwritten before the rule looked are counted (`unjudged`), not judged. How far each
 * series was judged is kept in shared memory (`progress`, written after each round's
 * transitions went out), so an evaluator restarted after a crash judges the samples recorded
 * while it was down, and none twice.
 *
 * States: inactive → pending → firing → resolved (and back to pending/firing for a new
 * episode). With duration 0 an alert fires at once, skipping pending. A firing alert
 * resolves when the value is back past resolveThreshold (hysteresis; default: the threshold
 * itself) and autoResolve is on; a resolved alert ignores breaches for `cooldown` seconds.
 * No data (an empty window) counts as "condition false" for aggregations without a value then
 * (avg, min, max, quantiles); its count, sum and rate are 0, judged as such.
 *
 * A `last` rule's series that has no sample for the rule's `window` seconds (or GONE_INTERVALS
 * collection intervals, when longer) is gone (a pod, a user id that churned): its pending alert goes inactive and its firing one resolves (with
 * autoResolve), the transition's `reason` saying so; a rule created later does not judge it.
 * An alert restored after a restart whose series does not record within its rule's window goes
 * the same way. Before, such an alert judged the series' last value for good: it never resolved.
 */
import { createHash } from 'node:crypto';
import type { Registry } from '../engine/registry.js';
import { SketchAccumulator } from '../engine/sketch.js';
import type { StoreReader } from '../engine/store/reader.js';
import { anomalyScore } from '../analysis/anomaly.js';
import { ALWAYS_WATCHED, coveredSeconds, watchedOf, type Watched } from '../analysis/watched.js';
import { heldFrom } from '../engine/store/held-from.js';
import type { Alert, AlertRule, AlertState, AlertTransition, Operator } from './schema.js';
import { deletedReason } from './deleted-reason.js';
import { clusterWindowEnd, memberWindowEnd } from './member-window.js';

export function compare(op: Operator, value: number, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '<':
      return value < threshold;
    case '>=':
      return value >= threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value === value && value !== threshold;
  }
}

const PERCENTILES: Record<string, number> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };

/**
 * Where a new `last` binding starts judging: a rule added now judges the newest sample at
 * once; a series that appeared since the last round, all of its samples; after a restart,
 * from where the previous evaluator got to (or, for a series it never judged, what the raw
 * ring holds since the rule was created).
 */
type BindFrom = 'new-rule' | 'new-series' | 'resume';

interface Binding {
  rule: AlertRule;
  id: number;
  fingerprint: string;
  tags: Record<string, string>;
  /** Raw head (count of raw samples) up to which a `last` rule judged. */
  seenHead: number;
  /** Samples older than this (ms) are not judged (slots never written; what predates a resumed rule). */
  since: number;
  /** The time of the last sample judged: transitions never go back in time. */
  clock: number;
  /** When the series was last heard of (its last sample judged, or the binding made): `window` seconds later it is gone. */
  heardAt: number;
  /** A window rule on a hub's member series: the end of the last window judged (each is judged once, member-window.ts). */
  judgedTo: number;
  lastValue: number;
  state: AlertState;
  activeSince: number;
  firedAt: number | null;
  resolvedAt: number | null;
}

/**
 * `runFrom`: when this run of the monitor began. An alert pending since before it (restored
 * from its database, or kept over a stop() and a start()) counts its duration again from `now`
 * and waits for a value judged in this run: the time the monitor was down is no time the
 * condition was seen to hold. It counted, and a `last` rule's alert pending 1 s of its 5 s fired
 * 0.9 s after a restart 6 s later, on the value from before, with no sample since.
 */
function restoreState(b: Binding, a: Alert, runFrom: number, now: number): void {
  b.state = a.state;
  b.activeSince = a.activeSince;
  b.firedAt = a.firedAt;
  b.resolvedAt = a.resolvedAt;
  b.lastValue = a.value;
  if (a.state === 'pending' && a.activeSince < runFrom) {
    b.activeSince = now;
    b.lastValue = Number.NaN;
  }
}

/**
 * Collection intervals a `last` rule's series may go without a sample before it is gone, when
 * that is longer than the rule's window: the monitor samples its system and runtime series
 * once an interval, and at a 70 s interval the default window (60 s) took each of them for
 * gone between two samples, its alert resolving and firing again (a new page) at every one.
 */
const GONE_INTERVALS = 2;

/** How long (ms) a `last` rule's series goes without a sample before it is gone: its window, or GONE_INTERVALS when longer. */
export function goneAfterMs(rule: AlertRule, intervalMs: number): number {
  return Math.max(rule.window * 1000, GONE_INTERVALS * intervalMs);
}

/** Why an alert ended with no sample: its series has none in the rule's window (or two collection intervals, when longer). */
export function goneReason(rule: AlertRule, intervalMs: number): string {
  const ms = goneAfterMs(rule, intervalMs);
  const why = ms > rule.window * 1000 ? `two collection intervals, longer than the rule's window of ${rule.window} s` : "the rule's window";
  return `no sample of the series for ${ms / 1000} s (${why}): it is no longer recorded`;
}

function fingerprintOf(ruleId: string, seriesKey: string): string {
  return createHash('sha1').update(ruleId).update('\0').update(seriesKey).digest('hex').slice(0, 16);
}

export class AlertEvaluator {
  private readonly registry: Registry;
  private readonly reader: StoreReader;
  private readonly rules = new Map<string, AlertRule>();
  private readonly byMetric = new Map<string, AlertRule[]>();
  private readonly bindings = new Map<string, Binding[]>();
  private readonly byFingerprint = new Map<string, Binding>();
  /**
   * Alert states handed to resume() whose series is not in the registry yet (a monitor
   * restarted from its database, before the series records again): applied when it binds.
   */
  private readonly waiting = new Map<string, { alert: Alert; since: number }>();
  private lastBindings: Binding[] = [];
  private windowBindings: Binding[] = [];
  private scanned = 0;
  private readonly stats = new Float64Array(6);
  private readonly rawT: Float64Array;
  private readonly rawV: Float64Array;
  private readonly acc = new SketchAccumulator();
  private out: AlertTransition[] = [];
  /** Per series id, the raw head judged by `last` rules (NaN: never), shared with a successor. */
  private readonly progress: Float64Array<ArrayBufferLike>;
  /** Series judged this round and their heads, written to `progress` by commitProgress(). */
  private readonly judgedIds: Int32Array;
  private readonly judgedHeads: Float64Array;
  private judgedCount = 0;
  /** Raw samples that left the raw ring before a `last` rule judged them. */
  unjudged = 0;
  /**
   * Judgements of a window rule's quantile that stood for part of its window: the older
   * buckets' sketches had left the sketch log (their samples counted, not their values).
   */
  partialWindows = 0;
  /** Rules that judge raw samples (`last`): while there are none, drains do not concern the evaluator. */
  lastRules = 0;
  /** Rules that judge windows: while there are none, a hub's member batches do not concern the evaluator. */
  windowRules = 0;
  /** When the monitor started watching (its first start, ms): the buckets in memory begin there. */
  watchedFrom = -Infinity;
  /**
   * When the monitor watched (its runs: a stop() and a start() again leave a gap): a window
   * reaching back before its first start, or over a gap, covers less than its length, and
   * `rate` is per second of what it covers, as in getMetrics.
   */
  watched: Watched = ALWAYS_WATCHED;
  /**
   * A hub's: how far its main thread has read its members' links and applied what they held
   * (HUB_READ_TO); a silent member's windows move on no further (member-window.ts). Infinity
   * where nothing else holds them back.
   */
  hubReadTo = Infinity;
  /** The end of the newest bucket closed (onBucket). */
  private closedTo = -Infinity;
  /**
   * Called after each series whose tags a pass decodes (binding it to a rule), so that the
   * actor beats while it binds: at the tag limits a series' tags are 786 KB, 7-8 ms to decode,
   * and 100 new series bound in one round went 780 ms without a beat (the watchdog replaced
   * the actor as hung, and its successor did the same).
   */
  beat: () => void = () => {};

  /** `progress` is shared memory that outlives the evaluator (Float64Array, NaN-filled, one cell per series id). */
  constructor(registry: Registry, reader: StoreReader, progress: Float64Array<ArrayBufferLike> = new Float64Array(reader.layout.maxSeries).fill(Number.NaN)) {
    this.registry = registry;
    this.reader = reader;
    this.progress = progress;
    this.rawT = new Float64Array(reader.layout.rawCap);
    this.rawV = new Float64Array(reader.layout.rawCap);
    this.judgedIds = new Int32Array(reader.layout.maxSeries);
    this.judgedHeads = new Float64Array(reader.layout.maxSeries);
  }

  addRule(rule: AlertRule, now = Date.now()): void {
    this.addRules([rule], 'new-rule', now);
  }

  /**
   * Adds rules and binds them to the series seen so far, sorting the evaluation lists once:
   * a restarted actor loads every rule at once, and sorting after each of 10,000 made its
   * start-up take minutes.
   */
  addRules(rules: readonly AlertRule[], from: BindFrom = 'new-rule', now = Date.now()): void {
    // Series registered since the evaluator last looked are bound to the rules there were
    // first (as new series), so a new rule binds every series there is as a new rule: it judged
    // all the held samples of a series recorded since the last drain or bucket (a breach from
    // before it existed fired and resolved at once) and only the newest of any other.
    if (from === 'new-rule') this.bindNewSeries('new-series', now);
    for (const rule of rules) {
      if (this.rules.has(rule.id)) this.deleteRule(rule.id, now, deletedReason(true));
      this.rules.set(rule.id, rule);
      const list = this.byMetric.get(rule.metric) ?? [];
      list.push(rule);
      this.byMetric.set(rule.metric, list);
      this.bindings.set(rule.id, []);
      for (let id = 0; id < this.scanned; id++) this.bindIfMatch(rule, id, from, now);
    }
    this.reindex();
  }

  /**
   * Removes a rule; its firing alerts resolve (so notifications close them) and its pending
   * ones go back to inactive, each transition saying why (`reason`), those restored from the
   * database whose series has not recorded since the restart too: they went without a word,
   * and a receiver showed them firing until its own timeout.
   */
  deleteRule(ruleId: string, now: number, reason = deletedReason()): boolean {
    const rule = this.rules.get(ruleId);
    if (!rule) return false;
    for (const b of this.bindings.get(ruleId) ?? []) {
      if (b.state === 'firing') this.transition(b, 'resolved', b.lastValue, now, reason);
      else if (b.state === 'pending') this.transition(b, 'inactive', b.lastValue, now, reason);
      this.byFingerprint.delete(b.fingerprint);
    }
    for (const [fp, w] of this.waiting) {
      if (w.alert.ruleId !== ruleId) continue;
      if (w.alert.state === 'firing' || w.alert.state === 'pending') this.endWaiting(fp, w.alert, w.alert.value, now, reason);
      this.waiting.delete(fp);
    }
    this.rules.delete(ruleId);
    this.bindings.delete(ruleId);
    const list = (this.byMetric.get(rule.metric) ?? []).filter((r) => r.id !== ruleId);
    if (list.length) this.byMetric.set(rule.metric, list);
    else this.byMetric.delete(rule.metric);
    this.reindex();
    return true;
  }

  /**
   * After a restart: the rules and the alerts' states a previous evaluator left, resuming
   * each `last` rule from where that evaluator got to.
   */
  resume(rules: readonly AlertRule[], alerts: readonly Alert[], now = Date.now()): void {
    this.addRules(rules, 'resume', now);
    this.bindNewSeries('resume', now);
    for (const a of alerts) {
      const b = this.byFingerprint.get(a.fingerprint);
      if (b) restoreState(b, a, this.watched.from, now);
      else if (this.rules.has(a.ruleId)) this.waiting.set(a.fingerprint, { alert: a, since: now });
    }
  }

  /** New raw samples were published: `last` rules judge each sample of their series since they last looked. */
  onData(now: number): void {
    this.bindNewSeries('new-series', now);
    // Bindings are sorted by series: a series' head is read and its new samples copied once,
    // for all of its rules, and its progress is one number.
    const list = this.lastBindings;
    for (let i = 0; i < list.length; ) {
      const id = list[i]!.id;
      const head = this.reader.rawHead(id);
      let end = i;
      let backlog = 0;
      for (; end < list.length && list[end]!.id === id; end++) backlog = Math.max(backlog, (head - list[end]!.seenHead) | 0);
      if (backlog > 0) {
        const n = this.reader.rawRange(id, (head - backlog) | 0, head, this.rawT, this.rawV);
        for (let k = i; k < end; k++) this.judge(list[k]!, head, n, now);
        this.judgedIds[this.judgedCount] = id;
        this.judgedHeads[this.judgedCount++] = head;
      }
      i = end;
    }
  }

  /** Publishes how far each series was judged; the actor calls it once the round's transitions are sent. */
  commitProgress(): void {
    for (let i = 0; i < this.judgedCount; i++) this.progress[this.judgedIds[i]!] = this.judgedHeads[i]!;
    this.judgedCount = 0;
  }

  /**
   * Steps a `last` binding through the samples after its seenHead, up to `head`: the last
   * ones of the `n` copied (the oldest of its backlog may be gone: counted as unjudged).
   */
  private judge(b: Binding, head: number, n: number, now: number): void {
    const backlog = (head - b.seenHead) | 0;
    b.seenHead = head;
    if (backlog <= 0) return;
    const count = backlog < n ? backlog : n;
    this.unjudged += backlog - count;
    const t = this.rawT;
    const v = this.rawV;
    const rule = b.rule;
    for (let i = n - count; i < n; i++) {
      const value = v[i]!;
      const at = t[i]!;
      if (at < b.since) continue;
      // A sample stamped ahead of the clock (a batch timestamp) counts as now.
      if (at > b.clock) b.clock = at < now ? at : now;
      if (b.clock > b.heardAt) b.heardAt = b.clock;
      // The common case, an inactive alert and no breach, changes nothing but the value.
      if (b.state === 'inactive' && !compare(rule.operator, value, rule.threshold)) {
        b.lastValue = value;
        continue;
      }
      this.step(b, value, b.clock);
    }
  }

  /**
   * A bucket closed at `closedEnd`: evaluates window rules over the buckets before it, on a
   * hub's member series over those up to its newest (or an interval behind, member-window.ts).
   */
  onBucket(closedEnd: number, now: number): void {
    this.closedTo = closedEnd;
    this.bindNewSeries('new-series', now);
    this.judgeWindows(closedEnd, now);
    this.judgeWaiting(closedEnd, now);
    this.onTimer(now);
  }

  /**
   * A hub applied its members' buckets, or read its links further (hubReadTo): window rules
   * judge each member series whose window end is new.
   */
  onMemberBuckets(now: number): void {
    this.bindNewSeries('new-series', now);
    this.judgeWindows(-Infinity, now);
  }

  /**
   * Judges window rules: at `closedEnd` (-Infinity: none, only member series), each member
   * series at the end of its window (memberWindowEnd) where no window of its rule ended there yet.
   */
  private judgeWindows(closedEnd: number, now: number): void {
    const intervalMs = this.reader.layout.intervalMs;
    let cachedId = -1;
    let cachedWindow = -1;
    let cachedEnd = Number.NaN;
    let sketched = false;
    let partial = false;
    let watchedMs = 0;
    let held = Number.NaN;
    const stats = this.stats;
    let endId = -1;
    let member = false;
    let cluster = false;
    let end = closedEnd;
    let watched = this.watched;
    const lagging = Math.min(this.closedTo, Math.floor(this.hubReadTo / intervalMs) * intervalMs) - intervalMs;
    // Bindings are sorted by (series, window), so rules sharing both share one read.
    for (const b of this.windowBindings) {
      if (b.id !== endId) {
        endId = b.id;
        member = this.registry.isMember(b.id);
        cluster = !member && this.registry.isCluster(b.id);
        end = member ? memberWindowEnd(this.reader, b.id, lagging) : cluster ? clusterWindowEnd(this.reader, b.id, this.closedTo) : closedEnd;
        // A member series holds nothing of the time before its member started (watchedOf):
        // over the hub's time, a member joining a hub up 20 s fired `rate(x[60s]) < 50` as it joined.
        watched = member ? watchedOf(this.registry, b.id, this.watched) : this.watched;
      }
      // A member series' window is judged once for each end; the hub's own series' at each of its closes.
      if (member || cluster) {
        if (!(end > b.judgedTo)) continue;
        b.judgedTo = end;
      } else if (end === -Infinity) continue;
      if (b.rule.aggregation === 'anomaly') {
        const info = this.registry.info(b.id);
        this.step(b, anomalyScore(this.reader, b.id, end, spanMs(b.rule.window, intervalMs) / 1000, info.kind, info.unit), now);
        continue;
      }
      const windowMs = spanMs(b.rule.window, intervalMs);
      const from = end - windowMs;
      if (b.id !== cachedId || windowMs !== cachedWindow || end !== cachedEnd) {
        cachedId = b.id;
        cachedWindow = windowMs;
        cachedEnd = end;
        sketched = false;
        partial = false;
        watchedMs = from >= watched.from ? windowMs : (coveredSeconds(from, end, watched) ?? 0) * 1000;
        held = from;
        if (!this.reader.windowStats(b.id, from, end, stats)) {
          // Longer than the bucket ring: rollups and buckets together (with the sketch), from
          // where what the store holds of the series begins, which a rate is per second of.
          held = heldFrom(this.reader, b.id, from);
          const agg = this.reader.aggregate(b.id, held, end, this.acc);
          stats[0] = agg.count;
          stats[1] = agg.sum;
          stats[2] = agg.min;
          stats[3] = agg.max;
          stats[4] = agg.last;
          sketched = true;
          partial = agg.unsketched > 0;
        }
      }
      const q = PERCENTILES[b.rule.aggregation];
      if (q !== undefined && !sketched) {
        this.acc.reset();
        partial = this.reader.addWindowSketch(b.id, from, end, this.acc) > 0;
        sketched = true;
      }
      if (q !== undefined && partial) this.partialWindows++;
      // An alert active since before the monitor started watching (restored from its
      // database) is not cleared by a window that reaches back before the start: buckets and
      // rollups in memory begin at the start, so that window lacks the samples that made the
      // alert, and its first bucket, empty, resolved every such alert at a deploy, to page
      // again at the next breach. It is judged as usual once its window lies after the start.
      const blind = from < this.watchedFrom && b.activeSince < this.watchedFrom;
      const value = this.windowValue(b, q, held, end, watched);
      const may = watchedMs < windowMs ? partlyWatched(b.rule, value, stats[2]!, stats[3]!, watchedMs, this.reader.layout.intervalMs) : JUDGE;
      // A part that proves the window clear (`count < 500` on 600 counted) clears a restored alert too.
      this.step(b, value, now, (blind && may !== NO_FIRE) || (may & NO_CLEAR) !== 0, (may & NO_FIRE) !== 0);
    }
  }

  /**
   * Judges the restored alerts of window rules whose series this process has not registered
   * (a series first recorded less than storageFlushMs before a crash: its catalog entry was
   * never written; or one the start left out): it recorded nothing since the start, so once the
   * window lies after the start it is empty, and judged as a known series' empty window is
   * (avg, min, max, quantiles, anomaly: no data, "condition false"; count, sum and rate: 0).
   * They waited for their series for good: a firing one stayed firing, sent to Alertmanager at
   * every resend, and a pending one stayed pending. A firing one that resolves waits on, as
   * resolved, for its cooldown should the series come back (resolve()).
   */
  private judgeWaiting(closedEnd: number, now: number): void {
    for (const [fp, w] of this.waiting) {
      const a = w.alert;
      const rule = this.rules.get(a.ruleId)!;
      if (rule.aggregation === 'last' || a.state === 'resolved') continue;
      const windowMs = spanMs(rule.window, this.reader.layout.intervalMs);
      const from = closedEnd - windowMs;
      // A window reaching back before the start lacks the samples that made the alert (onBucket's `blind`).
      if (from < this.watchedFrom) continue;
      const value = emptyWindowValue(rule.aggregation, coveredSeconds(from, closedEnd, this.watched));
      if (a.state === 'firing') {
        if (!rule.autoResolve || compare(rule.operator, value, rule.resolveThreshold ?? rule.threshold)) continue;
        this.endWaiting(fp, a, value, now);
        w.alert = { ...a, state: 'resolved', value, resolvedAt: now };
      } else if (!compare(rule.operator, value, rule.threshold)) {
        this.waiting.delete(fp);
        this.endWaiting(fp, a, value, now);
      } else if (now - w.since >= rule.duration * 1000) {
        // Pending since before the start, its duration counts from the start (restoreState).
        this.out.push(this.waitingTransition(fp, a, 'firing', value, now));
        w.alert = { ...a, state: 'firing', value, firedAt: now };
      }
    }
  }

  /**
   * Fires pending alerts whose duration has elapsed, and ends the active alerts of `last`
   * rules whose series is gone (no sample for the rule's window); returns when to call again
   * (ms), or Infinity.
   */
  onTimer(now: number): number {
    let next = Infinity;
    for (const b of this.lastBindings) {
      if (b.state !== 'pending' && b.state !== 'firing') continue;
      const rule = b.rule;
      const gone = b.heardAt + goneAfterMs(rule, this.reader.layout.intervalMs);
      const due = b.state === 'pending' ? b.activeSince + rule.duration * 1000 : Infinity;
      // A pending alert whose series went before its duration ran out never fires.
      if (gone <= now && gone <= due) {
        if (b.state === 'pending' || rule.autoResolve) {
          b.lastValue = Number.NaN;
          this.transition(b, b.state === 'pending' ? 'inactive' : 'resolved', Number.NaN, now, goneReason(rule, this.reader.layout.intervalMs));
        }
        continue;
      }
      if (due <= now) this.step(b, b.lastValue, now);
      if (b.state === 'pending' && due < next) next = due;
      if ((b.state === 'pending' || (b.state === 'firing' && rule.autoResolve)) && gone < next) next = gone;
    }
    for (const [fp, w] of this.waiting) {
      const a = w.alert;
      const rule = this.rules.get(a.ruleId)!;
      // A resolved one waits for its series with its cooldown; a firing one without autoResolve,
      // for resolveAlert(); a window rule's, to judge its window (`rate < 1` fires on no data).
      if (rule.aggregation !== 'last' || a.state === 'resolved' || (a.state === 'firing' && !rule.autoResolve)) continue;
      const gone = w.since + goneAfterMs(rule, this.reader.layout.intervalMs);
      // A pending one counts its duration again from the start and fires only on a value judged
      // since (restoreState): with none, it ends when its duration runs out, as a bound one
      // does. It waited for its window (300 s for a 5 s duration).
      const due = a.state === 'pending' ? w.since + rule.duration * 1000 : Infinity;
      const end = gone < due ? gone : due;
      if (end > now) {
        if (end < next) next = end;
        continue;
      }
      this.waiting.delete(fp);
      this.endWaiting(fp, a, Number.NaN, now, gone <= due ? goneReason(rule, this.reader.layout.intervalMs) : undefined);
    }
    return next;
  }

  /**
   * Resolves a firing alert by hand (rules with autoResolve off need it), one restored from the
   * database whose series has not recorded since the restart too (it waits for its series):
   * that one stays resolved when its series comes back, its cooldown running. Before, such an
   * alert could not be resolved at all and stayed firing for good.
   */
  resolve(fingerprint: string, now: number): boolean {
    const b = this.byFingerprint.get(fingerprint);
    if (b) {
      if (b.state !== 'firing') return false;
      this.transition(b, 'resolved', b.lastValue, now);
      return true;
    }
    const w = this.waiting.get(fingerprint);
    if (w?.alert.state !== 'firing') return false;
    this.endWaiting(fingerprint, w.alert, w.alert.value, now);
    w.alert = { ...w.alert, state: 'resolved', resolvedAt: now };
    return true;
  }

  /** The transition ending a pending (to inactive) or firing (to resolved) alert that waits for its series. */
  private endWaiting(fingerprint: string, a: Alert, value: number, now: number, reason?: string): void {
    this.out.push(this.waitingTransition(fingerprint, a, a.state === 'pending' ? 'inactive' : 'resolved', value, now, reason));
  }

  /** A transition of an alert that waits for its series, from its state to `to`. */
  private waitingTransition(fingerprint: string, a: Alert, to: AlertState, value: number, now: number, reason?: string): AlertTransition {
    const rule = this.rules.get(a.ruleId)!;
    return { at: now, ruleId: rule.id, ruleName: rule.name, fingerprint, metric: rule.metric, tags: a.tags, severity: rule.severity, from: a.state, to, value, threshold: to === 'resolved' ? (rule.resolveThreshold ?? rule.threshold) : rule.threshold, ...(reason !== undefined ? { reason } : {}) };
  }

  /** Transitions since the last call, oldest first. */
  takeTransitions(): AlertTransition[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  alerts(): Alert[] {
    const out: Alert[] = [];
    for (const b of this.byFingerprint.values()) {
      if (b.state === 'inactive') continue;
      out.push(this.alertOf(b));
    }
    return out;
  }

  /** [fingerprint, latest value] of each pending or firing alert, without building the alerts. */
  activeValues(): [string, number][] {
    const out: [string, number][] = [];
    for (const b of this.byFingerprint.values()) if (b.state === 'pending' || b.state === 'firing') out.push([b.fingerprint, b.lastValue]);
    return out;
  }

  /**
   * The value of `b`'s rule over its window [from, closedEnd) (whole buckets: spanMs), read
   * into stats and acc; `from` is where what the store holds of the series begins, when later;
   * `watched`: when the series was watched (watchedOf).
   */
  private windowValue(b: Binding, q: number | undefined, from: number, closedEnd: number, watched: Watched): number {
    const rule = b.rule;
    const [count, sum, min, max, last] = this.stats;
    switch (rule.aggregation) {
      case 'avg':
        return count! > 0 ? sum! / count! : Number.NaN;
      case 'min':
        return count! > 0 ? min! : Number.NaN;
      case 'max':
        return count! > 0 ? max! : Number.NaN;
      case 'sum':
        return sum!;
      case 'count':
        return count!;
      case 'rate': {
        // Per second, as getMetrics and reports have it: a counter's sum, any other kind's
        // samples, over the time the window covers (the part of it the monitor watched). Over
        // the whole window, a monitor's first minute read its traffic at a fraction of its
        // rate, and `rate < x` fired at every start; over the time it was stopped, likewise after a restart.
        // Over the part the store holds (heldFrom): over the whole window, a window longer than
        // the bucket ring read up to a tenth low, and one longer than the rollups far lower.
        const seconds = coveredSeconds(from, closedEnd, watched);
        if (seconds === null) return Number.NaN;
        return (this.registry.info(b.id).kind === 'counter' ? sum! : count!) / seconds;
      }
      case 'last':
        return last!;
      default: {
        if (!(count! > 0) || this.acc.total === 0) return Number.NaN;
        const v = this.acc.quantile(q!);
        return v < min! ? min! : v > max! ? max! : v;
      }
    }
  }

  /** `keep`: the value may raise the alert, not clear it (a pending one stays, a firing one does not resolve). */
  /** `keep`: the value may not end a pending or firing alert; `hold`: nor start or fire one. */
  private step(b: Binding, value: number, now: number, keep = false, hold = false): void {
    const rule = b.rule;
    b.lastValue = value;
    const breach = compare(rule.operator, value, rule.threshold);
    switch (b.state) {
      case 'inactive':
      case 'resolved':
        if (!breach || hold) return;
        if (b.state === 'resolved' && b.resolvedAt !== null && now < b.resolvedAt + rule.cooldown * 1000) return;
        b.activeSince = now;
        b.firedAt = null;
        b.resolvedAt = null;
        this.transition(b, rule.duration > 0 ? 'pending' : 'firing', value, now);
        return;
      case 'pending':
        if (!breach) {
          if (!keep) this.transition(b, 'inactive', value, now);
        } else if (!hold && now - b.activeSince >= rule.duration * 1000) this.transition(b, 'firing', value, now);
        return;
      case 'firing': {
        if (!rule.autoResolve) return;
        const clear = !compare(rule.operator, value, rule.resolveThreshold ?? rule.threshold);
        if (clear && !keep) this.transition(b, 'resolved', value, now);
        return;
      }
    }
  }

  private transition(b: Binding, to: AlertState, value: number, now: number, reason?: string): void {
    const from = b.state;
    b.state = to;
    if (to === 'firing') b.firedAt = now;
    if (to === 'resolved') b.resolvedAt = now;
    this.out.push({
      at: now,
      ruleId: b.rule.id,
      ruleName: b.rule.name,
      fingerprint: b.fingerprint,
      metric: b.rule.metric,
      tags: b.tags,
      severity: b.rule.severity,
      from,
      to,
      value,
      threshold: to === 'resolved' ? (b.rule.resolveThreshold ?? b.rule.threshold) : b.rule.threshold,
      ...(reason !== undefined ? { reason } : {}),
    });
  }


  private alertOf(b: Binding): Alert {
    return {
      fingerprint: b.fingerprint,
      ruleId: b.rule.id,
      ruleName: b.rule.name,
      metric: b.rule.metric,
      tags: b.tags,
      severity: b.rule.severity,
      state: b.state as Alert['state'],
      value: b.lastValue,
      threshold: b.rule.threshold,
      activeSince: b.activeSince,
      firedAt: b.firedAt,
      resolvedAt: b.resolvedAt,
      description: b.rule.description ?? '',
      labels: b.rule.labels ?? {},
    };
  }

  private bindNewSeries(from: BindFrom, now: number): void {
    const n = this.registry.seriesCount();
    if (n === this.scanned) return;
    let bound = false;
    for (let id = this.scanned; id < n; id++) {
      // By name alone: the tags of a series no rule names are never decoded.
      const rules = this.byMetric.get(this.registry.nameOf(id));
      if (rules) for (const rule of rules) bound = this.bindIfMatch(rule, id, from, now) || bound;
    }
    this.scanned = n;
    if (bound) this.reindex();
  }

  private bindIfMatch(rule: AlertRule, id: number, from: BindFrom, now: number): boolean {
    if (this.registry.nameOf(id) !== rule.metric) return false;
    // The rule's tags found in the series' key first: only a series it binds is decoded.
    if (rule.tags && !this.registry.holds(id, rule.tags)) return false;
    const info = this.registry.info(id);
    this.beat();
    const seriesKey = Object.entries(info.tags).map(([k, v]) => `${k}=${v}`).join(',');
    const head = this.reader.rawHead(id);
    const judged = this.progress[id]!;
    let seenHead = (head - 1) | 0;
    // Slots never written hold time 0: a floor of 1 ms skips them.
    let since = 1;
    // A new rule does not judge a series gone before it (no sample within its window).
    if (from === 'new-rule') since = Math.max(since, now - goneAfterMs(rule, this.reader.layout.intervalMs));
    else if (from === 'new-series') seenHead = 0;
    else if (from === 'resume') {
      if (judged === judged) seenHead = judged;
      else {
        seenHead = (head - Math.min(head >>> 0, this.reader.layout.rawCap)) | 0;
        since = rule.createdAt;
      }
    }
    const b: Binding = {
      rule,
      id,
      fingerprint: fingerprintOf(rule.id, seriesKey),
      tags: info.tags,
      seenHead,
      since,
      clock: -Infinity,
      // A new rule hears of a series by its samples (those in its window); a new or resumed binding, from now.
      heardAt: from === 'new-rule' ? -Infinity : now,
      judgedTo: -Infinity,
      lastValue: Number.NaN,
      state: 'inactive',
      activeSince: 0,
      firedAt: null,
      resolvedAt: null,
    };
    const restored = this.waiting.get(b.fingerprint);
    if (restored) {
      restoreState(b, restored.alert, this.watched.from, now);
      this.waiting.delete(b.fingerprint);
    }
    this.bindings.get(rule.id)!.push(b);
    this.byFingerprint.set(b.fingerprint, b);
    return true;
  }

  private reindex(): void {
    this.lastRules = 0;
    this.windowRules = 0;
    for (const rule of this.rules.values()) if (rule.aggregation === 'last') this.lastRules++;
    else this.windowRules++;
    const all = [...this.bindings.values()].flat();
    this.lastBindings = all.filter((b) => b.rule.aggregation === 'last').sort((a, b) => a.id - b.id);
    this.windowBindings = all.filter((b) => b.rule.aggregation !== 'last').sort((a, b) => a.id - b.id || a.rule.window - b.rule.window);
  }
}

/**
 * The span (ms) a window rule judges: `window` seconds rounded up to whole buckets of
 * `intervalMs`. A bucket is judged whole or not at all, so a window that ended inside one left
 * it out: at a 5 s interval a 4 s window held no bucket, `count < 1` fired on every bucket
 * while 50 samples a second came, and `avg > 10` never fired; at 2 s, a 3 s window held one
 * bucket and its rate divided that bucket's samples by 3 s (130/s for 198/s).
 */
const JUDGE = 0;
const NO_FIRE = 1;
const NO_CLEAR = 2;

/**
 * What a window the monitor did not watch whole may decide (it started, or was stopped and
 * started again, within the window; `watchedMs` of it watched): JUDGE, or NO_FIRE and
 * NO_CLEAR bits. A count, sum, min or max of the part watched bounds the whole window's: its
 * count is at least the part's, and so is its max (and its sum, with no negative sample),
 * its min at most. So the part decides where the samples it has not seen could only push
 * the value further the same way: `count > 500` fires on a part that counts 600, `count <
 * 500` resolves on it; the other way it waits for the whole window (`count < 500` over 10 s
 * fired at every start on its first second's 67 samples, and resolved 5 s later). A rate is
 * per second of the part watched (coveredSeconds), judged once that part holds a whole
 * bucket: over the first bucket's last 50 ms, a service's 2 requests a second read 0. Means
 * and quantiles are judged on the samples there are.
 */
function partlyWatched(rule: AlertRule, value: number, min: number, max: number, watchedMs: number, intervalMs: number): number {
  let lower: boolean;
  switch (rule.aggregation) {
    case 'count':
    case 'max':
      lower = true;
      break;
    case 'min':
      lower = false;
      break;
    case 'sum':
      if (!(min >= 0) && !(max <= 0)) return NO_FIRE | NO_CLEAR;
      lower = min >= 0;
      break;
    case 'rate':
      return watchedMs >= intervalMs ? JUDGE : NO_FIRE | NO_CLEAR;
    default:
      return JUDGE;
  }
  const op = rule.operator;
  const above = op === '>' || op === '>=';
  if (value !== value || (!above && op !== '<' && op !== '<=')) return NO_FIRE | NO_CLEAR;
  // A lower bound proves a breach above the threshold and a clear below it; an upper bound the reverse.
  return lower === above ? NO_CLEAR : NO_FIRE;
}

/**
 * A window rule's value over a window that holds no sample (`seconds`: the part of it the
 * monitor watched, null for none), as windowValue() reads it: count, sum and rate 0 (a rate
 * over no watched time has none), any other no data (NaN).
 */
function emptyWindowValue(aggregation: AlertRule['aggregation'], seconds: number | null): number {
  if (aggregation === 'count' || aggregation === 'sum') return 0;
  if (aggregation === 'rate') return seconds === null ? Number.NaN : 0;
  return Number.NaN;
}

export function spanMs(windowSeconds: number, intervalMs: number): number {
  return Math.ceil((windowSeconds * 1000) / intervalMs) * intervalMs;
}
