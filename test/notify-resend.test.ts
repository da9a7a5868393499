/**
 * Alertmanager's periodic resend (src/alerts/notify.ts, resendFiring): with Alertmanager down
 * a copy of every firing alert was queued each alertmanagerResendMs, up to queueLimit copies,
 * each one post of every alert, all posted at once when it came back; and as the queue
 * overflowed they pushed out the firings and resolutions waiting behind them.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BATCH_ALERTS, BATCH_CHARS } from '../dist/src/alerts/batch.js';
import { Notifier, type NotifierOptions } from '../dist/src/alerts/notify.js';
import type { AlertTransition } from '../dist/src/index.js';
import { closeServers, waitFor } from './helpers.js';

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  endsAt?: string;
}

const servers: Server[] = [];
const notifiers: Notifier[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const n of notifiers.splice(0)) n.stop();
  await closeServers(servers);
});

/** An Alertmanager that, while `down`, takes a post and never answers it (until it is up). */
async function alertmanager(): Promise<{ url: string; posts: AmAlert[][]; down: boolean; up(): void }> {
  const hung: ServerResponse[] = [];
  const state = {
    url: '',
    posts: [] as AmAlert[][],
    down: true,
    up(): void {
      state.down = false;
      for (const res of hung.splice(0)) res.writeHead(200).end();
    },
  };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      state.posts.push(JSON.parse(body) as AmAlert[]);
      if (state.down) hung.push(res);
      else res.writeHead(200).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return state;
}

function notifier(url: string, options: Partial<NotifierOptions> = {}): Notifier {
  const n = new Notifier({ webhooks: [], alertmanagerUrl: url, alertmanagerResendMs: 50, resolveHoldMs: 0, queueLimit: 1_000, timeoutMs: 60_000, maxAttempts: 1, retryBaseMs: 10, externalUrl: 'http://127.0.0.1/perfwatch', ...options });
  notifiers.push(n);
  return n;
}

/** Alert `name` (its fingerprint and alertname) fires or resolves: one delivery. */
function transition(n: Notifier, name: string, to: 'firing' | 'resolved'): void {
  const t: AlertTransition = { at: Date.now(), ruleId: 'r', ruleName: name, fingerprint: name, metric: 'm', tags: {}, severity: 'warning', from: to === 'firing' ? 'pending' : 'firing', to, value: to === 'firing' ? 2 : 0, threshold: 1 };
  n.onTransition(t, { fingerprint: name, ruleId: 'r', ruleName: name, metric: 'm', tags: {}, severity: 'warning', threshold: 1, description: '', labels: {} });
}

const names = (prefix: string, count: number, from = 0): string[] => Array.from({ length: count }, (_, i) => `${prefix}${from + i}`);
const alertnames = (posts: AmAlert[][]): string[] => posts.flat().map((a) => a.labels.alertname!);

/** Counts the resends from now on; `pass` says whether the next one is made (else it is skipped). */
function resends(pass: (made: number) => boolean = () => true): { made: number } {
  const counted = { made: 0 };
  const proto = Notifier.prototype as unknown as { resendFiring(): void };
  const original = proto.resendFiring;
  vi.spyOn(proto, 'resendFiring').mockImplementation(function (this: Notifier) {
    if (!pass(counted.made)) return;
    counted.made++;
    original.call(this);
  });
  return counted;
}

