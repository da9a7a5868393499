/**
 * The coordinator's side of alerting: the source of truth for rules, the alert history and
 * the alerts' last known states (so a restarted alert actor picks up where the dead one
 * stopped), the 'alert' events, and the notifier. Evaluation itself runs in the alert actor.
 */
import { randomUUID } from 'node:crypto';
import { ALERT_BEAT_BY, ALERT_CLOCK, ALERT_TID, PARTIAL_WINDOWS, UNJUDGED, type ControlViews } from '../engine/control.js';
import { clockOffset, monitorNow } from '../engine/monitor-clock.js';
import { CapacityError, InvalidArgumentError } from '../errors.js';
import { checkKeys } from '../known-keys.js';
import type { RegistryBuffers } from '../engine/registry.js';
import { StoreLayout, type StoreBuffers } from '../engine/store/layout.js';
import { sink } from '../actors/comlink-node.js';
import { Supervisor, type ActorExit, type ActorState, type WatchdogLink } from '../actors/supervisor.js';
import { timeArg } from '../analysis/time-arg.js';
import type { AlertActorApi, AlertActorData, AlertBatch, ControlOp } from '../actors/protocols.js';
import { Notifier, type NotifierOptions, type NotifierStats } from './notify.js';
import type { OutboxRow } from './outbox.js';
import { TransitionHistory } from './history.js';
import { derivedAggregation } from '../value-text.js';
import { SEVERITIES, describeRule, parseAlertRule, ruleKey, ruleSubject, withDefaults, type Alert, type AlertRule, type AlertTransition, type Severity } from './schema.js';
import { copyReason, deletedReason } from './deleted-reason.js';
import { anomalyWindowTooLong } from './anomaly-window.js';
import type { CaptureNote } from '../profiling/schema.js';
import type { Watched } from '../analysis/watched.js';

export interface AlertQuery {
  /** pending, firing, resolved, active (pending + firing, the default) or all. */
  state?: 'pending' | 'firing' | 'resolved' | 'active' | 'all';
  severity?: Severity;
}

export interface HistoryFilter {
  from?: number | Date;
  to?: number | Date;
  /** A rule id. */
  rule?: string;
}

export interface AlertingStatus {
  actor: ActorState;
  restarts: number;
  rules: number;
  /** The limit on rules (maxAlertRules): createAlertRule refuses one more. */
  maxRules: number;
  pending: number;
  firing: number;
  historyLength: number;
  /**
   * Raw samples that left their series' raw ring (rawCapacity) before the `last` rules of
   * that series judged them: more than rawCapacity samples of one series between two rounds.
   */
  unjudgedSamples: number;
  /**
   * Judgements of a window rule's quantile (p50–p99) that stood for part of its window: the
   * older buckets' sketches had left the sketch log (sketchLogBytes; docs/storage.md).
   */
  partialWindows: number;
  /** The totals over every target, and `targets`: each one's own (its URL without user info). */
  notifications: NotifierStats & { enabled: boolean; targets: (NotifierStats & { url: string })[] };
}

export interface AlertingDeps {
  control: SharedArrayBuffer;
  views: ControlViews;
  registry: RegistryBuffers;
  store: StoreBuffers;
  /** Series ids the store holds (progress keeps one cell per id). */
  seriesCapacity: number;
  intervalMs: number;
  /** When the monitor first started (ms; now, before its first start): before it, no window clears a restored alert. */
  watchedFrom(): number;
  /** The run starting (or running) and the runs before it: what window rules' `rate` counts. */
  watched(): Watched;
  historyLimit: number;
  /** Rules at most (maxAlertRules); those restored from the database are kept even beyond it. */
  maxRules: number;
  notifier: NotifierOptions;
  watchdog: WatchdogLink;
  emit(event: string, ...args: unknown[]): void;
  /** Where an error in the coordinator's handling of a batch goes instead of the host. */
  fault(kind: string, error: unknown): void;
  /** The database, when the monitor keeps one (see ControlLog); without it, state lives in memory only. */
  persist?: AlertPersistence;
  /** An alert fired (after its notification went out): the profiler starts the rule's capture. */
  onFiring?(t: AlertTransition, rule: AlertRule): void;
}

