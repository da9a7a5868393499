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
 * Delivery never blocks evaluation or ingestion: each target has a bounded FIFO sent one at a
 * time with a timeout, retried with exponential backoff, then given up (counted); when the
 * queue is full the oldest waiting delivery is dropped (counted). The delivery being posted
 * (or waiting out its backoff) has left the queue: an overflow never drops it, so every
 * delivery ends counted once, as sent, failed or dropped.
 *
 * A receiver's answer is never read whole: only its status matters, so at most
 * RESPONSE_DRAIN_BYTES of the body are read (letting a short answer free its connection
 * for reuse) and the rest is cancelled, which closes the connection.
 */
import type { Alert, AlertTransition } from './schema.js';
import { answerStart } from '../answer-start.js';
import { withUrlCredentials } from '../url-credentials.js';

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
  lastError: string | null;
}

interface Delivery {
  body: string;
  attempt: number;
  /** Ends its backoff wait early (stop()). */
  wake?: () => void;
}

interface Target {
  url: string;
  headers: Record<string, string>;
  /** Deliveries waiting their turn, oldest first (the one in flight is not here). */
  queue: Delivery[];
  /** The delivery being posted or waiting out its backoff. */
  current?: Delivery;
  busy: boolean;
}

/** What the notifier needs to know of an alert to describe it. */
export type AlertView = Pick<Alert, 'fingerprint' | 'ruleId' | 'ruleName' | 'metric' | 'tags' | 'severity' | 'threshold' | 'description' | 'labels'>;

const ZERO_TIME = '0001-01-01T00:00:00Z';
const MAX_BACKOFF_MS = 60_000;
/** Bytes of a receiver's answer read before the rest is cancelled. */
export const RESPONSE_DRAIN_BYTES = 64 * 1024;

export class Notifier {
  readonly stats: NotifierStats = { sent: 0, failed: 0, retries: 0, dropped: 0, queued: 0, lastError: null };
  private readonly options: NotifierOptions;
  private readonly webhooks: Target[];
  private readonly alertmanager: Target | undefined;
  private readonly firing = new Map<string, { view: AlertView; startsAt: number; value: number; extra?: Record<string, string> }>();
  private readonly held = new Map<string, NodeJS.Timeout>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private resend: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(options: NotifierOptions) {
    this.options = options;
    this.webhooks = options.webhooks.map((w) => ({ ...withUrlCredentials(w.url, w.headers ?? {}), queue: [], busy: false }));
    this.alertmanager = options.alertmanagerUrl
      ? { ...withUrlCredentials(new URL('/api/v2/alerts', options.alertmanagerUrl).href, {}), queue: [], busy: false }
      : undefined;
    if (this.alertmanager) {
      this.resend = setInterval(() => this.resendFiring(), options.alertmanagerResendMs);
      this.resend.unref();
    }
  }

  get enabled(): boolean {
    return this.webhooks.length > 0 || this.alertmanager !== undefined;
  }

  /** The URLs it posts to, as origin, path and query: the monitor's own calls, which instrument() leaves out. */
  urls(): string[] {
    return this.targets().map((t) => {
      const u = new URL(t.url);
      return u.origin + u.pathname + u.search;
    });
  }

