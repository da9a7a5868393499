/**
 * An actor the watchdog restarts is a fault of the monitor's own work: counted by kind
 * (`actor-restart`) in status().faults and monitor_faults, warned once, its message naming the
 * actor, why it ended and how long it was down; get_monitoring_status says the collector's last
 * exit beside its restarts. A trial killed and hung the collector: the events said why, but
 * faults stayed 0, nothing was warned, and the status line said only "restarts 2".
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { connectInMemory } from './mcp-helpers.js';
import { waitFor } from './helpers.js';

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

function monitor(): PerformanceMonitor {
  const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  monitors.push(m);
  return m;
}

/** The PERFWATCH_FAULT warnings emitted while `fn` runs (and the turn after it: emitWarning is asynchronous). */
async function warnings(fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const listen = (w: Error & { code?: string }): void => {
    if (w.code === 'PERFWATCH_FAULT') seen.push(w.message);
  };
  process.on('warning', listen);
  try {
    await fn();
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    process.off('warning', listen);
  }
  return seen;
}

/** Injects `fault` into `actor` and waits for its successor to beat. */
async function restart(m: PerformanceMonitor, fault: 'kill' | 'hang' | 'exit', actor: 'collector' | 'alerts' = 'collector'): Promise<void> {
  const restarted = new Promise<void>((resolve) => {
    const on = (e: { actor: string }): void => {
      if (e.actor !== actor) return;
      m.off('actor-restart', on);
      resolve();
    };
    m.on('actor-restart', on);
  });
  await m.injectFault(fault, actor);
  await restarted;
}

describe('actor restarts as faults', () => {
  it('counts each restart of the collector as an actor-restart fault naming why it ended and how long it was down, warned once through a crash loop', async () => {
    const m = monitor();
    await m.start();
    const seen = await warnings(async () => {
      await restart(m, 'kill');
      const first = m.status().faults.byKind['actor-restart'];
      expect(first?.count).toBe(1);
      expect(first?.lastMessage).toMatch(/^collector: restarted after \d+ ms down \(restart 1\); it had ended: /);
      await restart(m, 'hang');
      expect(m.status().faults.byKind['actor-restart']?.lastMessage).toMatch(/^collector: restarted after \d+ ms down \(restart 2\); it had ended: no heartbeat for \d+ ms(?: \([^)]*\))?, hung$/);
      // A collector crash-looping: every restart counted, still the one warning.
      for (let k = 0; k < 4; k++) await restart(m, 'kill');
    });
    const s = m.status();
    expect(s.faults.byKind['actor-restart']?.count).toBe(6);
    expect(s.faults.total).toBe(6);
    expect(s.faults.newest).toBe('actor-restart');
    expect(s.collector.restarts).toBe(6);
    expect(seen.filter((w) => w.includes('actor-restart'))).toHaveLength(1);
    expect(seen[0]).toMatch(/^perfwatch: actor-restart: collector: restarted after \d+ ms down \(restart 1\)/);
    // On /metrics as monitor_faults{kind="actor-restart"}.
    await waitFor(() => m.status().collector.state === 'running', 10_000, 'the collector running');
    await m.flush();
    expect(m.getMetrics({ names: ['monitor_faults'] }).find((x) => x.tags.kind === 'actor-restart')?.totalSum).toBe(6);
  });

  it("counts the alert actor's restart as one too, by its name", async () => {
    const m = monitor();
    await m.start();
    await warnings(() => restart(m, 'exit', 'alerts'));
    const f = m.status().faults.byKind['actor-restart'];
    expect(f?.count).toBe(1);
    expect(f?.lastMessage).toMatch(/^alerts: restarted after \d+ ms down \(restart 1\); it had ended: /);
  });

  it("never counts a monitor's own stop(), nor the start and stop again after it", async () => {
    const m = monitor();
    const seen = await warnings(async () => {
      await m.start();
      m.record('before_stop', 1);
      await m.stop();
      await m.start();
      await m.stop();
    });
    expect(m.status().faults).toEqual({ total: 0, byKind: {}, newest: null });
    expect(seen).toEqual([]);
  });

  it("says in get_monitoring_status's collector line why it last ended and how long ago", async () => {
    const m = monitor();
    const client = await connectInMemory(m, 'restart-faults');
    try {
      await m.start();
      const line = async (): Promise<string> => {
        const r = (await client.callTool({ name: 'get_monitoring_status', arguments: {} })) as { content: { text: string }[] };
        return r.content[0]!.text.split('\n').find((l) => l.startsWith('collector '))!;
      };
      expect(await line()).toMatch(/^collector running, restarts 0, lag \d+ ms;/);
      await warnings(async () => {
        await restart(m, 'kill');
        await restart(m, 'hang');
      });
      await waitFor(() => m.status().collector.state === 'running', 10_000, 'the collector running');
      expect(m.status().collector.lastExit).toMatchObject({ hung: true, reason: expect.stringMatching(/^no heartbeat for \d+ ms(?: \([^)]*\))?, hung$/) });
      expect(await line()).toMatch(/^collector running, restarts 2 \(last: no heartbeat for \d+ ms(?: \([^)]*\))?, hung, \d+ s ago\), lag \d+ ms;/);
    } finally {
      await client.close();
    }
  });
});
