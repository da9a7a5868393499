/**
 * Notifications of alert episodes: webhooks with the Alertmanager webhook payload (version 4)
 * and pushes to an Alertmanager's API (POST /api/v2/alerts, re-sent while firing, because
 * Alertmanager resolves alerts that stop arriving).
 *
 * Notifications follow episodes, not raw transitions: an alert notifies once when it fires;
 * its resolution is held for `resolveHoldMs` and dropped if it fires again meanwhile, so a
 * signal flapping around its threshold yields one notification, not dozens. A profile captured
 * because the alert fired ends seconds after the firing went out: annotate() sends the firing
 * again with the capture's annotations (as Alertmanager re-sends a group whose alerts changed),
 * and every later message of the episode (resends, its resolution) carries them.
 *
 * Delivery never blocks evaluation or ingestion: each target has a bounded FIFO of posts sent
 * one at a time with a timeout, retried with exponential backoff (or the Retry-After of a 429
 * or 503 when longer, up to RETRY_AFTER_MAX_MS), then given up (counted). A post carries up to
 * BATCH_ALERTS alerts (batch.ts): a delivery (one alert's firing or resolution) joins the
 * newest post waiting when it can, so a burst of thousands of alerts goes out in few posts;
 * when `queueLimit` posts wait, the oldest waiting post is dropped, each of its deliveries
 * counted. The post being posted (or waiting out its backoff) has left the queue: an overflow
 * never drops it, so every delivery ends counted once, as sent, failed or dropped. An
 * Alertmanager resend waits besides them, one at most (queueResend).
 *
 * A running monitor's post does not hold the host's event loop (its socket is unref'd:
 * post.ts), so a host whose own work is done reaches 'beforeExit' and the monitor's stop there
 * with a post in flight. A stopped monitor (park) goes on notifying, its posts holding the
 * host, but none longer than LAST_POST_MS: one the receiver has not answered by then is
 * aborted, not counted as an attempt, and waits with the deliveries behind it for the next
 * start (unpark).
 *
 * With a database (storage 'sqlite'), the deliveries and the held resolutions are kept in
 * its outbox (outbox.ts): a delivery's first attempt waits until its row is committed (with
 * the transition that made it, when there is one), and a start on the same dataDir sends what
 * a killed process left. Without one, they live in memory only, as before.
 *
 * A receiver's answer is never read whole: only its status matters, so at most
 * RESPONSE_DRAIN_BYTES of the body are read, for at most RESPONSE_DRAIN_MS after the status
 * (letting a short answer free its connection for reuse), and the rest is cancelled, which
 * closes the connection.
 */
import { randomUUID } from 'node:crypto';
import type { Alert, AlertTransition } from './schema.js';
import { holdId, isOutboxRow, type AlertView, type OutboxDelivery, type OutboxHold, type OutboxOp, type OutboxRow, type OutboxSink } from './outbox.js';
import { LoopHold, postUnheld } from './post.js';
import { alertmanagerBody, deliveriesOf, isResend, join, newPost, restoredDelivery, resendPosts, webhookBody, webhookGroup, type Delivery, type Post } from './batch.js';
import { loopTimeout } from '../loop-timeout.js';
import { redirectNote } from '../redirect.js';
import { RETRY_AFTER_MAX_MS, retryAfterMs } from '../retry-after.js';
import { shownUrl, withUrlCredentials } from '../url-credentials.js';
import { valueText } from '../value-text.js';
import { clearInterval, clearTimeout, setInterval, setTimeout, wallNow } from '../engine/real-timers.js';

export interface NotifierOptions {
  webhooks: { url: string; headers?: Record<string, string> }[];
  alertmanagerUrl?: string;
  alertmanagerResendMs: number;
  resolveHoldMs: number;
  queueLimit: number;
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  /** Where a human can look: generatorURL in payloads. */
  externalUrl: string;
}

export interface NotifierStats {
  sent: number;
  failed: number;
  retries: number;
  dropped: number;
  queued: number;
  /** The last failure, until the target takes a post again (the totals': of the target that failed last among those still failing). */
  lastError: string | null;
}

interface Target {
  url: string;
  /** The URL as status and errors show it (shownUrl): a webhook's path and query may be its secret. */
  shown: string;
  /** Which of the targets with this URL (the outbox's key with it). */
  slot: number;
  headers: Record<string, string>;
  /**
   * Posts waiting their turn, oldest first (the one in flight is not here): at most
   * `queueLimit` of deliveries, and besides them the posts of one Alertmanager resend at most.
   */
  queue: Post[];
  /** How many of `queue` are a resend's posts (not counted against `queueLimit`). */
  resends: number;
  /** The post being posted or waiting out its backoff. */
  current?: Post;
  busy: boolean;
  /** A post of a stopped monitor was cut at LAST_POST_MS: its deliveries wait for the next start. */
  held: boolean;
  stats: NotifierStats;
  /** When its lastError was set (0: none): the totals' lastError is that of the target failing most recently. */
  failedAt: number;
}