/** What alerting needs of the monitor's ControlLog. */
export interface AlertPersistence {
  required(ops: ControlOp[], what: string): Promise<void>;
  kept(ops: ControlOp[]): Promise<boolean>;
}

/** What a restarted monitor finds in its database. */
export interface AlertingState {
  rules: AlertRule[];
  alerts: Alert[];
  history: AlertTransition[];
  /** The number of the last transition stored (transitions are numbered in the database). */
  lastSeq: number;
  /** The notifier's deliveries not ended and held resolutions (src/alerts/outbox.ts). */
  outbox: OutboxRow[];
}

const STATE_QUERIES = ['pending', 'firing', 'resolved', 'active', 'all'] as const;
/** The rules a fault of unjudgeable stored rules names (each with its reason); it counts the rest. */
const MAX_UNJUDGEABLE_NAMED = 3;

/** Bytes of the shared record of how far `last` rules judged each series (an f64 per series id). */
export function alertProgressBytes(seriesCapacity: number): number {
  return 8 * seriesCapacity;
}

export class Alerting {
  readonly actor: Supervisor<AlertActorApi>;
  private readonly deps: AlertingDeps;
  private readonly rules = new Map<string, AlertRule>();
  private readonly alerts = new Map<string, Alert>();
  private readonly history: TransitionHistory<AlertTransition>;
  private readonly notifier: Notifier;
  /** Batches waiting for their commit, applied in order (only with a database). */
  private batches: Promise<void> = Promise.resolve();
  /** Number of the last transition handed to the database. */
  private seq = 0;
  /** The number each transition of this process has in the database, to update its row (a capture's note). */
  private readonly seqOf = new WeakMap<AlertTransition, number>();
  /** The number (seq) of the newest transition in `history`: seq runs ahead while a batch is committed. */
  private historySeq = 0;
  /** createRule() calls past the limit's check and not yet in `rules` (their commit awaited): they count against it. */
  private creating = 0;
  /**
   * The rules held by their ruleKey, kept with `rules` (hold, release): a creation looks its
   * rule up at once, where comparing it with every rule held made n creations cost n² (minutes
   * for a monitor of maxAlertRules 100,000). A database written before identical rules were
   * answered may give back two of one key, which restore() deletes but the oldest (dropCopies).
   */
  private readonly byKey = new Map<string, AlertRule[]>();
  /**
   * Rules created before a start that found the same rule in its database (ruleKey): their
   * ids, answered to their callers, name the stored rule from then on (restore()).
   */
  private readonly aliases = new Map<string, string>();
  /** createRule() calls not yet answered, by their rule's ruleKey. */
  private readonly creatingKeys = new Map<string, Promise<void>>();

  constructor(deps: AlertingDeps) {
    this.deps = deps;
    this.history = new TransitionHistory(deps.historyLimit);
    const persist = deps.persist;
    this.notifier = new Notifier(deps.notifier, persist ? { save: (ops) => persist.kept(ops) } : undefined, () => clockOffset(deps.views), (id) => {
      const rule = this.rules.get(id);
      return rule ? { subject: ruleSubject(rule), derived: derivedAggregation(rule.aggregation) } : undefined;
    });
    // How far `last` rules judged each series: it outlives the actor, so a successor resumes.
    const progress = new SharedArrayBuffer(alertProgressBytes(deps.seriesCapacity));
    new Float64Array(progress).fill(Number.NaN);
    const data = (): AlertActorData => ({ control: deps.control, registry: deps.registry, store: deps.store, progress, intervalMs: deps.intervalMs, watchedFrom: deps.watchedFrom(), watched: deps.watched() });
    this.actor = new Supervisor<AlertActorApi>(
      'alerts',
      new URL('../../workers/alerts.js', import.meta.url),
      data,
      {
        exit: (info: ActorExit) => deps.emit('actor-exit', info),
        restart: (info) => deps.emit('actor-restart', info),
        // Each new actor gets the sink, every rule and the alerts' states.
        ready: async (remote) => {
          await remote.subscribe(sink((batch: AlertBatch) => this.onBatch(batch)));
          await remote.load([...this.rules.values()], [...this.alerts.values()]);
        },
      },
      deps.watchdog,
      { control: deps.control, at: ALERT_CLOCK, by: ALERT_BEAT_BY, tid: ALERT_TID },
    );
  }

