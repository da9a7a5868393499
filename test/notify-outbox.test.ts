/**
 * The notifier's outbox (src/alerts/outbox.ts): with a dataDir, a process SIGKILLed while a
 * firing waits for a receiver that refuses it, or while a resolution is held, has them sent
 * by the next process on the same dataDir; a close() keeps what waits for the next start, and
 * what a start restores is bounded by the queue's limit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { encode } from '@msgpack/msgpack';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type MonitorOptions } from '../dist/src/index.js';
import { openSchema } from '../dist/src/storage/schema.js';
import { waitFor } from './helpers.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
const servers: Server[] = [];
const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const server of servers.splice(0)) server.close();
  await Promise.all(monitors.splice(0).map((m) => m.close()));
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tmp = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-outbox-'));
  dirs.push(dir);
  return dir;
};

interface Received {
  at: number;
  status: number;
  body: { status: string; alerts: { fingerprint: string; startsAt: string; endsAt: string }[] };
}

/** A webhook receiver answering `answer` (503 refuses), which it can be told to change. */
async function receiver(answer: number): Promise<{ url: string; got: Received[]; answer: number }> {
  const state = { url: '', got: [] as Received[], answer };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      state.got.push({ at: Date.now(), status: state.answer, body: JSON.parse(body) as Received['body'] });
      res.writeHead(state.answer).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  return state;
}

interface Said {
  t?: { at: number; fingerprint: string; from: string; to: string };
  sent?: number;
}

/** Starts test/fixtures/notify-killed.mjs; `lines` gets what it says. */
function child(dir: string, url: string, holdMs: number, mode: 'fire' | 'resolve' | 'idle'): { proc: ChildProcess; lines: Said[]; exited: Promise<unknown> } {
  const proc = spawn(process.execPath, [new URL('./fixtures/notify-killed.mjs', import.meta.url).pathname, dir, url, String(holdMs), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  const lines: Said[] = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => lines.push(JSON.parse(line) as Said));
  return { proc, lines, exited: new Promise((resolve) => proc.once('exit', resolve)) };
}

async function kill(c: { proc: ChildProcess; exited: Promise<unknown> }): Promise<void> {
  c.proc.kill('SIGKILL');
  await c.exited;
  expect(c.proc.signalCode).toBe('SIGKILL');
}

describe('notifications through a SIGKILL', () => {
  it('sends, after a restart on the same dataDir, a firing that waited for a receiver refusing it', async () => {
    const dir = tmp();
    const hook = await receiver(503);
    const first = child(dir, hook.url, 30_000, 'fire');
    // Refused at least twice: the firing waits out a backoff when the process dies.
    await waitFor(() => hook.got.length >= 2, 20_000, 'the firing refused twice');
    await kill(first);
    const fingerprint = hook.got[0]!.body.alerts[0]!.fingerprint;
    expect(hook.got.every((r) => r.body.status === 'firing' && r.status === 503)).toBe(true);

    hook.answer = 200;
    const second = child(dir, hook.url, 30_000, 'idle');
    await waitFor(() => second.lines.some((l) => l.sent === 1), 20_000, 'the restarted process to send the firing');
    const accepted = hook.got.filter((r) => r.status === 200);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.body).toMatchObject({ status: 'firing', alerts: [{ fingerprint, endsAt: '0001-01-01T00:00:00Z' }] });
    // Its alert came back firing and did not fire again: no transition in the second process.
    expect(second.lines.filter((l) => l.t)).toEqual([]);
    await kill(second);
  }, 60_000);

  it('sends, after a restart on the same dataDir, a resolution held when the process died, once its hold is over', async () => {
    const dir = tmp();
    const holdMs = 8000;
    const hook = await receiver(200);
    const first = child(dir, hook.url, holdMs, 'resolve');
    const resolved = await waitFor(() => first.lines.find((l) => l.t?.to === 'resolved')?.t, 20_000, 'the alert resolved');
    await kill(first);
    // Killed during the hold: the receiver has the firing only.
    expect(hook.got.map((r) => r.body.status)).toEqual(['firing']);
    const firing = hook.got[0]!.body.alerts[0]!;

    const second = child(dir, hook.url, holdMs, 'idle');
    await waitFor(() => hook.got.length === 2, 30_000, 'the held resolution');
    const last = hook.got[1]!;
    // The same episode, ended when it resolved, sent once its hold was over.
    expect(last.body).toMatchObject({ status: 'resolved', alerts: [{ fingerprint: firing.fingerprint, startsAt: firing.startsAt, endsAt: new Date(resolved.at).toISOString() }] });
    expect(last.at).toBeGreaterThanOrEqual(resolved.at + holdMs);
    await waitFor(() => second.lines.some((l) => l.sent === 1), 10_000, 'the resolution counted sent');
    await kill(second);
    expect(hook.got).toHaveLength(2);
  }, 60_000);
});