  /** Feeds a transition; only firing and the resolution of a firing alert notify. */
  onTransition(t: AlertTransition, view: AlertView): void {
    if (this.stopped || !this.enabled) return;
    if (t.to === 'firing') {
      const hold = this.held.get(t.fingerprint);
      if (hold) {
        // It fired again while its resolution was held: the same episode goes on.
        clearTimeout(hold);
        this.held.delete(t.fingerprint);
        const entry = this.firing.get(t.fingerprint);
        if (entry) entry.value = t.value;
        return;
      }
      if (this.firing.has(t.fingerprint)) return;
      this.firing.set(t.fingerprint, { view, startsAt: t.at, value: t.value });
      this.send('firing', view, t.at, null, t.value);
    } else if (t.to === 'resolved' && t.from === 'firing') {
      const entry = this.firing.get(t.fingerprint);
      if (!entry) return;
      const deliver = (): void => {
        this.held.delete(t.fingerprint);
        this.firing.delete(t.fingerprint);
        this.send('resolved', view, entry.startsAt, t.at, t.value, entry.extra);
      };
      if (this.options.resolveHoldMs <= 0) {
        deliver();
        return;
      }
      const timer = setTimeout(deliver, this.options.resolveHoldMs);
      timer.unref();
      this.held.set(t.fingerprint, timer);
    }
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
      this.firing.set(alert.fingerprint, { view: alert, startsAt: alert.firedAt ?? alert.activeSince, value: alert.value });
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
    if (this.held.has(fingerprint)) return;
    this.send('firing', entry.view, entry.startsAt, null, entry.value, entry.extra);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.resend);
    for (const timer of [...this.held.values(), ...this.timers]) clearTimeout(timer);
    this.held.clear();
    this.timers.clear();
    for (const target of this.targets()) {
      for (let i = 0; i < target.queue.length; i++) this.finish('dropped');
      target.queue.length = 0;
      // A delivery in its backoff wait is dropped now; one being posted ends as its post does.
      target.current?.wake?.();
    }
  }

  private targets(): Target[] {
    return this.alertmanager ? [...this.webhooks, this.alertmanager] : this.webhooks;
  }

  private labels(view: AlertView): Record<string, string> {
    return { ...view.tags, ...view.labels, alertname: view.ruleName, severity: view.severity, metric: view.metric, perfwatch_rule: view.ruleId };
  }

  private annotations(view: AlertView, value: number, extra: Record<string, string> | undefined): Record<string, string> {
    const annotations: Record<string, string> = {
      ...extra,
      summary: `${view.metric} is ${formatValue(value)} (threshold ${view.threshold})`,
      value: formatValue(value),
      threshold: String(view.threshold),
    };
    if (view.description) annotations.description = view.description;
    return annotations;
  }

  private send(status: 'firing' | 'resolved', view: AlertView, startsAt: number, endsAt: number | null, value: number, extra?: Record<string, string>): void {
    const labels = this.labels(view);
    const annotations = this.annotations(view, value, extra);
    const generatorURL = `${this.options.externalUrl}#alert=${view.fingerprint}`;
    if (this.webhooks.length > 0) {
      const payload = {
        version: '4',
        groupKey: `{}:{alertname=${JSON.stringify(view.ruleName)}}`,
        truncatedAlerts: 0,
        status,
        receiver: 'perfwatch',
        groupLabels: { alertname: view.ruleName },
        commonLabels: labels,
        commonAnnotations: annotations,
        externalURL: this.options.externalUrl,
        alerts: [
          {
            status,
            labels,
            annotations,
            startsAt: new Date(startsAt).toISOString(),
            endsAt: endsAt === null ? ZERO_TIME : new Date(endsAt).toISOString(),
            generatorURL,
            fingerprint: view.fingerprint,
          },
        ],
      };
      const body = JSON.stringify(payload);
      for (const target of this.webhooks) this.enqueue(target, body);
    }
    if (this.alertmanager) {
      const alert: Record<string, unknown> = { labels, annotations, startsAt: new Date(startsAt).toISOString(), generatorURL };
      if (endsAt !== null) alert.endsAt = new Date(endsAt).toISOString();
      this.enqueue(this.alertmanager, JSON.stringify([alert]));
    }
  }

  /** Alertmanager forgets alerts that stop arriving: tell it again about every firing one. */
  private resendFiring(): void {
    if (!this.alertmanager || this.firing.size === 0) return;
    const alerts = [...this.firing.values()].map(({ view, startsAt, value, extra }) => ({
      labels: this.labels(view),
      annotations: this.annotations(view, value, extra),
      startsAt: new Date(startsAt).toISOString(),
      generatorURL: `${this.options.externalUrl}#alert=${view.fingerprint}`,
    }));
    this.enqueue(this.alertmanager, JSON.stringify(alerts));
  }

  private enqueue(target: Target, body: string): void {
    if (target.queue.length >= this.options.queueLimit) {
      target.queue.shift();
      this.finish('dropped');
    }
    target.queue.push({ body, attempt: 0 });
    this.stats.queued++;
    if (!target.busy) void this.pump(target);
  }

  /**
   * Posts the target's deliveries one at a time. The one being posted, or waiting out its
   * backoff, is `target.current`: out of the queue, still counted in `queued` until it ends.
   */
  private async pump(target: Target): Promise<void> {
    target.busy = true;
    try {
      while (!this.stopped && target.queue.length > 0) {
        const delivery = target.queue.shift()!;
        target.current = delivery;
        this.finish(await this.attempts(target, delivery));
        target.current = undefined;
      }
    } finally {
      target.busy = false;
    }
  }

  /** Tries a delivery until it is sent or given up; 'dropped' when the notifier stopped meanwhile. */
  private async attempts(target: Target, delivery: Delivery): Promise<'sent' | 'failed' | 'dropped'> {
    for (;;) {
      if (await this.post(target, delivery.body)) return 'sent';
      delivery.attempt++;
      if (this.stopped) return 'dropped';
      if (delivery.attempt >= this.options.maxAttempts) return 'failed';
      this.stats.retries++;
      const backoff = Math.min(MAX_BACKOFF_MS, this.options.retryBaseMs * 2 ** (delivery.attempt - 1));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          resolve();
        }, backoff);
        timer.unref();
        this.timers.add(timer);
        delivery.wake = resolve;
      });
      delivery.wake = undefined;
      if (this.stopped) return 'dropped';
    }
  }

  /** Counts a delivery's end: each ends once, as sent, failed or dropped. */
  private finish(outcome: 'sent' | 'failed' | 'dropped'): void {
    this.stats.queued--;
    this.stats[outcome]++;
  }

  /** POSTs one payload; true on a 2xx answer. The answer's body is drained up to a cap, never kept. */
  private async post(target: Target, body: string): Promise<boolean> {
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...target.headers },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await answerStart(response, RESPONSE_DRAIN_BYTES);
      if (response.ok) return true;
      this.stats.lastError = `${target.url}: HTTP ${response.status}`;
      return false;
    } catch (error) {
      // fetch's own message is "fetch failed": the cause says what (ECONNREFUSED, a timeout, a bad port).
      const cause = (error as Error).cause as Error | undefined;
      this.stats.lastError = `${target.url}: ${(error as Error).message}${cause?.message ? ` (${cause.message})` : ''}`;
      return false;
    }
  }
}

function formatValue(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 1000) / 1000) : 'no data';
}