  start(): Promise<void> {
    this.notifier.unpark();
    return this.actor.start();
  }

  /**
   * The monitor accepts records from now on, which its run counts as watched from: the actor
   * was handed the run's start as the monitor began starting, before its threads did. A
   * successor gets it in its data (deps.watched()).
   */
  watching(): void {
    if (this.actor.state === 'stopped') return;
    this.actor.call((a) => a.watch(this.deps.watched())).catch(() => {});
  }

  /** Stops evaluating; notifications go on, none holding the host long (Notifier.park). */
  async stop(): Promise<void> {
    await this.actor.stop();
    await this.batches;
    this.notifier.park();
  }

  /**
   * Puts back what the database held (start() of a monitor on a dataDir it used before),
   * before the actor starts: rules created before this start stay, beside the stored ones,
   * but for one the database holds already (the same fields: a service that creates its
   * rules before start() at each boot), which gives way to the stored rule, its id an alias
   * of the stored one's; it was written again at each boot, and each breach paged once per
   * boot so far, under a new fingerprint each. Restored later (a start that found no room
   * attached its database once there was), the running actor is given the stored rules and
   * their alerts, and the transitions this process made meanwhile are numbered after the
   * stored ones (as ControlState renumbers their waiting rows).
   */
  async restore(state: AlertingState): Promise<void> {
    if (this.actor.state === 'stopped') {
      for (const stored of state.rules) {
        if (this.rules.has(stored.id)) continue;
        for (const early of this.byKey.get(ruleKey(withDefaults(stored))) ?? []) {
          this.release(early);
          this.aliases.set(early.id, stored.id);
          // Its put-rule waits, unwritten: this follows it.
          if (this.deps.persist) void this.deps.persist.kept([{ op: 'delete-rule', id: early.id }]);
        }
      }
    }
    const rules = state.rules.filter((rule) => !this.rules.has(rule.id)).map(withDefaults);
    for (const rule of rules) this.hold(rule);
    const restored = state.alerts.filter((alert) => this.rules.has(alert.ruleId) && !this.alerts.has(alert.fingerprint));
    for (const alert of restored) this.alerts.set(alert.fingerprint, alert);
    if (this.seq > 0) {
      for (const t of this.history) {
        const seq = this.seqOf.get(t);
        if (seq !== undefined) this.seqOf.set(t, seq + state.lastSeq);
      }
      this.seq += state.lastSeq;
      this.historySeq += state.lastSeq;
    }
    this.notifier.resume(restored);
    try {
      this.notifier.restore(state.outbox);
    } catch (error) {
      this.deps.fault('notify', error);
    }
    this.history.prepend(state.history);
    this.seq = Math.max(this.seq, state.lastSeq);
    this.historySeq = Math.max(this.historySeq, state.lastSeq);
    const copies = this.dropCopies(rules);
    const loaded = copies.size === 0 ? rules : rules.filter((rule) => !copies.has(rule.id));
    const alive = copies.size === 0 ? restored : restored.filter((alert) => !copies.has(alert.ruleId));
    this.reportUnjudgeable(loaded);
    if (this.actor.state !== 'stopped' && (loaded.length > 0 || alive.length > 0)) await this.actor.call((a) => a.load(loaded, alive), true);
  }

