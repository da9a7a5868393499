/**
 * The coordinator's side of alerting: the source of truth for rules, the alert history and
 * the alerts' last known states (so a restarted alert actor picks up where the dead one
 * stopped), the 'alert' events, and the notifier. Evaluation itself runs in the alert actor.
 */
import { randomUUID } from 'node:crypto';
import * as Comlink from 'comlink';
import { ALERT_BEAT_BY, ALERT_CLOCK, UNJUDGED, type ControlViews } from '../engine/control.js';
import { InvalidArgumentError } from '../errors.js';
import type { RegistryBuffers } from '../engine/registry.js';
import type { StoreBuffers } from '../engine/store/layout.js';
import { Supervisor, type ActorExit, type ActorState, type WatchdogLink } from '../actors/supervisor.js';
import { timeArg } from '../analysis/time-arg.js';
import type { AlertActorApi, AlertActorData, AlertBatch } from '../actors/protocols.js';
import { Notifier, type NotifierOptions, type NotifierStats } from './notify.js';
import { SEVERITIES, describeRule, parseAlertRule, type Alert, type AlertRule, type AlertTransition, type Severity } from './schema.js';

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
  pending: number;
  firing: number;
  historyLength: number;
  /**
   * Raw samples that left their series' raw ring (rawCapacity) before the `last` rules of
   * that series judged them: more than rawCapacity samples of one series between two rounds.
   */
  unjudgedSamples: number;
  notifications: NotifierStats & { enabled: boolean };
}

export interface AlertingDeps {
  control: SharedArrayBuffer;
  views: ControlViews;
  registry: RegistryBuffers;
  store: StoreBuffers;
  /** Series ids the store holds (progress keeps one cell per id). */
  seriesCapacity: number;
  intervalMs: number;
  historyLimit: number;
  notifier: NotifierOptions;
  watchdog: WatchdogLink;
  emit(event: string, ...args: unknown[]): void;
  /** Where an error in the coordinator's handling of a batch goes instead of the host. */
  fault(kind: string, error: unknown): void;
}

const STATE_QUERIES = ['pending', 'firing', 'resolved', 'active', 'all'] as const;

/** Bytes of the shared record of how far `last` rules judged each series (an f64 per series id). */
export function alertProgressBytes(seriesCapacity: number): number {
  return 8 * seriesCapacity;
}

export class Alerting {
  readonly actor: Supervisor<AlertActorApi>;
  private readonly deps: AlertingDeps;
  private readonly rules = new Map<string, AlertRule>();
  private readonly alerts = new Map<string, Alert>();
  private history: AlertTransition[] = [];
  private readonly notifier: Notifier;

  constructor(deps: AlertingDeps) {
    this.deps = deps;
    this.notifier = new Notifier(deps.notifier);
    // How far `last` rules judged each series: it outlives the actor, so a successor resumes.
    const progress = new SharedArrayBuffer(alertProgressBytes(deps.seriesCapacity));
    new Float64Array(progress).fill(Number.NaN);
    const data = (): AlertActorData => ({ control: deps.control, registry: deps.registry, store: deps.store, progress, intervalMs: deps.intervalMs });
    this.actor = new Supervisor<AlertActorApi>(
      'alerts',
      new URL('../../workers/alerts.js', import.meta.url),
      data,
      {
        exit: (info: ActorExit) => deps.emit('actor-exit', info),
        restart: (info) => deps.emit('actor-restart', info),
        // Each new actor gets the sink, every rule and the alerts' states.
        ready: async (remote) => {
          await remote.subscribe(Comlink.proxy((batch: AlertBatch) => this.onBatch(batch)));
          await remote.load([...this.rules.values()], [...this.alerts.values()]);
        },
      },
      deps.watchdog,
      { control: deps.control, at: ALERT_CLOCK, by: ALERT_BEAT_BY },
    );
  }

  start(): Promise<void> {
    return this.actor.start();
  }

  async stop(): Promise<void> {
    await this.actor.stop();
  }

  /** Stops notifying for good (the monitor is being disposed of). */
  close(): void {
    this.notifier.stop();
  }

  async createRule(input: unknown): Promise<AlertRule> {
    const parsed = parseAlertRule(input);
    const rule: AlertRule = { ...parsed, id: randomUUID(), name: parsed.name ?? describeRule(parsed), createdAt: Date.now() };
    this.rules.set(rule.id, rule);
    if (this.actor.state !== 'stopped') await this.actor.call((a) => a.addRule(rule), true);
    return rule;
  }

  listRules(): AlertRule[] {
    return [...this.rules.values()];
  }

  async deleteRule(id: string): Promise<boolean> {
    if (typeof id !== 'string') throw new InvalidArgumentError('id', 'must be a rule id string', { value: id });
    if (!this.rules.delete(id)) return false;
    if (this.actor.state !== 'stopped') await this.actor.call((a) => a.deleteRule(id), true);
    for (const [fp, alert] of this.alerts) if (alert.ruleId === id) this.alerts.delete(fp);
    return true;
  }

  async resolve(fingerprint: string): Promise<boolean> {
    if (typeof fingerprint !== 'string') throw new InvalidArgumentError('fingerprint', 'must be a string', { value: fingerprint });
    if (this.alerts.get(fingerprint)?.state !== 'firing' || this.actor.state === 'stopped') return false;
    return this.actor.call((a) => a.resolve(fingerprint), true);
  }

  getAlerts(query: AlertQuery = {}): Alert[] {
    if (query === null || typeof query !== 'object') throw new InvalidArgumentError('query', 'must be an object', { value: query });
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
    const from = timeArg(filter.from, 'from', -Infinity);
    const to = timeArg(filter.to, 'to', Infinity);
    if (from > to) throw new InvalidArgumentError('from', 'must not be after to');
    return this.history.filter((t) => t.at >= from && t.at <= to && (filter.rule === undefined || t.ruleId === filter.rule));
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
      pending,
      firing,
      historyLength: this.history.length,
      unjudgedSamples: this.deps.views.f64[UNJUDGED]!,
      notifications: { ...this.notifier.stats, enabled: this.notifier.enabled },
    };
  }

  /** The actor's batch, called over comlink: an error here is a fault of ours, never the actor's or the host's. */
  private onBatch(batch: AlertBatch): void {
    try {
      this.apply(batch);
    } catch (error) {
      this.deps.fault('alert-batch', error);
    }
  }

  private apply(batch: AlertBatch): void {
    for (const t of batch.transitions) {
      this.history.push(t);
      const rule = this.rules.get(t.ruleId);
      if (t.to === 'inactive') this.alerts.delete(t.fingerprint);
      else {
        const prev = this.alerts.get(t.fingerprint);
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
        this.alerts.set(t.fingerprint, alert);
        try {
          this.notifier.onTransition(t, alert);
        } catch (error) {
          this.deps.fault('notify', error);
        }
      }
      this.deps.emit('alert', t);
    }
    // The history is bounded: the oldest half goes when it is full (amortised O(1)).
    if (this.history.length > this.deps.historyLimit) this.history = this.history.slice(-Math.floor(this.deps.historyLimit / 2));
    for (const [fp, value] of batch.values) {
      const a = this.alerts.get(fp);
      if (a) a.value = value;
    }
  }
}

