import { once } from 'node:events';
import { stat } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Notifier, RESPONSE_DRAIN_BYTES, type NotifierOptions } from '../dist/src/alerts/notify.js';
import { RETRY_AFTER_MAX_MS } from '../dist/src/retry-after.js';
import { PerformanceMonitor, type AlertTransition } from '../dist/src/index.js';
import { caught, closeServers, longAnswer, waitFor } from './helpers.js';

const servers: Server[] = [];
const notifiers: Notifier[] = [];
afterEach(async () => {
  for (const n of notifiers.splice(0)) n.stop();
  await closeServers(servers);
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
}

function notifier(url: string, options: Partial<NotifierOptions> = {}): Notifier {
  const n = new Notifier({
    webhooks: [{ url }],
    alertmanagerResendMs: 60_000,
    resolveHoldMs: 0,
    queueLimit: 1_000,
    timeoutMs: 30_000,
    maxAttempts: 1,
    retryBaseMs: 10,
    externalUrl: 'http://127.0.0.1/perfwatch',
    ...options,
  });
  notifiers.push(n);
  return n;
}

/** An alert of its own (fingerprint `name`) firing: one delivery per call. */
function fire(n: Notifier, name: string): void {
  const t: AlertTransition = { at: Date.now(), ruleId: 'r', ruleName: name, fingerprint: name, metric: 'm', tags: {}, severity: 'warning', from: 'pending', to: 'firing', value: 2, threshold: 1 };
  n.onTransition(t, { fingerprint: name, ruleId: 'r', ruleName: name, metric: 'm', tags: {}, severity: 'warning', threshold: 1, description: '', labels: {} });
}

function fingerprintOf(body: string): string {
  return (JSON.parse(body) as { alerts: { fingerprint: string }[] }).alerts[0]!.fingerprint;
}

describe('webhook delivery', () => {
  it('gives up on a post the receiver never answers after timeoutMs and says so, garbage collections meanwhile', async () => {
    // Node 20's AbortSignal.any() holds its sources weakly: AbortSignal.timeout() held by
    // nothing else was collected at the alert actor's next GC and never fired, so a receiver
    // that took the connection and never answered held the queue for good (alerting.test's
    // "webhook hangs" test waited 10 s for a drain that never came).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heard: number[] = [];
    const url = await listen((req) => {
      req.resume();
      heard.push(Date.now()); // and never answered
    });
    const n = notifier(url, { timeoutMs: 300 });
    fire(n, 'silent');
    await waitFor(() => heard.length === 1, 10_000, 'the post to reach the receiver');
    const collect = setInterval(gc, 20);
    try {
      // A hang guard, not a timing assert: the post ends once timeoutMs has passed.
      await waitFor(() => n.stats.queued === 0, 10_000, 'the post to be given up');
    } finally {
      clearInterval(collect);
    }
    expect(n.stats).toMatchObject({ sent: 0, failed: 1, lastError: `${url}: no answer within 300 ms (timeoutMs)` });
  });

  it("keeps a post the receiver answered while the host's own code held the loop past timeoutMs: sent once, not cut and sent again", async () => {
    // The receiver runs on a thread of its own and answers only while this thread is held,
    // from an I/O callback (a request handler's JSON.parse of a large body), until after the
    // post's deadline. Then the loop's next turn runs its timers before it polls the socket
    // that holds the answer: a plain timer cut the post as unanswered and the retry gave the
    // receiver a second copy of the firing.
    const flags = new Int32Array(new SharedArrayBuffer(12)); // [posts heard, held now, answered]
    const receiver = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
      const flags = new Int32Array(workerData);
      const server = require('node:http').createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          Atomics.add(flags, 0, 1);
          const answer = setInterval(() => {
            if (Atomics.load(flags, 1) === 0) return;
            clearInterval(answer);
            res.end('{}', () => Atomics.store(flags, 2, 1));
          }, 5);
        });
      });
      server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));`,
      { eval: true, workerData: flags.buffer },
    );
    try {
      const [port] = (await once(receiver, 'message')) as [number];
      const n = notifier(`http://127.0.0.1:${port}/hook`, { timeoutMs: 200, maxAttempts: 2 });
      fire(n, 'held');
      await waitFor(() => Atomics.load(flags, 0) === 1, 10_000, 'the post to reach the receiver');
      await new Promise<void>((resolve) =>
        stat('.', () => {
          const from = performance.now();
          Atomics.store(flags, 1, 1);
          // Held until the receiver has answered and the post's deadline is past (bounded: a
          // receiver that never answers fails the test below rather than hanging it).
          while ((Atomics.load(flags, 2) === 0 || performance.now() - from < 400) && performance.now() - from < 10_000);
          resolve();
        }),
      );
      await waitFor(() => n.stats.queued === 0, 10_000, 'the post to end');
      expect(Atomics.load(flags, 2)).toBe(1);
      expect(n.stats).toMatchObject({ sent: 1, failed: 0, retries: 0, lastError: null });
      expect(Atomics.load(flags, 0)).toBe(1);
    } finally {
      await receiver.terminate();
    }
  });

  it("gives a post the host's loop held from its start the rest of its timeoutMs once the loop is free, rather than cutting it unsent", async () => {
    // Held right after the post began, the loop could not even write it (its connection
    // completes in the next poll): counted as time waited for an answer, the whole timeoutMs
    // went by unseen and the post was cut as the receiver's failure. Only the step the hold
    // ran into counts, the post goes out and its answer is taken.
    const heard: number[] = [];
    const url = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        heard.push(Date.now());
        res.end('{}');
      });
    });
    const n = notifier(url, { timeoutMs: 2_000, maxAttempts: 2 });
    fire(n, 'held-at-start');
    await new Promise<void>((resolve) =>
      stat('.', () => {
        const from = performance.now();
        while (performance.now() - from < 2_500);
        resolve();
      }),
    );
    await waitFor(() => n.stats.queued === 0, 10_000, 'the post to end');
    expect(n.stats).toMatchObject({ sent: 1, failed: 0, retries: 0, lastError: null });
    expect(heard).toHaveLength(1);
  });

  it("refuses a webhook header fetch would refuse (every notification would fail), naming the header, never its value", () => {
    const bad = (headers: Record<string, string>) =>
      caught<Error & { field: string }>(() => new PerformanceMonitor({ storage: 'memory', alerts: { webhooks: ['http://127.0.0.1/ok', { url: 'http://127.0.0.1/hook', headers }] } }));
    expect(bad({ 'X Team': 'payments' })).toMatchObject({ field: 'alerts.webhooks[1].headers', message: expect.stringContaining('has an invalid header name "X Team"') });
    const value = bad({ Authorization: 'Bearer s3cret\r\nX-Other: 1' });
    expect(value).toMatchObject({ field: 'alerts.webhooks[1].headers', message: expect.stringContaining('has an invalid value for header "Authorization"') });
    expect(value.message).not.toContain('s3cret');
    expect(bad(Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`X-H${i}`, 'v']))).message).toContain('must have at most 32 headers');
    // A value with a trailing line break (a token read from a file) is fine: fetch trims it.
    expect(() => new PerformanceMonitor({ storage: 'memory', alerts: { webhooks: [{ url: 'http://127.0.0.1/hook', headers: { Authorization: 'Bearer t\n' } }] } })).not.toThrow();
  });

  it('counts as dropped only deliveries never posted, and as sent only those posted', async () => {
    // The receiver holds every request until the test lets it answer.
    const received: string[] = [];
    const held: (() => void)[] = [];
    let arrived: (() => void) | undefined;
    const url = await listen((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        received.push(fingerprintOf(body));
        held.push(() => res.writeHead(200).end('ok'));
        arrived?.();
      });
    });
    const n = notifier(url, { queueLimit: 2 });
    const first = new Promise<void>((resolve) => (arrived = resolve));
    fire(n, 'a1');
    await first;
    // a1 is being posted; a2 and a3 fill the queue, a4 overflows it and drops the oldest waiting (a2).
    fire(n, 'a2');
    fire(n, 'a3');
    fire(n, 'a4');
    expect(n.stats).toMatchObject({ queued: 3, dropped: 1, sent: 0 });
    arrived = () => held.shift()!();
    held.shift()!();
    await waitFor(() => n.stats.queued === 0, 10_000, 'the queue to drain');
    expect(received).toEqual(['a1', 'a3', 'a4']);
    expect(n.stats).toMatchObject({ sent: 3, dropped: 1, failed: 0, queued: 0 });
  });

  it('puts the alerts of a burst in posts of up to 100 of one rule and status, and past queueLimit drops the oldest waiting post, each of its alerts counted', async () => {
    // One alert a post: 3,000 series breaching at once filled queueLimit's 1,000 before a fast
    // receiver had taken the first, and 1,999 firings were dropped with the receiver up.
    const bodies: { status: string; groupLabels: Record<string, string>; commonLabels: Record<string, string>; alerts: { fingerprint: string; status: string }[] }[] = [];
    const held: (() => void)[] = [];
    let arrived: (() => void) | undefined;
    const url = await listen((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        bodies.push(JSON.parse(body));
        held.push(() => res.writeHead(200).end('ok'));
        arrived?.();
      });
    });
    let n = notifier(url, { queueLimit: 2 });
    const alert = (rule: string, fingerprint: string, to: 'firing' | 'resolved'): void => {
      const t: AlertTransition = { at: Date.now(), ruleId: rule, ruleName: rule, fingerprint, metric: 'm', tags: { user: fingerprint }, severity: 'warning', from: to === 'firing' ? 'pending' : 'firing', to, value: to === 'firing' ? 2 : 0, threshold: 1 };
      n.onTransition(t, { fingerprint, ruleId: rule, ruleName: rule, metric: 'm', tags: { user: fingerprint }, severity: 'warning', threshold: 1, description: '', labels: {} });
    };
    const first = new Promise<void>((resolve) => (arrived = resolve));
    alert('first', 'f0', 'firing');
    await first;
    // f0 is being posted. 250 firings of one rule wait in posts of 100, 100 and 50: 2 posts
    // (queueLimit), the oldest of 100 dropped when the third begins.
    for (let i = 0; i < 250; i++) alert('burst', `b${i}`, 'firing');
    expect(n.stats).toMatchObject({ queued: 151, dropped: 100, sent: 0 });
    arrived = () => held.shift()!();
    held.shift()!();
    await waitFor(() => n.stats.queued === 0, 10_000, 'the queue to drain');
    expect(n.stats).toMatchObject({ sent: 151, dropped: 100, failed: 0, queued: 0 });
    expect(bodies.map((b) => b.alerts.length)).toEqual([1, 100, 50]);
    expect(bodies.flatMap((b) => b.alerts.map((a) => a.fingerprint))).toEqual(['f0', ...Array.from({ length: 150 }, (_, i) => `b${i + 100}`)]);
    const batch = bodies[1]!;
    expect(batch).toMatchObject({ status: 'firing', groupLabels: { alertname: 'burst' }, commonLabels: { alertname: 'burst', severity: 'warning', metric: 'm', perfwatch_rule: 'burst' } });
    // The labels its alerts do not share are not common.
    expect(batch.commonLabels.user).toBeUndefined();

    // A resolution never joins a firing's post, nor a second delivery of one alert (its
    // firing sent again with a capture's annotations) a post that has one.
    bodies.length = 0;
    n = notifier(url, { queueLimit: 10 });
    const again = new Promise<void>((resolve) => (arrived = resolve));
    alert('first', 'f1', 'firing');
    await again;
    alert('burst', 'b0', 'firing');
    alert('burst', 'b1', 'firing');
    alert('burst', 'b0', 'resolved');
    alert('burst', 'b1', 'resolved');
    alert('burst', 'c0', 'firing');
    n.annotate('c0', { profile: 'cpu' });
    alert('burst', 'c0', 'resolved');
    arrived = () => held.shift()!();
    held.shift()!();
    await waitFor(() => n.stats.queued === 0, 10_000, 'the queue to drain');
    expect(bodies.map((b) => [b.status, b.alerts.map((a) => a.fingerprint)])).toEqual([
      ['firing', ['f1']],
      ['firing', ['b0', 'b1']],
      ['resolved', ['b0', 'b1']],
      ['firing', ['c0']],
      ['firing', ['c0']],
      ['resolved', ['c0']],
    ]);
  });

  it("posts to a URL with user info, sending it as Basic authorization, and names the cause of a failed post", async () => {
    const auth: (string | undefined)[] = [];
    const url = await listen((req, res) => {
      auth.push(req.headers.authorization);
      req.resume();
      req.on('end', () => res.writeHead(200).end());
    });
    const n = notifier(url.replace('http://', 'http://hook:pa%20ss@'));
    fire(n, 'c1');
    await waitFor(() => n.stats.queued === 0, 10_000, 'the delivery');
    expect(n.stats).toMatchObject({ sent: 1, failed: 0 });
    expect(auth).toEqual([`Basic ${Buffer.from('hook:pa ss').toString('base64')}`]);

    // A port nothing listens on: fetch says only "fetch failed", its cause says why.
    const closed = await listen(() => undefined);
    const server = servers.pop()!;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const dead = notifier(closed.replace('http://', 'http://hook:pa%20ss@'));
    fire(dead, 'c2');
    await waitFor(() => dead.stats.queued === 0, 10_000, 'the failed delivery');
    expect(dead.stats.failed).toBe(1);
    expect(dead.stats.lastError).toMatch(/ECONNREFUSED/);
    expect(dead.stats.lastError).not.toContain('pa');
  });

  it("sends a header given in another case than the notifier's own in place of it, not beside it", async () => {
    const seen: (string | undefined)[] = [];
    const url = await listen((req, res) => {
      seen.push(req.headers['content-type'], req.headers['user-agent'], String(req.headers['x-team']));
      req.resume();
      req.on('end', () => res.writeHead(200).end());
    });
    const n = notifier(url, { webhooks: [{ url, headers: { 'Content-Type': 'application/vnd.alerts+json', 'User-Agent': 'ops-hook', 'X-Team': 'payments' } }] });
    fire(n, 'h1');
    await waitFor(() => n.stats.queued === 0, 10_000, 'the delivery');
    expect(n.stats).toMatchObject({ sent: 1, failed: 0 });
    expect(seen).toEqual(['application/vnd.alerts+json', 'ops-hook', 'payments']);
  });

  it('counts a delivery that stop() interrupts in its backoff as dropped, once', async () => {
    let hits = 0;
    const url = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        hits++;
        res.writeHead(500).end();
      });
    });
    const n = notifier(url, { maxAttempts: 5, retryBaseMs: 60_000 });
    fire(n, 'b1');
    fire(n, 'b2');
    await waitFor(() => n.stats.retries === 1, 10_000, 'the first retry to be scheduled');
    n.stop();
    await waitFor(() => n.stats.queued === 0, 10_000, 'the stopped queue to settle');
    expect(hits).toBe(1);
    expect(n.stats).toMatchObject({ sent: 0, failed: 0, dropped: 2, queued: 0 });
  });

  it('gives a post made while the monitor is stopped (parked) LAST_POST_MS, not timeoutMs: cut then, it is no attempt and waits, with the deliveries behind it, for the next start', async () => {
    // A rule deleted while the monitor is stopped notifies its resolution: such a post to a
    // receiver that never answered held the stopped monitor's host for timeoutMs.
    let got = 0;
    const url = await listen((req, res) => {
      req.resume();
      // The first post is never answered; later ones are.
      if (got++ > 0) req.on('end', () => res.writeHead(200).end());
    });
    const n = notifier(url, { timeoutMs: 60_000, maxAttempts: 3 });
    n.park();
    fire(n, 'p1');
    await waitFor(() => got === 1, 10_000, 'the receiver to hold the post');
    fire(n, 'p2');
    // Cut at LAST_POST_MS: still queued, the second behind it, nothing counted and no attempt.
    await waitFor(() => (n as unknown as { webhooks: { held: boolean }[] }).webhooks[0]!.held, 20_000, 'the post to be cut');
    expect(n.stats).toMatchObject({ sent: 0, failed: 0, retries: 0, dropped: 0, queued: 2, lastError: null });
    expect(got).toBe(1);
    n.unpark();
    await waitFor(() => n.stats.sent === 2, 10_000, 'both sent once started again');
    expect(got).toBe(3);
    expect(n.stats).toMatchObject({ sent: 2, failed: 0, retries: 0, dropped: 0, queued: 0 });
  });

  it('does not wait out its timeout on a receiver that answers 200 and keeps its body open: only the status matters', async () => {
    // The body was read until timeoutMs (60 s here) for each delivery, and the queue behind it
    // waited as long: three alerts took three minutes to reach a receiver that had them all.
    let got = 0;
    const url = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        got++;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('accepted');
      });
    });
    const n = notifier(url, { timeoutMs: 60_000 });
    for (const name of ['o1', 'o2', 'o3']) fire(n, name);
    await waitFor(() => n.stats.sent === 3, 20_000, 'the three deliveries to be sent');
    expect(got).toBe(3);
    expect(n.stats).toMatchObject({ sent: 3, failed: 0, queued: 0, lastError: null });
  });

  it('posts to an Alertmanager served under a route prefix at its API under that prefix', async () => {
    // alertmanagerUrl http://host/alertmanager (--web.route-prefix, an ingress path) was posted
    // at http://host/api/v2/alerts: a 404 for every notification.
    const paths: string[] = [];
    const hook = await listen((req, res) => {
      paths.push(req.url!);
      req.resume();
      req.on('end', () => res.writeHead(req.url === '/alertmanager/api/v2/alerts' ? 200 : 404).end());
    });
    const base = new URL(hook).origin;
    const n = notifier(`${base}/unused`, { webhooks: [], alertmanagerUrl: `${base}/alertmanager` });
    fire(n, 'am1');
    await waitFor(() => n.stats.queued === 0, 10_000, 'the delivery to end');
    expect(paths).toEqual(['/alertmanager/api/v2/alerts']);
    expect(n.stats).toMatchObject({ sent: 1, failed: 0 });
    expect(n.targetStats().map((t) => t.url)).toEqual([`${base}/alertmanager/api/v2/alerts`]);
  });

  it("resends its firing alerts to Alertmanager as they were posted, without building them again: the host's thread is not held by each resend", async () => {
    // Each resend built every firing alert's labels and annotations anew on the host's thread:
    // with 20,000 firing alerts each one held it 1.8 s (0.4 s with 5,000), every
    // alertmanagerResendMs.
    const bodies: unknown[][] = [];
    const hook = await listen((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        bodies.push(JSON.parse(body) as unknown[]);
        res.writeHead(200).end();
      });
    });
    const n = notifier(hook, { webhooks: [], alertmanagerUrl: new URL(hook).origin, alertmanagerResendMs: 200 });
    for (let i = 0; i < 50; i++) fire(n, `a${i}`);
    // The firings go in posts of several (batch.ts): the first alone, the rest together; a resend has all 50.
    const firings = (): unknown[] => bodies.filter((b) => b.length < 50).flat();
    await waitFor(() => (n.stats.queued === 0 && firings().length === 50) || undefined, 10_000, 'the 50 firings');
    const built = vi.spyOn(Notifier.prototype as unknown as { labels(): unknown }, 'labels');
    const annotated = vi.spyOn(Notifier.prototype as unknown as { annotations(): unknown }, 'annotations');
    try {
      // A resend's body is made when it is queued: of three posted from now, two were made from now.
      const from = bodies.length;
      await waitFor(() => bodies.slice(from).filter((b) => b.length === 50).length >= 3 || undefined, 10_000, 'three resends');
      expect(built).not.toHaveBeenCalled();
      expect(annotated).not.toHaveBeenCalled();
    } finally {
      built.mockRestore();
      annotated.mockRestore();
    }
    const resent = bodies.filter((b) => b.length === 50).at(-1)!;
    expect(resent).toEqual(expect.arrayContaining(firings()));
    expect(resent).toHaveLength(50);
  });

  it("aborts the post in flight when the monitor is closed: a receiver that never answers does not hold the host's exit", async () => {
    // The post went on until timeoutMs (up to 60 s) after close(), its socket holding the host's
    // event loop: a service that closed its monitor on SIGTERM was killed by its orchestrator.
    let hung: IncomingMessage | undefined;
    let hungUp = false;
    const url = await listen((req) => {
      hung = req;
      req.resume();
      req.socket.on('close', () => (hungUp = true));
    });
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, alerts: { webhooks: [url], timeoutMs: 60_000, resolveHoldMs: 0 } });
    await m.start();
    try {
      await m.createAlertRule({ metric: 'queue_depth', operator: '>', threshold: 5 });
      m.record('queue_depth', 50);
      await waitFor(() => hung !== undefined, 10_000, 'the receiver to get the firing');
      expect(m.status().alerts.notifications).toMatchObject({ queued: 1, sent: 0 });
      await m.close();
      await waitFor(() => hungUp && m.status().alerts.notifications.queued === 0, 10_000, 'the post to be aborted');
      // Ended by the close, not failed by the receiver: no error of its own.
      expect(m.status().alerts.notifications).toMatchObject({ sent: 0, failed: 0, dropped: 1, queued: 0, lastError: null });
    } finally {
      await m.close();
    }
  });

  it('reads no more than a small cap of a receiver\'s answer, however long it is', async () => {
    let accepted = -1;
    const closed = new Promise<void>((resolve) => {
      void listen((req, res) =>
        longAnswer(req, res, 200, 64 * 1024 * 1024, (written) => {
          accepted = written;
          resolve();
        }),
      ).then((url) => fire(notifier(url), 'big'));
    });
    await closed;
    const n = notifiers[0]!;
    await waitFor(() => n.stats.queued === 0, 10_000, 'the delivery to end');
    expect(n.stats).toMatchObject({ sent: 1, failed: 0 });
    // What the receiver got off its hands: the cap plus what the two sockets' buffers hold.
    expect(accepted).toBeGreaterThan(RESPONSE_DRAIN_BYTES);
    expect(accepted).toBeLessThan(16 * 1024 * 1024);
  });

  it('says per target what became of its deliveries, its URL without user info, beside the totals', async () => {
    const good = await listen((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end());
    });
    const bad = await listen((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(500).end());
    });
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, alerts: { webhooks: [good.replace('http://', 'http://hook:s3cret@'), bad], maxAttempts: 2, retryBaseMs: 10, resolveHoldMs: 0 } });
    try {
      await m.start();
      await m.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 100 });
      m.record('queue_size', 500);
      await waitFor(() => m.status().alerts.notifications.queued === 0 && m.status().alerts.notifications.failed === 1, 10_000, 'both deliveries to end');
      const n = m.status().alerts.notifications;
      expect(n).toMatchObject({ sent: 1, failed: 1, retries: 1, dropped: 0, queued: 0, lastError: `${bad}: HTTP 500` });
      expect(n.targets).toEqual([
        { url: good, sent: 1, failed: 0, retries: 0, dropped: 0, queued: 0, lastError: null },
        { url: bad, sent: 0, failed: 1, retries: 1, dropped: 0, queued: 0, lastError: `${bad}: HTTP 500` },
      ]);
      expect(JSON.stringify(n)).not.toContain('s3cret');
    } finally {
      await m.close();
    }
  });

  it("shows a webhook's URL cut after its first path segment, without its query: a chat webhook's path or query is its token", async () => {
    let posted = '';
    const base = await listen((req, res) => {
      posted = req.url ?? '';
      req.resume();
      req.on('end', () => res.writeHead(500).end());
    });
    // Slack's shape (the token is the last segments), with Google Chat's (key and token in the query).
    const secret = `${base.replace('/hook', '')}/services/T0001/B0002/XyZsEcReT?key=k3y&token=t0k3n`;
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, alerts: { webhooks: [secret], maxAttempts: 1, resolveHoldMs: 0 } });
    try {
      await m.start();
      await m.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 100 });
      m.record('queue_size', 500);
      await waitFor(() => m.status().alerts.notifications.failed === 1, 10_000, 'the delivery to fail');
      // Posted to the whole URL...
      expect(posted).toBe('/services/T0001/B0002/XyZsEcReT?key=k3y&token=t0k3n');
      // ...shown without what makes it a credential.
      const shown = `${base.replace('/hook', '')}/services/…?…`;
      const n = m.status().alerts.notifications;
      expect(n.targets.map((t) => t.url)).toEqual([shown]);
      expect(n.lastError).toBe(`${shown}: HTTP 500`);
      for (const token of ['XyZsEcReT', 'k3y', 't0k3n', 'B0002']) expect(JSON.stringify(m.status())).not.toContain(token);
    } finally {
      await m.close();
    }
  });

  it("clears a target's lastError once it takes a post again, and the totals' once no target is failing, as storage and the exporters do", async () => {
    // A receiver back after one 500: status said HTTP 500 for good, and read as failing still.
    let posts = 0;
    const flaky = await listen((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(posts++ === 0 ? 500 : 200).end());
    });
    const down = await listen((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(503).end());
    });
    const n = notifier(flaky, { maxAttempts: 2, retryBaseMs: 10 });
    fire(n, 'r1');
    await waitFor(() => n.stats.sent === 1, 10_000, 'the retry to be taken');
    expect(n.stats).toMatchObject({ sent: 1, retries: 1, lastError: null });
    expect(n.targetStats()[0]).toMatchObject({ retries: 1, lastError: null });

    // Of two targets, one still failing keeps the totals' lastError when the other recovers.
    const both = new Notifier({ webhooks: [{ url: down }, { url: flaky }], alertmanagerResendMs: 60_000, resolveHoldMs: 0, queueLimit: 1_000, timeoutMs: 30_000, maxAttempts: 1, retryBaseMs: 10, externalUrl: 'http://127.0.0.1/perfwatch' });
    notifiers.push(both);
    fire(both, 'r2');
    await waitFor(() => both.stats.queued === 0, 10_000, 'both deliveries to end');
    expect(both.stats).toMatchObject({ sent: 1, failed: 1, lastError: `${down}: HTTP 503` });
    expect(both.targetStats().map((t) => t.lastError)).toEqual([`${down}: HTTP 503`, null]);
  });

  it('waits as long as a 429 or 503 asks with Retry-After, in seconds or as a date, when longer than its backoff, and says so', async () => {
    // Each answer in turn: 503 asking 2 s, 429 asking for a date 3 s ahead, then 200.
    const hits: { at: number; asked: number }[] = [];
    const url = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        const at = Date.now();
        if (hits.length === 0) {
          hits.push({ at, asked: at + 2000 });
          res.writeHead(503, { 'retry-after': '2' }).end();
        } else if (hits.length === 1) {
          const date = new Date(Math.ceil((at + 3000) / 1000) * 1000);
          hits.push({ at, asked: date.getTime() });
          res.writeHead(429, { 'retry-after': date.toUTCString() }).end();
        } else {
          hits.push({ at, asked: 0 });
          res.writeHead(200).end();
        }
      });
    });
    const n = notifier(url, { maxAttempts: 3, retryBaseMs: 10 });
    fire(n, 'r1');
    await waitFor(() => n.stats.retries === 1, 10_000, 'the first retry to be scheduled');
    expect(n.stats.lastError).toBe(`${url}: HTTP 503, Retry-After 2 s: next attempt in 2 s`);
    await waitFor(() => n.stats.retries === 2, 10_000, 'the second retry to be scheduled');
    expect(n.stats.lastError).toMatch(new RegExp(`^${url}: HTTP 429, Retry-After [1-4] s: next attempt in [1-4] s$`));
    await waitFor(() => n.stats.sent === 1, 20_000, 'the third attempt');
    expect(hits).toHaveLength(3);
    // Not before the receiver asked (the backoff alone was 10 ms, then 20 ms).
    expect(hits[1]!.at).toBeGreaterThanOrEqual(hits[0]!.asked);
    expect(hits[2]!.at).toBeGreaterThanOrEqual(hits[1]!.asked);
  });

  it('does not follow a redirect, which fetch makes a GET without the alert, and says where it points', async () => {
    const seen: string[] = [];
    const url = await listen((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => (req.url === '/hook' ? res.writeHead(301, { location: '/moved' }) : res.writeHead(200)).end());
    });
    const n = notifier(url);
    fire(n, 'c1');
    await waitFor(() => n.stats.queued === 0, 10_000, 'the delivery');
    expect(seen).toEqual(['POST /hook']);
    expect(n.stats).toMatchObject({ sent: 0, failed: 1 });
    expect(n.stats.lastError).toBe(`${url}: HTTP 301, redirected to ${url.replace('/hook', '/moved')}: redirects are not followed (the alert would not reach the receiver), configure that URL instead`);
  });

  it('does not retry a 4xx but 408 and 429: the same post would be refused again, and the queue behind it waited', async () => {
    // A receiver refusing the payload (400) was asked maxAttempts times, 15.5 s of backoff at
    // the defaults, while the firings queued behind the refused post waited.
    const hits: string[] = [];
    let answer = 400;
    const url = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        hits.push(String(answer));
        res.writeHead(answer).end();
        if (answer === 408) answer = 200;
      });
    });
    const n = notifier(url, { maxAttempts: 4, retryBaseMs: 10 });
    fire(n, 'r1');
    await waitFor(() => n.stats.queued === 0, 10_000, 'the refused delivery to end');
    expect(hits).toEqual(['400']);
    expect(n.stats).toMatchObject({ sent: 0, failed: 1, retries: 0 });
    expect(n.stats.lastError).toBe(`${url}: HTTP 400: not retried (a 4xx other than 408 and 429 is final: the receiver would refuse the same post again)`);

    // A 408 says to come again: retried, and taken.
    answer = 408;
    fire(n, 'r2');
    await waitFor(() => n.stats.sent === 1, 10_000, 'the retried delivery');
    expect(hits).toEqual(['400', '408', '200']);
    expect(n.stats).toMatchObject({ sent: 1, failed: 1, retries: 1, lastError: null });
  });

  it("shows where a redirect points as a webhook's own URL is shown: its path and query may be the token", async () => {
    // The Location was shown whole but its user info: a receiver that moved to another chat
    // webhook put that webhook's token into status and the logs.
    const url = await listen((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(302, { location: 'https://user:pa55@hooks.example/services/T000/B000/s3cret?token=s3cret' }).end());
    });
    const n = notifier(url);
    fire(n, 'r1');
    await waitFor(() => n.stats.queued === 0, 10_000, 'the delivery');
    expect(n.stats.lastError).toBe(`${url}: HTTP 302, redirected to https://hooks.example/services/…?…: redirects are not followed (the alert would not reach the receiver), configure that URL instead`);
  });

  it('caps what Retry-After may ask at RETRY_AFTER_MAX_MS, and ignores it on other statuses', async () => {
    let hits = 0;
    const url = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        hits++;
        res.writeHead(503, { 'retry-after': '86400' }).end();
      });
    });
    const n = notifier(url, { maxAttempts: 3, retryBaseMs: 10 });
    fire(n, 'c1');
    await waitFor(() => n.stats.retries === 1, 10_000, 'the first retry to be scheduled');
    expect(n.stats.lastError).toBe(`${url}: HTTP 503, Retry-After 86400 s: next attempt in ${RETRY_AFTER_MAX_MS / 1000} s (capped at 300 s)`);
    expect(hits).toBe(1);

    let other = 0;
    const plain = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        other++;
        res.writeHead(500, { 'retry-after': '86400' }).end();
      });
    });
    const p = notifier(plain, { maxAttempts: 3, retryBaseMs: 10 });
    fire(p, 'c2');
    await waitFor(() => p.stats.failed === 1, 10_000, 'three attempts at the backoff');
    expect(other).toBe(3);
    expect(p.stats.lastError).toBe(`${plain}: HTTP 500`);
  });
});