  /**
   * Deletes the copies among the rules just restored (the same fields as one stored before
   * them: ruleKey), as deleteAlertRule() would, the oldest kept: a database written before
   * identical rules were answered as one (2026-12-05) holds a copy a boot of a service that
   * creates its rules at each boot, and each breach paged once a copy, for good, since the
   * copies came back at every start. A copy's id names the rule kept from then on; its firing
   * alerts resolve (notified, with the reason) and its pending ones end. The deletion is kept,
   * not required: a start does not fail for it, and a disk that refuses it now takes it later.
   * Returns the ids of the copies.
   */
  private dropCopies(restored: readonly AlertRule[]): Set<string> {
    const copies = new Set<string>();
    const first = new Map<string, AlertRule>();
    for (const rule of restored) {
      const key = ruleKey(rule);
      const kept = first.get(key);
      if (kept === undefined) {
        first.set(key, rule);
        continue;
      }
      copies.add(rule.id);
      this.aliases.set(rule.id, kept.id);
      this.release(rule);
      if (this.deps.persist) void this.deps.persist.kept([{ op: 'delete-rule', id: rule.id }]);
      const endings = this.endings(rule, copyReason(kept.id));
      // A resolved alert of the copy has no transition to make: it goes with the rule now; the others when their endings apply.
      for (const [fp, alert] of this.alerts) if (alert.ruleId === rule.id && alert.state !== 'firing' && alert.state !== 'pending') this.alerts.delete(fp);
      if (endings.length > 0) this.onBatch({ transitions: endings, values: [] });
    }
    return copies;
  }

  /**
   * The whole state as changes to commit into a new database (the file was removed while
   * running): every rule, every alert's state, and the history held, numbered as committed.
   */
  snapshot(): ControlOp[] {
    const first = this.historySeq - this.history.length + 1;
    return [
      ...[...this.rules.values()].map((rule): ControlOp => ({ op: 'put-rule', rule })),
      ...[...this.alerts.values()].map((alert): ControlOp => ({ op: 'put-alert', alert: { ...alert } })),
      ...this.history.toArray().map((transition, i): ControlOp => ({ op: 'transition', seq: first + i, transition })),
      ...this.notifier.snapshot(),
    ];
  }

  /**
   * Drops the transitions held from before `cutoff` (ms): a retention pass deleted them from
   * the database, and getHistory() served them for as long as the process ran. The oldest
   * go, as the bound drops them (apply()), so the rest keep their numbers (snapshot()).
   */
  forgetBefore(cutoff: number): void {
    this.history.dropWhile((t) => t.at < cutoff);
  }

  /** Stops notifying for good (the monitor is being disposed of). */
  close(): void {
    this.notifier.stop();
  }

  /** Throws for a rule this monitor's store cannot judge (an anomaly window past what the bucket ring leaves a baseline). */
  private checkJudgeable(rule: { aggregation?: string; window: number }): void {
    if (rule.aggregation !== 'anomaly') return;
    const why = anomalyWindowTooLong(rule.window, new StoreLayout(new Int32Array(this.deps.store.meta)).t1Cap, this.deps.intervalMs);
    if (why !== undefined) throw new InvalidArgumentError('window', why, { value: rule.window });
  }