describe('the outbox between two monitors on one dataDir', () => {
  function monitorOn(dataDir: string, alerts: MonitorOptions['alerts']): PerformanceMonitor {
    const m = new PerformanceMonitor({ storage: 'sqlite', dataDir, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false }, alerts });
    monitors.push(m);
    return m;
  }

  it('keeps what waits at close() for the next start, which queues no more than its limit and counts the rest dropped', async () => {
    const dir = tmp();
    const hook = await receiver(503);
    const a = monitorOn(dir, { webhooks: [hook.url], queueLimit: 3, retryBaseMs: 5000 });
    await a.start();
    // Three rule names: alerts of one rule go in one post (batch.ts), and the limit counts posts.
    await a.createAlertRule({ name: 'backlog s0', metric: 'queue_size', tags: { shard: 's0' }, operator: '>', threshold: 100 });
    await a.createAlertRule({ name: 'backlog s1', metric: 'queue_size', tags: { shard: 's1' }, operator: '>', threshold: 100 });
    await a.createAlertRule({ name: 'backlog s2', metric: 'queue_size', tags: { shard: 's2' }, operator: '>', threshold: 100 });
    for (const shard of ['s0', 's1', 's2']) a.record('queue_size', 500, { shard });
    await a.flush();
    // One refused and waiting out a backoff of 5 s, two queued behind it.
    await waitFor(() => hook.got.length === 1 && a.status().alerts.notifications.queued === 3, 20_000, 'three firings waiting');
    await a.close();
    // The one in its backoff ends as its wait is cut short, a turn later.
    await waitFor(() => a.status().alerts.notifications.queued === 0, 5000, 'the waiting firing dropped');
    expect(a.status().alerts.notifications).toMatchObject({ dropped: 3, sent: 0 });

    hook.answer = 200;
    const b = monitorOn(dir, { webhooks: [hook.url], queueLimit: 1 });
    await b.start();
    // The first restored leaves the queue for its post at once; of the two others, the older is dropped.
    await waitFor(() => b.status().alerts.notifications.sent === 2, 20_000, 'two restored firings sent');
    expect(b.status().alerts.notifications).toMatchObject({ sent: 2, dropped: 1, queued: 0, failed: 0 });
    const accepted = hook.got.filter((r) => r.status === 200).map((r) => r.body.alerts[0]!.fingerprint);
    const refused = hook.got[0]!.body.alerts[0]!.fingerprint;
    expect(accepted).toHaveLength(2);
    expect(accepted).toContain(refused);
  }, 60_000);

  it('carries a delivery\'s attempts over a restart: one refused before gets only what is left of maxAttempts', async () => {
    const dir = tmp();
    const hook = await receiver(503);
    const alerts = { webhooks: [hook.url], maxAttempts: 2, retryBaseMs: 2000 };
    const a = monitorOn(dir, alerts);
    await a.start();
    await a.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 100 });
    a.record('queue_size', 500);
    await waitFor(() => a.status().alerts.notifications.retries === 1, 20_000, 'the first attempt refused');
    await a.close();
    expect(hook.got).toHaveLength(1);

    const b = monitorOn(dir, alerts);
    await b.start();
    await waitFor(() => b.status().alerts.notifications.failed === 1, 20_000, 'the restored delivery given up');
    // Its second and last attempt: none more.
    expect(hook.got).toHaveLength(2);
    expect(b.status().alerts.notifications).toMatchObject({ failed: 1, retries: 0, sent: 0, queued: 0 });
  }, 60_000);

  it('drops a held resolution it restored when the alert fires again: the episode goes on, and its resolution is the first firing\'s', async () => {
    const dir = tmp();
    const hook = await receiver(200);
    const a = monitorOn(dir, { webhooks: [hook.url], resolveHoldMs: 600_000 });
    await a.start();
    await a.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 100 });
    a.record('queue_size', 500);
    await waitFor(() => a.status().alerts.notifications.sent === 1, 20_000, 'the firing sent');
    a.record('queue_size', 5);
    await waitFor(() => a.getAlerts({ state: 'resolved' }).length === 1, 20_000, 'the resolution, held');
    await a.close();

    const b = monitorOn(dir, { webhooks: [hook.url], resolveHoldMs: 0 });
    await b.start();
    b.record('queue_size', 600);
    await waitFor(() => b.getAlerts({ state: 'firing' }).length === 1, 20_000, 'the alert firing again');
    b.record('queue_size', 7);
    await waitFor(() => hook.got.length === 2, 20_000, 'the resolution');
    const [firing, resolved] = hook.got.map((r) => r.body);
    // No second firing: the restored hold was cancelled as its alert fired again, one episode.
    expect(resolved).toMatchObject({ status: 'resolved', alerts: [{ fingerprint: firing!.alerts[0]!.fingerprint, startsAt: firing!.alerts[0]!.startsAt }] });
    await waitFor(() => b.status().alerts.notifications.sent === 1, 10_000, 'the resolution counted');
    expect(hook.got).toHaveLength(2);
  }, 60_000);

  it('deletes, and does not restore, outbox rows it cannot use (another build\'s, damaged)', async () => {
    const dir = tmp();
    const file = join(dir, 'perfwatch.db');
    const db = openSchema(file);
    // A hold without its alert: sent when due, it would throw from a timer into the host.
    db.prepare('INSERT INTO notify_outbox (id, body) VALUES (?, ?)').run(['hold:x', encode({ kind: 'hold', id: 'hold:x', fingerprint: 'x', due: 0 })]);
    db.prepare('INSERT INTO notify_outbox (id, body) VALUES (?, ?)').run(['d', encode({ kind: 'delivery', id: 'd', fingerprint: 'y', due: 0 })]);
    db.close();
    const hook = await receiver(200);
    const m = monitorOn(dir, { webhooks: [hook.url], resolveHoldMs: 0 });
    await m.start();
    await m.close();
    const after = openSchema(file);
    expect(after.prepare('SELECT count(*) FROM notify_outbox').get()?.[0]).toBe(0);
    after.close();
    expect(hook.got).toEqual([]);
    expect(m.status().alerts.notifications).toMatchObject({ sent: 0, dropped: 0 });
  }, 30_000);
});