/** What a rule judges: its subject (`count(lat[5s])`, ruleSubject) and whether its value is derived (value-text.ts). */
export interface Judged {
  subject: string;
  derived: boolean;
}

/** A firing episode: what its notifications say. */
interface Episode {
  view: AlertView;
  startsAt: number;
  value: number;
  extra?: Record<string, string>;
  /**
   * The alert as Alertmanager's resends post it, and the clock offset its startsAt was written
   * with: made when it is posted (or at its first resend), again only when it changes. Each
   * resend made every firing alert anew on the host's thread: 1.8 s held there per resend with
   * 20,000 of them.
   */
  resent?: { json: string; ahead: number };
}

/** A resolution held by `resolveHoldMs`. */
interface Held {
  timer: NodeJS.Timeout;
  view: AlertView;
  endsAt: number;
  value: number;
  due: number;
  /** Why it ended without a judged value (the transition's reason), sent as the annotation `reason`. */
  reason?: string;
}

/** A resolution's annotations: the episode's, and why it ended when the transition says. */
function endedExtra(extra: Record<string, string> | undefined, reason: string | undefined): Record<string, string> | undefined {
  return reason === undefined ? extra : { ...extra, reason };
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
const MAX_BACKOFF_MS = 60_000;
/** Bytes of a receiver's answer read before the rest is cancelled. */
export const RESPONSE_DRAIN_BYTES = 64 * 1024;
/** How long a receiver's answer is read once its status came, before the rest is cancelled. */
export const RESPONSE_DRAIN_MS = 1_000;
/** How long a post of a stopped monitor may hold its host (as an exporter's last export). */
export const LAST_POST_MS = 2_000;

export class Notifier {
  readonly stats: NotifierStats = newStats();
  private readonly options: NotifierOptions;
  private readonly outbox: OutboxSink | undefined;
  private readonly ahead: () => number;
  private readonly judges: (ruleId: string) => Judged | undefined;
  private readonly webhooks: Target[];
  private readonly alertmanager: Target | undefined;
  private readonly firing = new Map<string, Episode>();
  private readonly held = new Map<string, Held>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private resend: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The monitor is stopped: posts are bounded by LAST_POST_MS (park). */
  private parked = false;
  /** The outbox changes being gathered for one commit (see gather), and the promise of that commit. */
  private gathered: OutboxOp[] | undefined;
  private gate: Promise<unknown> | undefined;
  /** Outbox deliveries this notifier numbered (their order among those of one time). */
  private numbered = 0;

  /** `outbox`: where deliveries and held resolutions are kept (a database); without it, memory only. */
  /**
   * `ahead`: how far the monitor's clock, which transitions are stamped in, runs ahead of the
   * wall clock (engine/monitor-clock.ts): receivers compare startsAt and endsAt with their own
   * clock, so they are told the wall clock's times.
   */
  /**
   * `judges`: what a rule judges, by its id (AlertView's `subject` and `derived`): a
   * notification's summary says `count(lat[5s]) is 100`, where `lat is 100` read as a latency
   * of 100, and its value is written as a sample's (in full) or a derived one's (valueText).
   */
  constructor(options: NotifierOptions, outbox?: OutboxSink, ahead: () => number = () => 0, judges: (ruleId: string) => Judged | undefined = () => undefined) {
    this.options = options;
    this.outbox = outbox;
    this.ahead = ahead;
    this.judges = judges;
    const slots = new Map<string, number>();
    // A webhook's path and query may be its credential; Alertmanager's API path is not.
    const target = (url: string, headers: Record<string, string>, webhook: boolean): Target => {
      const t = withUrlCredentials(url, headers);
      const slot = slots.get(t.url) ?? 0;
      slots.set(t.url, slot + 1);
      return { ...t, shown: webhook ? shownUrl(t.url) : t.url, slot, queue: [], resends: 0, busy: false, held: false, stats: newStats(), failedAt: 0 };
    };
    this.webhooks = options.webhooks.map((w) => target(w.url, w.headers ?? {}, true));
    this.alertmanager = options.alertmanagerUrl ? target(alertmanagerApi(options.alertmanagerUrl), {}, false) : undefined;
    if (this.alertmanager) {
      this.resend = setInterval(() => this.resendFiring(), options.alertmanagerResendMs);
      this.resend.unref();
    }
  }

  get enabled(): boolean {
    return this.webhooks.length > 0 || this.alertmanager !== undefined;
  }

  /** Per target: its URL as shownUrl() has it and its own counts; the totals are `stats`. */
  targetStats(): (NotifierStats & { url: string })[] {
    return this.targets().map((t) => ({ url: t.shown, ...t.stats }));
  }

  /**
   * Runs `fn` with the outbox changes it makes gathered, then hands them to `save` in one call
   * (by default the outbox's): the deliveries it queued wait for what `save` returns before
   * their first attempt. Alerting commits them with the transitions that made them.
   */
  gather(fn: () => void, save?: (ops: OutboxOp[]) => Promise<unknown>): void {
    if (this.gathered || !this.outbox) {
      fn();
      return;
    }
    const ops: OutboxOp[] = [];
    let open!: (saved: Promise<unknown>) => void;
    this.gathered = ops;
    this.gate = new Promise((resolve) => (open = resolve));
    try {
      fn();
    } finally {
      this.gathered = undefined;
      this.gate = undefined;
      open(ops.length === 0 ? Promise.resolve() : (save ?? ((o) => this.outbox!.save(o)))(ops));
    }
  }

  /** Feeds a transition; only firing and the resolution of a firing alert notify. */
  onTransition(t: AlertTransition, alert: AlertView): void {
    if (this.stopped || !this.enabled) return;
    // A resolution names what its firing named, its rule deleted since or not.
    const view = this.viewOf(alert, this.firing.get(t.fingerprint)?.view);
    this.gather(() => {
      if (t.to === 'firing') {
        const hold = this.held.get(t.fingerprint);
        if (hold) {
          // It fired again while its resolution was held: the same episode goes on.
          clearTimeout(hold.timer);
          this.held.delete(t.fingerprint);
          this.record({ op: 'delete-outbox', id: holdId(t.fingerprint) });
          const entry = this.firing.get(t.fingerprint);
          if (entry) {
            entry.value = t.value;
            entry.resent = undefined;
          }
          return;
        }
        if (this.firing.has(t.fingerprint)) return;
        this.firing.set(t.fingerprint, { view, startsAt: t.at, value: t.value });
        this.send('firing', view, t.at, null, t.value);
      } else if (t.to === 'resolved' && t.from === 'firing') {
        const entry = this.firing.get(t.fingerprint);
        if (!entry) return;
        if (this.options.resolveHoldMs <= 0) {
          this.firing.delete(t.fingerprint);
          this.send('resolved', view, entry.startsAt, t.at, t.value, endedExtra(entry.extra, t.reason));
          return;
        }
        this.hold(t.fingerprint, { view, endsAt: t.at, value: t.value, due: wallNow() + this.options.resolveHoldMs, ...(t.reason !== undefined ? { reason: t.reason } : {}) });
      }
    });
  }

  /**
   * What the outbox held at start (a start on a dataDir a process left): its deliveries are
   * queued again, oldest first, on the target with the same URL (dropped and counted when no
   * target has it any more, or beyond `queueLimit`), each at its due time; its held
   * resolutions are armed again, sent when due unless the alert fires again first (or was
   * restored firing: then its episode goes on). A row without the fields these need (another
   * build's, damaged) is deleted. Call after resume().
   */
  restore(stored: readonly unknown[]): void {
    if (this.stopped || !this.outbox) return;
    this.gather(() => {
      const rows: OutboxRow[] = [];
      for (const row of stored) {
        if (isOutboxRow(row)) rows.push(row);
        else if (row !== null && typeof row === 'object' && typeof (row as { id?: unknown }).id === 'string') this.record({ op: 'delete-outbox', id: (row as { id: string }).id });
      }
      for (const row of rows) {
        if (row.kind !== 'hold') continue;
        if (!this.enabled || this.firing.has(row.fingerprint) || this.held.has(row.fingerprint)) {
          this.record({ op: 'delete-outbox', id: row.id });
          continue;
        }
        this.firing.set(row.fingerprint, { view: row.view, startsAt: row.startsAt, value: row.value, ...(row.extra ? { extra: row.extra } : {}) });
        this.arm(row.fingerprint, { view: row.view, endsAt: row.endsAt, value: row.value, due: row.due, ...(row.reason !== undefined ? { reason: row.reason } : {}) });
      }
      const deliveries = rows.filter((row): row is OutboxDelivery => row.kind === 'delivery').sort((a, b) => a.at - b.at || a.n - b.n);
      for (const row of deliveries) {
        const target = this.targets().find((t) => t.url === row.target && t.slot === row.slot);
        if (!target) {
          this.stats.dropped++;
          this.record({ op: 'delete-outbox', id: row.id });
          continue;
        }
        const delivery = restoredDelivery({ ...row }, target !== this.alertmanager);
        if (delivery) this.queue(target, delivery, row.attempt, row.due);
        else this.record({ op: 'delete-outbox', id: row.id });
      }
    });
  }

  /**
   * Alerts that were firing when this monitor started, restored from its database: their
   * episodes go on, already notified when they fired. Nothing is sent now (a restart must not
   * page again); their resolution is sent when it comes, and Alertmanager hears them again at
   * its next resend. Without this a restart (a deploy) left every open episode without its
   * resolution, for good.
   */
  resume(alerts: readonly Alert[]): void {
    if (this.stopped || !this.enabled) return;
    for (const alert of alerts) {
      if (alert.state !== 'firing' || this.firing.has(alert.fingerprint)) continue;
      this.firing.set(alert.fingerprint, { view: this.viewOf(alert), startsAt: alert.firedAt ?? alert.activeSince, value: alert.value });
    }
  }

  /**
   * Adds annotations to a firing episode (a capture's summary) and sends the firing again with
   * them; an episode whose resolution is being held gets them on that resolution. Nothing for
   * an episode already over.
   */
  annotate(fingerprint: string, extra: Record<string, string>): void {
    if (this.stopped || !this.enabled) return;
    const entry = this.firing.get(fingerprint);
    if (!entry) return;
    entry.extra = { ...entry.extra, ...extra };
    entry.resent = undefined;
    this.gather(() => {
      const hold = this.held.get(fingerprint);
      if (hold) this.record({ op: 'put-outbox', row: this.holdRow(fingerprint, hold) });
      else this.send('firing', entry.view, entry.startsAt, null, entry.value, entry.extra);
    });
  }

  /** Every row the outbox should hold now (the database file was replaced: ControlState.rewrite). */
  snapshot(): OutboxOp[] {
    const ops: OutboxOp[] = [];
    for (const [fingerprint, hold] of this.held) ops.push({ op: 'put-outbox', row: this.holdRow(fingerprint, hold) });
    for (const target of this.targets()) {
      for (const post of target.current ? [target.current, ...target.queue] : target.queue) {
        for (const d of post.deliveries) if (d.row) ops.push({ op: 'put-outbox', row: { ...d.row } });
      }
    }
    return ops;
  }

  /**
   * Stops notifying: what waits is dropped (counted), and the posts in flight are aborted
   * (dropped too), but their outbox rows stay, so a start on the same dataDir sends them (at
   * least once: a receiver may have had a post that was aborted).
   */
  stop(): void {
    this.stopped = true;
    clearInterval(this.resend);
    for (const timer of [...[...this.held.values()].map((h) => h.timer), ...this.timers]) clearTimeout(timer);
    this.held.clear();
    this.timers.clear();
    for (const target of this.targets()) {
      for (const post of target.queue) this.finish(target, post, 'dropped');
      target.queue.length = 0;
      target.resends = 0;
      // A delivery in its backoff wait is dropped now, and so is one being posted: its post is
      // aborted (its outbox row stays, so a start on the dataDir posts it again). A receiver
      // that never answers held a closed monitor's host up to timeoutMs (60 s at most).
      target.current?.wake?.();
      target.current?.abort?.abort();
    }
  }

  /**
   * The monitor stopped (not closed): deliveries go on (a rule deleted while stopped notifies
   * its resolution), but a post in flight, or one made from now on, is given LAST_POST_MS
   * rather than timeoutMs. Then it is aborted and kept, its outbox row too, for the next start:
   * a receiver that never answered held a stopped monitor's host up to timeoutMs (60 s at most),
   * past an orchestrator's grace period after a SIGTERM.
   */
  park(): void {
    if (this.stopped || this.parked) return;
    this.parked = true;
    for (const target of this.targets()) {
      if (!target.current?.abort) continue;
      // It holds the host from now on, for LAST_POST_MS at most: the grace of a host that ended (its 'beforeExit').
      target.current.hold?.set(true);
      this.bound(target.current.abort);
    }
  }

  /** The monitor started again: posts get timeoutMs, and the deliveries held by park go. */
  unpark(): void {
    if (this.stopped || !this.parked) return;
    this.parked = false;
    for (const target of this.targets()) {
      target.current?.hold?.set(false);
      target.held = false;
      if (!target.busy && target.queue.length > 0) void this.pump(target);
    }
  }

  /** Aborts a parked monitor's post LAST_POST_MS from now, unless it ended or the monitor started again. */
  private bound(abort: AbortController): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.parked) abort.abort();
    }, LAST_POST_MS);
    timer.unref();
    this.timers.add(timer);
  }

  private targets(): Target[] {
    return this.alertmanager ? [...this.webhooks, this.alertmanager] : this.webhooks;
  }

  /** Writes an outbox change (gathered when a gather runs); settles once committed. */
  private record(op: OutboxOp): Promise<unknown> {
    return this.recordAll([op]);
  }

  /** Writes outbox changes in one commit (gathered when a gather runs): a post's deliveries change together. */
  private recordAll(ops: OutboxOp[]): Promise<unknown> {
    if (!this.outbox) return Promise.resolve();
    if (this.gathered) {
      this.gathered.push(...ops);
      return this.gate!;
    }
    return this.outbox.save(ops);
  }

  /** Holds a resolution until `hold.due`, kept in the outbox. */
  private hold(fingerprint: string, hold: Omit<Held, 'timer'>): void {
    const held = this.arm(fingerprint, hold);
    this.record({ op: 'put-outbox', row: this.holdRow(fingerprint, held) });
  }

  private arm(fingerprint: string, hold: Omit<Held, 'timer'>): Held {
    const timer = setTimeout(() => this.gather(() => this.release(fingerprint)), Math.max(0, hold.due - wallNow()));
    timer.unref();
    const held = { ...hold, timer };
    this.held.set(fingerprint, held);
    return held;
  }

  /** A held resolution is due: it is sent, and its hold leaves the outbox in the same commit. */
  private release(fingerprint: string): void {
    const hold = this.held.get(fingerprint);
    const entry = this.firing.get(fingerprint);
    if (!hold || this.stopped) return;
    this.held.delete(fingerprint);
    this.firing.delete(fingerprint);
    this.record({ op: 'delete-outbox', id: holdId(fingerprint) });
    if (entry) this.send('resolved', hold.view, entry.startsAt, hold.endsAt, hold.value, endedExtra(entry.extra, hold.reason));
  }

  private holdRow(fingerprint: string, hold: Held): OutboxHold {
    const entry = this.firing.get(fingerprint);
    return {
      kind: 'hold',
      id: holdId(fingerprint),
      fingerprint,
      due: hold.due,
      view: hold.view,
      startsAt: entry?.startsAt ?? hold.endsAt,
      endsAt: hold.endsAt,
      value: hold.value,
      ...(entry?.extra ? { extra: entry.extra } : {}),
      ...(hold.reason !== undefined ? { reason: hold.reason } : {}),
    };
  }

  /**
   * The alert's labels: its series' tags, the rule's labels, and alertname, severity, metric
   * and perfwatch_rule. A tag that one of the others would overwrite is kept as
   * `exported_<name>`, as Prometheus keeps a scraped label that a target's overrides: two
   * series that differ in it (tagged severity=high and severity=low) are two alerts, which
   * with one label set Alertmanager took for one, resolved by either's resolution.
   */
  private labels(view: AlertView): Record<string, string> {
    const fixed: Record<string, string> = { ...view.labels, alertname: view.ruleName, severity: view.severity, metric: view.metric, perfwatch_rule: view.ruleId };
    const labels: Record<string, string> = {};
    for (const [name, value] of Object.entries(view.tags)) labels[Object.hasOwn(fixed, name) ? `exported_${name}` : name] = value;
    return { ...labels, ...fixed };
  }

  /** The alert's view with what its rule judges (kept with it: a rule deleted since still names it). */
  private viewOf(alert: AlertView, kept?: AlertView): AlertView {
    const from = kept?.subject !== undefined ? kept : alert.subject !== undefined ? alert : this.judges(alert.ruleId);
    if (from?.subject === undefined) return alert;
    return { ...alert, subject: from.subject, ...(from.derived !== undefined ? { derived: from.derived } : {}) };
  }

  private annotations(view: AlertView, value: number, extra: Record<string, string> | undefined): Record<string, string> {
    // As the MCP front's alert lines write it: never onto or past its threshold, nor 0 for a small value.
    const shown = valueText(value, view.threshold, view.derived === true);
    const annotations: Record<string, string> = {
      ...extra,
      summary: `${view.subject ?? view.metric} is ${shown} (threshold ${view.threshold})`,
      value: shown,
      threshold: String(view.threshold),
    };
    if (view.description) annotations.description = view.description;
    return annotations;
  }

  /** A time of the monitor's clock as the wall clock's, for a receiver. */
  private wallIso(t: number): string {
    return new Date(t - this.ahead()).toISOString();
  }

  private send(status: 'firing' | 'resolved', view: AlertView, startsAt: number, endsAt: number | null, value: number, extra?: Record<string, string>): void {
    const labels = this.labels(view);
    const annotations = this.annotations(view, value, extra);
    const generatorURL = `${this.options.externalUrl}#alert=${view.fingerprint}`;
    const fingerprint = view.fingerprint;
    if (this.webhooks.length > 0) {
      const alert = JSON.stringify({
        status,
        labels,
        annotations,
        startsAt: this.wallIso(startsAt),
        endsAt: endsAt === null ? ZERO_TIME : this.wallIso(endsAt),
        generatorURL,
        fingerprint,
      });
      const group = webhookGroup(view.ruleName, status);
      for (const target of this.webhooks) this.enqueue(target, { alert, fingerprint, status, group, alertname: view.ruleName, labels, annotations });
    }
    if (this.alertmanager) {
      const alert: Record<string, unknown> = { labels, annotations, startsAt: this.wallIso(startsAt), generatorURL };
      if (endsAt !== null) alert.endsAt = this.wallIso(endsAt);
      const json = JSON.stringify(alert);
      // The firing is what the episode's resends post.
      const episode = status === 'firing' ? this.firing.get(fingerprint) : undefined;
      if (episode) episode.resent = { json, ahead: this.ahead() };
      this.enqueue(this.alertmanager, { alert: json, fingerprint, status, group: '' });
    }
  }

  /** Alertmanager forgets alerts that stop arriving: tell it again about every firing one. */
  private resendFiring(): void {
    if (!this.alertmanager) return;
    const ahead = this.ahead();
    const alerts: string[] = [];
    for (const episode of this.firing.values()) {
      // Made again when the clock's offset moved (a step of the wall clock): startsAt is the wall clock's.
      if (episode.resent?.ahead !== ahead) {
        const { view, startsAt, value, extra } = episode;
        const alert = { labels: this.labels(view), annotations: this.annotations(view, value, extra), startsAt: this.wallIso(startsAt), generatorURL: `${this.options.externalUrl}#alert=${view.fingerprint}` };
        episode.resent = { json: JSON.stringify(alert), ahead };
      }
      alerts.push(episode.resent.json);
    }
    this.queueResend(this.alertmanager, resendPosts(alerts));
  }

  /**
   * A resend takes the place of the resend still waiting, if one does: with Alertmanager down a
   * copy of every firing alert was queued each interval, up to `queueLimit` of them (hundreds of
   * MB), posted all at once when it came back, and as the queue overflowed they pushed out the
   * firings and resolutions behind them. The newer one says all the older said (its alerts as
   * they are now), so the older is no delivery lost: it leaves `queued`, counted nowhere else.
   * It keeps the older one's place, so that a queue slower than the interval still reaches it;
   * an alert it carries that a later delivery in the queue resolves is no longer firing, so it
   * is not in it. Its posts do not count against `queueLimit`: a resend never drops a delivery.
   */
  private queueResend(target: Target, posts: Post[]): void {
    if (target.resends === 0 && posts.length === 0) return;
    const at = target.resends > 0 ? target.queue.findIndex(isResend) : target.queue.length;
    const kept = target.resends > 0 ? target.queue.filter((post) => !isResend(post)) : target.queue;
    this.stats.queued -= target.resends;
    target.stats.queued -= target.resends;
    // concat, not a spread: a queue of 100,000 posts is past a call's arguments.
    target.queue = kept.slice(0, at).concat(posts, kept.slice(at));
    target.resends = posts.length;
    this.stats.queued += posts.length;
    target.stats.queued += posts.length;
    if (!target.busy && !target.held && posts.length > 0) void this.pump(target);
  }

  /** Queues an episode's delivery, kept in the outbox first (as the payload of it alone: batch.ts, restoredDelivery). */
  private enqueue(target: Target, delivery: Delivery): void {
    if (this.outbox) {
      const body = target === this.alertmanager ? alertmanagerBody([delivery]) : webhookBody([delivery], this.options.externalUrl);
      delivery.row = { kind: 'delivery', id: randomUUID(), target: target.url, slot: target.slot, body, fingerprint: delivery.fingerprint, status: delivery.status, attempt: 0, due: 0, at: wallNow(), n: this.numbered++ };
      delivery.saved = this.record({ op: 'put-outbox', row: { ...delivery.row } });
    }
    this.queue(target, delivery, 0, 0);
  }

  /**
   * A delivery joins the newest post waiting when it can (batch.ts), so that a burst goes out
   * in posts of up to BATCH_ALERTS alerts; else it is a post of its own.
   */
  private queue(target: Target, delivery: Delivery, attempt: number, due: number): void {
    const last = target.queue[target.queue.length - 1];
    if (last && join(last, delivery, attempt, due)) {
      this.stats.queued++;
      target.stats.queued++;
      return;
    }
    this.queuePost(target, newPost(delivery, attempt, due));
  }

  /**
   * Queues a post of deliveries; beyond `queueLimit` of them waiting, the oldest waiting is
   * dropped, every delivery of it counted (never a resend's post: those wait besides them).
   */
  private queuePost(target: Target, post: Post): void {
    if (target.queue.length - target.resends >= this.options.queueLimit) {
      const oldest = target.queue.findIndex((p) => !isResend(p));
      this.finish(target, target.queue.splice(oldest, 1)[0]!, 'dropped');
    }
    target.queue.push(post);
    this.stats.queued += deliveriesOf(post);
    target.stats.queued += deliveriesOf(post);
    if (!target.busy && !target.held) void this.pump(target);
  }

  /**
   * Posts the target's posts one at a time. The one being posted, or waiting out its
   * backoff, is `target.current`: out of the queue (no delivery joins it any more), its
   * deliveries still counted in `queued` until it ends.
   */
  private async pump(target: Target): Promise<void> {
    target.busy = true;
    try {
      while (!this.stopped && !target.held && target.queue.length > 0) {
        const post = target.queue.shift()!;
        if (isResend(post)) target.resends--;
        target.current = post;
        const outcome = await this.attempts(target, post);
        target.current = undefined;
        if (outcome !== 'held') {
          this.finish(target, post, outcome);
          continue;
        }
        // Still queued, first in line: it goes at the next start, or with the outbox at a start on the dataDir.
        target.queue.unshift(post);
        if (isResend(post)) target.resends++;
        target.held = this.parked;
      }
    } finally {
      target.busy = false;
    }
  }

  /**
   * Tries a post until it is sent or given up; 'dropped' when the notifier stopped
   * meanwhile, 'held' when park's bound cut it (no attempt of the receiver's: not counted).
   */
  private async attempts(target: Target, post: Post): Promise<'sent' | 'failed' | 'dropped' | 'held'> {
    // Not posted before its rows are on disk: a kill after the post finds the rows, never the reverse.
    const saved = post.deliveries.filter((d) => d.saved).map((d) => d.saved!.catch(() => {}));
    if (saved.length > 0) await Promise.all(saved);
    for (const d of post.deliveries) d.saved = undefined;
    const body = post.body ?? (target === this.alertmanager ? alertmanagerBody(post.deliveries) : webhookBody(post.deliveries, this.options.externalUrl));
    for (;;) {
      const ahead = post.due - wallNow();
      if (ahead > 0) await this.sleep(post, ahead);
      if (this.stopped) return 'dropped';
      const abort = (post.abort = new AbortController());
      const hold = (post.hold = new LoopHold(this.parked));
      if (this.parked) this.bound(abort);
      const answer = await this.post(target, body, abort.signal, hold);
      post.abort = undefined;
      post.hold = undefined;
      if (answer === 'sent') return 'sent';
      if (answer === 'aborted') return this.stopped ? 'dropped' : 'held';
      post.attempt++;
      if (this.stopped) return 'dropped';
      if (answer === 'final' || post.attempt >= this.options.maxAttempts) return 'failed';
      this.stats.retries++;
      target.stats.retries++;
      const backoff = Math.min(MAX_BACKOFF_MS, this.options.retryBaseMs * 2 ** (post.attempt - 1));
      // A receiver that said how long to wait (429, 503 with Retry-After) is waited that long, within the cap.
      const wait = answer > backoff ? Math.min(answer, RETRY_AFTER_MAX_MS) : backoff;
      if (answer > backoff) {
        const capped = answer > RETRY_AFTER_MAX_MS ? ` (capped at ${RETRY_AFTER_MAX_MS / 1000} s)` : '';
        this.failed(target, `${target.stats.lastError}, Retry-After ${seconds(answer)} s: next attempt in ${seconds(wait)} s${capped}`);
      }
      post.due = wallNow() + wait;
      const rows: OutboxOp[] = [];
      for (const d of post.deliveries) {
        if (!d.row) continue;
        d.row.attempt = post.attempt;
        d.row.due = post.due;
        rows.push({ op: 'put-outbox', row: { ...d.row } });
      }
      if (rows.length > 0) void this.recordAll(rows);
    }
  }

  /** Waits `ms`, or until stop() wakes it. */
  private async sleep(post: Post, ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      timer.unref();
      this.timers.add(timer);
      post.wake = resolve;
    });
    post.wake = undefined;
  }

  /**
   * Counts the end of a post's deliveries: each ends once, as sent, failed or dropped; their
   * outbox rows go, but for those dropped by stop(), which a start on the same dataDir sends.
   */
  private finish(target: Target, post: Post, outcome: 'sent' | 'failed' | 'dropped'): void {
    const n = deliveriesOf(post);
    this.stats.queued -= n;
    this.stats[outcome] += n;
    target.stats.queued -= n;
    target.stats[outcome] += n;
    if (outcome === 'dropped' && this.stopped) return;
    const rows: OutboxOp[] = [];
    for (const d of post.deliveries) if (d.row) rows.push({ op: 'delete-outbox', id: d.row.id });
    if (rows.length > 0) void this.recordAll(rows);
  }

  /**
   * POSTs one payload: 'sent' on a 2xx answer, 'aborted' when `aborted` cut it before an
   * answer, 'final' on an answer that sending the same post again cannot change (isFinal),
   * else the wait (ms) a 429 or 503 asked for with Retry-After (delta-seconds or an
   * HTTP-date), 0 without one. The answer's body is drained up to a cap, never kept. Its
   * socket holds the host's event loop only as `hold` says (post.ts).
   */
  private async post(target: Target, body: string, aborted: AbortSignal, hold: LoopHold): Promise<'sent' | 'aborted' | 'final' | number> {
    // A timer of our own, not AbortSignal.timeout() (nor AbortSignal.any()): Node 20's
    // AbortSignal.any() holds its sources weakly, so a timeout signal nothing else held was
    // collected at the alert actor's next GC and never fired: a receiver that accepted the
    // connection and never answered held the target's queue for good, nothing said. The
    // exporter's endpoint met the same (export/endpoint.ts). Counted in the loop's free time
    // (loop-timeout.ts): a plain timer cut a post whose answer had come while the service held
    // the loop past the deadline, and sent it again, the receiver's second copy.
    const cut = new AbortController();
    const timeout = loopTimeout(this.options.timeoutMs, () => cut.abort(new Error(`no answer within ${this.options.timeoutMs} ms (timeoutMs)`)));
    const stopped = (): void => cut.abort(aborted.reason);
    if (aborted.aborted) stopped();
    else aborted.addEventListener('abort', stopped, { once: true });
    try {
      // No redirect is followed (node:http follows none): fetch followed a 301 or 302 to a POST
      // with a GET without the body, whose 2xx counted the alert as sent though no receiver
      // ever saw it. The status is known: the body is read a short while at most (a receiver
      // that answers 200 and keeps its body open held each delivery for timeoutMs, and the
      // queue with it).
      const response = await postUnheld(target.url, target.headers, body, cut.signal, hold, RESPONSE_DRAIN_BYTES, RESPONSE_DRAIN_MS);
      if (response.status >= 200 && response.status < 300) {
        this.recovered(target);
        return 'sent';
      }
      if (isFinal(response.status)) {
        // A redirect's note says it is not followed and what to do; a 4xx's says why no retry.
        const note = response.status < 400 ? redirectNote(response, target.url, 'the alert') : ': not retried (a 4xx other than 408 and 429 is final: the receiver would refuse the same post again)';
        this.failed(target, `${target.shown}: HTTP ${response.status}${note}`);
        return 'final';
      }
      this.failed(target, `${target.shown}: HTTP ${response.status}${redirectNote(response, target.url, 'the alert')}`);
      return response.status === 429 || response.status === 503 ? (retryAfterMs(response.headers.get('retry-after'), wallNow()) ?? 0) : 0;
    } catch (error) {
      // Aborted by stop() or park's bound: no failure of the receiver's.
      if (aborted.aborted) return 'aborted';
      // node:http's error says what failed (connect ECONNREFUSED …, a certificate's), as the
      // cause of fetch's "fetch failed" did; or the timeout's.
      this.failed(target, `${target.shown}: ${(error as Error).message}`);
      return 0;
    } finally {
      timeout.clear();
      aborted.removeEventListener('abort', stopped);
    }
  }

  private failed(target: Target, message: string): void {
    this.stats.lastError = message;
    target.stats.lastError = message;
    target.failedAt = wallNow();
  }

  /**
   * A target took a post: its last error goes, as storage's and the exporters' do once they
   * recover (kept, it read as a receiver failing still), and the totals keep the error of the
   * target that failed last among those still failing, or none. The failures stay counted.
   */
  private recovered(target: Target): void {
    if (target.stats.lastError === null) return;
    target.stats.lastError = null;
    target.failedAt = 0;
    let newest: Target | undefined;
    for (const t of this.targets()) if (t.failedAt > (newest?.failedAt ?? 0)) newest = t;
    this.stats.lastError = newest?.stats.lastError ?? null;
  }
}