  /**
   * Reports, as one fault, the rules restored from the database that this start's store
   * cannot judge, which a creation now would refuse: one stored before a limit was added (an anomaly window that leaves the ring no
   * baseline, refused since 2026-12-07), or under options that judged it then and no longer do
   * (a smaller bucketCapacity or collectionIntervalMs). They are kept as stored, the user's to
   * delete, but such a rule never fires: restored without a word, it watched nothing for good.
   */
  private reportUnjudgeable(rules: readonly AlertRule[]): void {
    const refused: string[] = [];
    // Only the store's limits are checked again: the rest of a rule was checked at its creation,
    // and a zod parse of each took 0.2 s at start for 100,000 stored rules (maxAlertRules' most).
    for (const rule of rules) {
      try {
        this.checkJudgeable(rule);
      } catch (error) {
        if (error instanceof InvalidArgumentError) refused.push(`"${rule.name}" (${rule.id}): ${error.message}`);
      }
    }
    if (refused.length === 0) return;
    const shown = refused.slice(0, MAX_UNJUDGEABLE_NAMED);
    const more = refused.length > shown.length ? `; and ${refused.length - shown.length} more (listAlertRules())` : '';
    this.deps.fault('alert-rules-stored', new Error(`${refused.length === 1 ? 'an alert rule' : `${refused.length} alert rules`} restored from the database would be refused if created now, and never fire${refused.length === 1 ? 's' : ''} as stored: ${shown.join('; ')}${more}. Each is kept: delete it (deleteAlertRule) and create it again within the limit, or start with the options it was created under`));
  }

  /**
   * The rule, created, or the rule held that is identical to it (ruleKey) with `created`
   * false: an agent that retries a call it saw time out, or a service that creates its rules
   * at each start, would otherwise get two rules that page together. A creation identical to
   * one still waiting for its commit waits for it and answers its rule.
   */
  async createRule(input: unknown): Promise<{ rule: AlertRule; created: boolean }> {
    const parsed = parseAlertRule(input);
    this.checkJudgeable(parsed);
    const rule: AlertRule = { ...parsed, id: randomUUID(), name: parsed.name ?? describeRule(parsed), createdAt: monitorNow(this.deps.views) };
    const key = ruleKey(rule);
    const same = this.byKey.get(key)?.[0];
    if (same) return { rule: same, created: false };
    const pending = this.creatingKeys.get(key);
    if (pending) {
      // Its failure is its caller's to hear: this call then tries on its own.
      await pending.catch(() => {});
      return this.createRule(input);
    }
    const held = this.rules.size + this.creating;
    if (held >= this.deps.maxRules) {
      // A limit lowered over a dataDir that holds more leaves several to delete before one is taken: say how many.
      const over = held - this.deps.maxRules + 1;
      throw new CapacityError('maxAlertRules', `is ${this.deps.maxRules} and ${held} alert rules exist: delete ${over === 1 ? 'one' : `${over} of them`} (deleteAlertRule) or start the monitor with a higher maxAlertRules`);
    }
    const creation = this.create(rule);
    this.creatingKeys.set(key, creation);
    try {
      await creation;
    } finally {
      this.creatingKeys.delete(key);
    }
    return { rule, created: true };
  }

  private hold(rule: AlertRule): void {
    this.rules.set(rule.id, rule);
    const key = ruleKey(rule);
    const same = this.byKey.get(key);
    if (same) same.push(rule);
    else this.byKey.set(key, [rule]);
  }

  private release(rule: AlertRule): void {
    this.rules.delete(rule.id);
    const key = ruleKey(rule);
    const left = this.byKey.get(key)?.filter((r) => r !== rule) ?? [];
    if (left.length > 0) this.byKey.set(key, left);
    else this.byKey.delete(key);
  }

  private async create(rule: AlertRule): Promise<void> {
    this.creating++;
    try {
      if (this.deps.persist) await this.deps.persist.required([{ op: 'put-rule', rule }], `alert rule "${rule.name}"`);
      this.hold(rule);
    } finally {
      this.creating--;
    }
    if (this.actor.state !== 'stopped') {
      // A breach of the data already there is judged at once: it is applied when this answers.
      await this.actor.call((a) => a.addRule(rule), true);
      await this.batches;
    }
  }

  listRules(): AlertRule[] {
    return [...this.rules.values()];
  }

