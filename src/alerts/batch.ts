/**
 * Posts of several alerts: what a target's queue holds (notify.ts). The webhook payload
 * (version 4) and Alertmanager's API (POST /api/v2/alerts) both carry an `alerts` array, and a
 * burst (3,000 series breaching one rule at once) posted one alert a request filled the queue's
 * `queueLimit` long before a fast receiver had taken the first: 1,999 of 3,000 firings were
 * dropped with the receiver up. A delivery (one alert's firing or resolution for one target) now
 * joins the newest post waiting in its target's queue when it can, so a queue of `queueLimit`
 * posts holds up to BATCH_ALERTS times as many alerts, and a burst goes out in few requests.
 *
 * A delivery joins only the last post waiting (never one being posted), so every alert's
 * notifications still go in the order they were made; and only one that has none of the same
 * alert (a firing and its resolution go in two posts, in that order). A webhook post holds the
 * alerts of one group, as Alertmanager groups by alertname: one rule name, one status, so that
 * its groupLabels, groupKey and status say what every alert of it says; its commonLabels and
 * commonAnnotations are those all its alerts share, as Alertmanager's are. An Alertmanager post
 * takes any alerts (its API reads each alert on its own).
 */
import type { OutboxDelivery } from './outbox.js';
import type { LoopHold } from './post.js';

/** Alerts one post carries at most. */
export const BATCH_ALERTS = 100;
/** Characters of alerts (their JSON) one post carries at most: with queueLimit, what a target's queue holds in memory. */
export const BATCH_CHARS = 64 * 1024;

/** One alert's firing or resolution for one target: one outbox row. */
export interface Delivery {
  /** The alert as the post's `alerts` carries it (JSON). */
  alert: string;
  fingerprint: string;
  status: 'firing' | 'resolved';
  /** Which posts it may join: a webhook's alertname and status; '' for Alertmanager. */
  group: string;
  /** A webhook's: the post's groupLabels and common labels and annotations are made of these. */
  alertname?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Its outbox row; none without a database. */
  row?: OutboxDelivery;
  /** Settles once its row is committed (or could not be): the first attempt of its post waits for it. */
  saved?: Promise<unknown>;
}

/** One request to a target: the deliveries it carries, or a part of Alertmanager's resend of every firing alert. */
export interface Post {
  deliveries: Delivery[];
  /** A resend's body, made whole (its alerts are no deliveries: nothing in the outbox). */
  body?: string;
  /** The fingerprints of its deliveries: one of each. */
  fingerprints: Set<string>;
  /** Characters of its deliveries' alerts. */
  chars: number;
  attempt: number;
  /** When its next attempt may go (ms since the epoch; 0: at once). */
  due: number;
  /** Ends its backoff wait early (stop()). */
  wake?: () => void;
  /** Aborts its post in flight (stop(), or park's bound). */
  abort?: AbortController;
  /** Whether its post in flight holds the host's event loop: only while the monitor is stopped (park). */
  hold?: LoopHold;
}

/** The webhook group a delivery belongs to: its alertname and status. */
export function webhookGroup(alertname: string, status: 'firing' | 'resolved'): string {
  return `${status}\u0000${alertname}`;
}

export function newPost(delivery: Delivery, attempt = 0, due = 0): Post {
  return { deliveries: [delivery], fingerprints: new Set([delivery.fingerprint]), chars: delivery.alert.length, attempt, due };
}

/**
 * A resend of these alerts (their JSON) in posts within BATCH_ALERTS and BATCH_CHARS, as
 * deliveries' posts are (an alert longer than BATCH_CHARS alone in one): one post of every
 * firing alert was megabytes with thousands of them. Each post is one request, one delivery counted.
 */
export function resendPosts(alerts: readonly string[]): Post[] {
  const posts: Post[] = [];
  let start = 0;
  let chars = 0;
  const cut = (end: number): void => {
    if (end > start) posts.push({ deliveries: [], body: `[${alerts.slice(start, end).join(',')}]`, fingerprints: new Set(), chars, attempt: 0, due: 0 });
    start = end;
    chars = 0;
  };
  for (let i = 0; i < alerts.length; i++) {
    if (i - start >= BATCH_ALERTS || (i > start && chars + alerts[i]!.length > BATCH_CHARS)) cut(i);
    chars += alerts[i]!.length;
  }
  cut(alerts.length);
  return posts;
}