describe('Alertmanager resends', () => {
  it('keeps one resend of the current firing alerts waiting while Alertmanager is down, not one a resend interval, and posts that one when it is back', async () => {
    const am = await alertmanager();
    let open = true;
    const counted = resends(() => open);
    const n = notifier(am.url);
    // a0 is posted and not answered; a1…a249 wait in posts of 100, 100 and 49.
    for (const name of names('a', 250)) transition(n, name, 'firing');
    await waitFor(() => counted.made >= 20 || undefined, 20_000, '20 resend intervals');
    // The in flight firing, the 249 waiting and one resend of the 250 in 3 posts: a copy an
    // interval made it 20 posts and more of 250 alerts each.
    expect(n.stats).toMatchObject({ queued: 250 + 3, dropped: 0 });
    // What fires changes while it is down: the resend waiting says what fires now.
    for (const name of names('a', 10)) transition(n, name, 'resolved');
    const made = counted.made;
    await waitFor(() => counted.made >= made + 3 || undefined, 20_000, '3 resend intervals more');
    expect(n.stats).toMatchObject({ queued: 250 + 3 + 10, dropped: 0 });
    open = false;
    am.up();
    await waitFor(() => n.stats.queued === 0 || undefined, 20_000, 'the queue to drain');
    expect(n.stats).toMatchObject({ dropped: 0, failed: 0 });
    // The firings as they were queued, the one resend (a10…a249, in its place in line), then the resolutions.
    expect(am.posts.map((p) => p.length)).toEqual([1, 100, 100, 49, 100, 100, 40, 10]);
    expect(alertnames(am.posts.slice(0, 4))).toEqual(names('a', 250));
    expect(alertnames(am.posts.slice(4, 7))).toEqual(names('a', 240, 10));
    expect(am.posts.slice(4, 7).flat().every((a) => a.endsAt === undefined)).toBe(true);
    expect(am.posts[7]!.map((a) => [a.labels.alertname, typeof a.endsAt])).toEqual(names('a', 10).map((name) => [name, 'string']));
  });

  it('never drops a firing or a resolution to make room for resends: they wait besides queueLimit', async () => {
    const am = await alertmanager();
    // No resend before b0…b149 are queued: the firings go first.
    let open = false;
    const counted = resends(() => open);
    const n = notifier(am.url, { queueLimit: 3 });
    // f0 is posted and not answered; b0…b149 fill 2 of the 3 posts queueLimit lets wait.
    transition(n, 'f0', 'firing');
    await waitFor(() => am.posts.length === 1 || undefined, 10_000, 'the first post');
    for (const name of names('b', 150)) transition(n, name, 'firing');
    open = true;
    await waitFor(() => counted.made >= 10 || undefined, 20_000, '10 resend intervals');
    // b0's resolution is the third post of deliveries: within queueLimit, whatever resends wait.
    transition(n, 'b0', 'resolved');
    await waitFor(() => counted.made >= 13 || undefined, 20_000, '3 resend intervals more');
    expect(n.stats.dropped).toBe(0);
    am.up();
    await waitFor(() => am.posts.flat().some((a) => a.labels.alertname === 'b0' && a.endsAt !== undefined) || undefined, 20_000, "b0's resolution");
    expect(n.stats.dropped).toBe(0);
    // Every firing reached Alertmanager as the delivery it was, not only in a resend.
    expect(alertnames(am.posts.slice(0, 3))).toEqual(['f0', ...names('b', 150)]);
  });

  it('resends more than BATCH_ALERTS firing alerts in posts within BATCH_ALERTS and BATCH_CHARS, every one of them at each resend', async () => {
    const am = await alertmanager();
    am.up();
    // Only the first resend from now on is made: what it posts is that one resend.
    const counted = resends((made) => made === 0);
    counted.made = 1;
    const n = notifier(am.url);
    for (const name of names('s', 250)) transition(n, name, 'firing');
    // 40 alerts of 3,000 characters: BATCH_CHARS holds about 21 of them.
    for (const name of names('big', 40)) {
      transition(n, name, 'firing');
      n.annotate(name, { note: 'x'.repeat(3_000) });
    }
    await waitFor(() => n.stats.queued === 0 || undefined, 20_000, 'the firings to be posted');
    const from = am.posts.length;
    counted.made = 0;
    await waitFor(() => (counted.made === 1 && n.stats.queued === 0) || undefined, 20_000, 'one resend posted');
    const resent = am.posts.slice(from);
    // More posts than BATCH_ALERTS alone makes (3): BATCH_CHARS cut some.
    expect(resent.length).toBeGreaterThan(3);
    for (const post of resent) {
      expect(post.length).toBeLessThanOrEqual(BATCH_ALERTS);
      expect(post.reduce((chars, a) => chars + JSON.stringify(a).length, 0)).toBeLessThanOrEqual(BATCH_CHARS);
    }
    expect(alertnames(resent).sort()).toEqual([...names('s', 250), ...names('big', 40)].sort());
    expect(resent.flat().filter((a) => a.labels.alertname!.startsWith('big')).every((a) => a.annotations.note?.length === 3_000)).toBe(true);
  });
});