  async deleteRule(asked: string): Promise<boolean> {
    if (typeof asked !== 'string') throw new InvalidArgumentError('id', 'must be a rule id string', { value: asked });
    const id = this.aliases.get(asked) ?? asked;
    const rule = this.rules.get(id);
    if (rule && this.deps.persist) await this.deps.persist.required([{ op: 'delete-rule', id }], `the deletion of alert rule "${rule.name}"`);
    // Read again: another deletion of it may have gone first while this one's was written.
    const held = this.rules.get(id);
    if (!held) return false;
    this.release(held);
    if (this.actor.state !== 'stopped') {
      // The actor answers once its resolutions were handed over; they are applied before
      // the rule's alerts go, or they came back after the deletion, resolved, for good.
      await this.actor.call((a) => a.deleteRule(id), true);
      await this.batches;
    } else await this.resolveDeleted(rule!);
    for (const [fp, alert] of this.alerts) if (alert.ruleId === id) this.alerts.delete(fp);
    return true;
  }

  /**
   * A rule deleted while the actor is stopped (the monitor stopped): its firing alerts resolve
   * here and its pending ones go back to inactive, as the actor ends them (history, 'alert'
   * events, notifications, the reason). Without it their episodes stayed open in the notifier:
   * Alertmanager was told they fired at every resend, for good, and no webhook heard their
   * resolution.
   */
  private async resolveDeleted(rule: AlertRule): Promise<void> {
    const transitions = this.endings(rule, deletedReason());
    if (transitions.length === 0) return;
    this.onBatch({ transitions, values: [] });
    await this.batches;
  }

  /** The transitions that end the rule's alerts held, for `reason`: a firing one resolves, a pending one goes back to inactive. */
  private endings(rule: AlertRule, reason: string): AlertTransition[] {
    const at = monitorNow(this.deps.views);
    const transitions: AlertTransition[] = [];
    for (const a of this.alerts.values()) {
      if (a.ruleId !== rule.id || (a.state !== 'firing' && a.state !== 'pending')) continue;
      const to = a.state === 'firing' ? 'resolved' : 'inactive';
      transitions.push({ at, ruleId: rule.id, ruleName: a.ruleName, fingerprint: a.fingerprint, metric: a.metric, tags: a.tags, severity: a.severity, from: a.state, to, value: a.value, threshold: to === 'resolved' ? (rule.resolveThreshold ?? rule.threshold) : rule.threshold, reason });
    }
    return transitions;
  }

  async resolve(fingerprint: string): Promise<boolean> {
    if (typeof fingerprint !== 'string') throw new InvalidArgumentError('fingerprint', 'must be a string', { value: fingerprint });
    if (this.alerts.get(fingerprint)?.state !== 'firing' || this.actor.state === 'stopped') return false;
    // The actor answers once the resolution's batch was handed over (on another port): it is
    // committed and applied before this answers, in memory too.
    const resolved = await this.actor.call((a) => a.resolve(fingerprint), true);
    await this.batches;
    return resolved;
  }

  getAlerts(query: AlertQuery = {}): Alert[] {
    if (query === null || typeof query !== 'object') throw new InvalidArgumentError('query', 'must be an object', { value: query });
    checkKeys(query, ['state', 'severity'], 'query field');
    const state = query.state ?? 'active';
    if (!STATE_QUERIES.includes(state)) throw new InvalidArgumentError('state', `must be one of ${STATE_QUERIES.join(', ')}`, { value: state });
    if (query.severity !== undefined && !SEVERITIES.includes(query.severity)) {
      throw new InvalidArgumentError('severity', `must be one of ${SEVERITIES.join(', ')}`, { value: query.severity });
    }
    return [...this.alerts.values()]
      .filter((a) => {
        const stateOk = state === 'all' || (state === 'active' ? a.state !== 'resolved' : a.state === state);
        return stateOk && (query.severity === undefined || a.severity === query.severity);
      })
      .map((a) => ({ ...a }));
  }