/** Whether a post is a part of Alertmanager's resend (no delivery of the outbox's). */
export function isResend(post: Post): boolean {
  return post.body !== undefined;
}

/** How many deliveries a post counts as (sent, failed, dropped): a resend's post is one. */
export function deliveriesOf(post: Post): number {
  return isResend(post) ? 1 : post.deliveries.length;
}

/**
 * Adds `delivery` to `post` when it fits: same group, none of the same alert, within
 * BATCH_ALERTS and BATCH_CHARS, and at the same attempt and due time (a restored one).
 */
export function join(post: Post, delivery: Delivery, attempt: number, due: number): boolean {
  if (isResend(post) || post.attempt !== attempt || post.due !== due) return false;
  const first = post.deliveries[0]!;
  if (first.group !== delivery.group || post.fingerprints.has(delivery.fingerprint)) return false;
  if (post.deliveries.length >= BATCH_ALERTS || post.chars + delivery.alert.length > BATCH_CHARS) return false;
  post.deliveries.push(delivery);
  post.fingerprints.add(delivery.fingerprint);
  post.chars += delivery.alert.length;
  return true;
}

/** Alertmanager's API body of these deliveries. */
export function alertmanagerBody(deliveries: readonly Delivery[]): string {
  return `[${deliveries.map((d) => d.alert).join(',')}]`;
}

/** The Alertmanager webhook payload (version 4) of these deliveries, all of one group. */
export function webhookBody(deliveries: readonly Delivery[], externalUrl: string): string {
  const first = deliveries[0]!;
  const alertname = first.alertname ?? '';
  const envelope = {
    version: '4',
    groupKey: `{}:{alertname=${JSON.stringify(alertname)}}`,
    truncatedAlerts: 0,
    status: first.status,
    receiver: 'perfwatch',
    groupLabels: { alertname },
    commonLabels: common(deliveries.map((d) => d.labels ?? {})),
    commonAnnotations: common(deliveries.map((d) => d.annotations ?? {})),
    externalURL: externalUrl,
  };
  const head = JSON.stringify(envelope);
  return `${head.slice(0, -1)},"alerts":[${deliveries.map((d) => d.alert).join(',')}]}`;
}

/** The pairs every one of `sets` has (Alertmanager's commonLabels). */
function common(sets: readonly Record<string, string>[]): Record<string, string> {
  const out: Record<string, string> = { ...sets[0] };
  for (let i = 1; i < sets.length; i++) {
    for (const key of Object.keys(out)) if (sets[i]![key] !== out[key]) delete out[key];
  }
  return out;
}

/**
 * A delivery again from its outbox row (a start on the dataDir a process left): its body is
 * the payload of it alone, as a post of one would have it. Undefined for a body this build
 * cannot read (another build's, damaged).
 */
export function restoredDelivery(row: OutboxDelivery, webhook: boolean): Delivery | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.body);
  } catch {
    return undefined;
  }
  const base = { fingerprint: row.fingerprint, status: row.status, row };
  if (!webhook) return Array.isArray(parsed) && parsed.length === 1 ? { ...base, alert: JSON.stringify(parsed[0]), group: '' } : undefined;
  const payload = parsed as { groupLabels?: { alertname?: unknown }; alerts?: unknown } | null;
  if (payload === null || typeof payload !== 'object' || !Array.isArray(payload.alerts) || payload.alerts.length !== 1) return undefined;
  const alert = payload.alerts[0] as { labels?: unknown; annotations?: unknown } | null;
  if (alert === null || typeof alert !== 'object' || !isStrings(alert.labels) || !isStrings(alert.annotations)) return undefined;
  const alertname = typeof payload.groupLabels?.alertname === 'string' ? payload.groupLabels.alertname : (alert.labels.alertname ?? '');
  return { ...base, alert: JSON.stringify(alert), group: webhookGroup(alertname, row.status), alertname, labels: alert.labels, annotations: alert.annotations };
}

function isStrings(v: unknown): v is Record<string, string> {
  return v !== null && typeof v === 'object' && Object.values(v).every((x) => typeof x === 'string');
}