/**
 * Alertmanager's API under its URL's path: one served under a route prefix
 * (`--web.route-prefix=/alertmanager`, behind an ingress) answers there, and the API at the
 * host's root was a 404 for every notification.
 */
export function alertmanagerApi(url: string): string {
  const base = new URL(url);
  // The API's own URL, given whole, is taken as it is.
  if (/\/api\/v2\/alerts\/?$/.test(base.pathname)) return base.href;
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return new URL('api/v2/alerts', base).href;
}

/**
 * Whether an answer fails a post for good: a redirect (not followed, redirect.ts) or a 4xx
 * but 408 (Request Timeout) and 429 (Too Many Requests), which say to come back later. A
 * receiver refusing the payload or its credentials (400, 401, 403, 404, 413, 422) was asked
 * `maxAttempts` times over 15.5 s of backoff at the defaults, and the target's queue, one post
 * at a time, waited behind each refused post: a firing after it reached a working receiver
 * that much later. Exporters do the same with remote_write's and OTLP's 4xx (export/endpoint.ts).
 */
function isFinal(status: number): boolean {
  return status >= 300 && status < 500 && status !== 408 && status !== 429;
}

function seconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

function newStats(): NotifierStats {
  return { sent: 0, failed: 0, retries: 0, dropped: 0, queued: 0, lastError: null };
}