  getHistory(filter: HistoryFilter = {}): AlertTransition[] {
    if (filter === null || typeof filter !== 'object') throw new InvalidArgumentError('filter', 'must be an object', { value: filter });
    checkKeys(filter, ['from', 'to', 'rule'], 'filter field');
    const from = timeArg(filter.from, 'from', -Infinity);
    const to = timeArg(filter.to, 'to', Infinity);
    if (from > to) throw new InvalidArgumentError('from', 'must not be after to');
    // The rule itself, as createAlertRule() answers it, matched nothing: no transition, and no word why.
    if (filter.rule !== undefined && typeof filter.rule !== 'string') {
      throw new InvalidArgumentError('rule', "must be a rule id (a string: the id of a rule createAlertRule() or listAlertRules() answered)", { value: filter.rule });
    }
    const rule = filter.rule === undefined ? undefined : (this.aliases.get(filter.rule) ?? filter.rule);
    return this.history.filter((t) => t.at >= from && t.at <= to && (rule === undefined || t.ruleId === rule));
  }

  /** Age of the actor's last round. */
  heartbeatAge(now: number): number | null {
    const clock = this.deps.views.f64[ALERT_CLOCK]!;
    return clock > 0 && this.actor.state === 'running' ? now - clock : null;
  }

  status(): AlertingStatus {
    let pending = 0;
    let firing = 0;
    for (const a of this.alerts.values()) {
      if (a.state === 'pending') pending++;
      else if (a.state === 'firing') firing++;
    }
    return {
      actor: this.actor.state,
      restarts: this.actor.restarts,
      rules: this.rules.size,
      maxRules: this.deps.maxRules,
      pending,
      firing,
      historyLength: this.history.length,
      unjudgedSamples: this.deps.views.f64[UNJUDGED]!,
      partialWindows: this.deps.views.f64[PARTIAL_WINDOWS]!,
      notifications: { ...this.notifier.stats, enabled: this.notifier.enabled, targets: this.notifier.targetStats() },
    };
  }

  /**
   * The actor's batch, called over comlink: an error here is a fault of ours, never the
   * actor's or the host's. With a database, the batch is committed before anything of it is
   * seen (state, history, notifications, 'alert' events), batches in the order they came;
   * with the disk failing it goes on from memory (see ControlLog.kept). The notifier is fed
   * before the commit, so that the outbox rows of its deliveries and held resolutions commit
   * with the transitions that made them; its deliveries wait for that commit to post.
   */
  private onBatch(batch: AlertBatch): void {
    const persist = this.deps.persist;
    if (!persist) {
      this.guarded(() => {
        const staged = this.stage(batch);
        this.notify(batch, staged);
        this.apply(batch, staged);
      });
      return;
    }
    this.batches = this.batches
      .then(async () => {
        const staged = this.stage(batch);
        const ops: ControlOp[] = [];
        batch.transitions.forEach((transition, i) => {
          const alert = staged[i]!;
          this.seqOf.set(transition, ++this.seq);
          ops.push({ op: 'transition', seq: this.seq, transition }, alert && this.rules.has(transition.ruleId) ? { op: 'put-alert', alert } : { op: 'delete-alert', fingerprint: transition.fingerprint });
        });
        let committed!: () => void;
        const commit = new Promise<void>((resolve) => (committed = resolve));
        this.notifier.gather(
          () => this.notify(batch, staged),
          (outbox) => {
            ops.push(...outbox);
            return commit;
          },
        );
        try {
          if (ops.length > 0) await persist.kept(ops);
        } finally {
          committed();
        }
        this.apply(batch, staged);
      })
      .catch((error: unknown) => this.deps.fault('alert-batch', error));
  }

  /**
   * Puts a capture's note on a firing transition of the history (and on its row in the
   * database), and its annotations on the episode's notifications; 'alert-profile' tells the
   * listeners (the MCP front's log message).
   */
  attachProfile(t: AlertTransition, note: CaptureNote, annotations: Record<string, string> | null): void {
    t.profile = note;
    this.storeAnnotated(t);
    if (annotations) this.guarded(() => this.notifier.annotate(t.fingerprint, annotations));
    this.deps.emit('alert-profile', t);
  }

  /**
   * The file named by the capture note on a firing's entry was pruned (the profile files'
   * bounds): the note says so instead of naming it, on its row in the database too. The
   * notifications sent with the path are not sent again.
   */
  profileFilePruned(t: AlertTransition, why: string): void {
    if (!t.profile) return;
    t.profile = { ...t.profile, file: null, fileError: why };
    this.storeAnnotated(t);
  }

  /** A transition's note changed: its row in the database takes it (a transition not committed yet has none). */
  private storeAnnotated(t: AlertTransition): void {
    const seq = this.seqOf.get(t);
    if (seq !== undefined && this.deps.persist) void this.deps.persist.kept([{ op: 'annotate-transition', seq, transition: t }]).catch((error: unknown) => this.deps.fault('alert-batch', error));
  }

  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.deps.fault('alert-batch', error);
    }
  }

  /** The state each transition of the batch leads its alert to (null: inactive), from the current ones; changes nothing. */
  private stage(batch: AlertBatch): (Alert | null)[] {
    const next = new Map<string, Alert | null>();
    return batch.transitions.map((t) => {
      if (t.to === 'inactive') {
        next.set(t.fingerprint, null);
        return null;
      }
      const prev = next.has(t.fingerprint) ? next.get(t.fingerprint) : this.alerts.get(t.fingerprint);
      // A deleted rule's resolutions come after the rule is gone: they describe the alert as it
      // fired, or their labels were not its labels (Alertmanager took them for another alert).
      const rule = this.rules.get(t.ruleId) ?? (prev ? { threshold: prev.threshold, description: prev.description, labels: prev.labels } : undefined);
      const fresh = t.from === 'inactive' || t.from === 'resolved';
      const alert: Alert = {
        fingerprint: t.fingerprint,
        ruleId: t.ruleId,
        ruleName: t.ruleName,
        metric: t.metric,
        tags: t.tags,
        severity: t.severity,
        state: t.to as Alert['state'],
        value: t.value,
        threshold: rule?.threshold ?? t.threshold,
        activeSince: fresh || !prev ? t.at : prev.activeSince,
        firedAt: t.to === 'firing' ? t.at : fresh ? null : (prev?.firedAt ?? null),
        resolvedAt: t.to === 'resolved' ? t.at : null,
        description: rule?.description ?? '',
        labels: rule?.labels ?? {},
      };
      next.set(t.fingerprint, alert);
      return alert;
    });
  }

  /** Feeds the batch's transitions to the notifier (those to an alert state; an inactive one notifies nothing). */
  private notify(batch: AlertBatch, staged: (Alert | null)[]): void {
    batch.transitions.forEach((t, i) => {
      const alert = staged[i];
      if (!alert) return;
      try {
        this.notifier.onTransition(t, alert);
      } catch (error) {
        this.deps.fault('notify', error);
      }
    });
  }

  private apply(batch: AlertBatch, staged: (Alert | null)[]): void {
    batch.transitions.forEach((t, i) => {
      this.history.push(t);
      this.historySeq++;
      const alert = staged[i];
      // A deleted rule's resolution is history and a notification; its alert is gone with the rule.
      if (!alert || !this.rules.has(t.ruleId)) this.alerts.delete(t.fingerprint);
      else {
        this.alerts.set(t.fingerprint, alert);
        const rule = this.rules.get(t.ruleId);
        if (t.to === 'firing' && rule?.capture) this.deps.onFiring?.(t, rule);
      }
      this.deps.emit('alert', t);
    });
    for (const [fp, value] of batch.values) {
      const a = this.alerts.get(fp);
      if (a) a.value = value;
    }
  }
}

