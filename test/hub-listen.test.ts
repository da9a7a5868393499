/**
 * Where a hub cannot listen (docs/cluster.md): an error naming the path, the field and what is
 * wrong, never Node's own `listen EACCES: permission denied`, which it says for a folder that
 * does not exist too.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, PerformanceMonitor } from '../dist/src/index.js';
import { SocketHub } from '../dist/src/hub/socket.js';
import { waitFor } from './helpers.js';
import { hubNodes } from './hub-helpers.js';

const nodes = hubNodes();

async function startError(listen: string): Promise<{ error: InvalidArgumentError; state: string }> {
  const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, hub: { listen } });
  const error = await m.start().then(
    () => {
      throw new Error('expected start() to fail');
    },
    (e: InvalidArgumentError) => e,
  );
  return { error, state: m.status().state };
}

describe('a hub that cannot listen', () => {
  it('in a folder that does not exist, or under a file: names the path, the field and the folder', async () => {
    const dir = dirname(nodes.socketPath());
    const missing = await startError(join(dir, 'nope', 'hub.sock'));
    expect(missing.error).toBeInstanceOf(InvalidArgumentError);
    expect(missing.error).toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'hub.listen' });
    expect(missing.error.message).toBe(`hub.listen ${join(dir, 'nope', 'hub.sock')}: its folder ${join(dir, 'nope')} does not exist: create it or choose another path`);
    expect(missing.state).toBe('stopped');
    writeFileSync(join(dir, 'plain'), '');
    const under = await startError(join(dir, 'plain', 'hub.sock'));
    expect(under.error).toMatchObject({ field: 'hub.listen', message: `hub.listen ${join(dir, 'plain', 'hub.sock')}: ${join(dir, 'plain')} is not a folder: choose another path` });
  });

  it('whose path a killed hub left, two hubs started at once: one takes it, the other stops with an error naming the path and the field, and members reach the one that took it', async () => {
    const path = nodes.socketPath();
    const killed = await nodes.start('hub', path);
    await killed.kill();
    // The transports alone, started in one tick: each looks at the stale path, then waits for
    // its connect to be refused, where the other one goes on.
    const quiet = { message: () => {}, malformed: () => {}, closed: () => {} };
    const hubs = [0, 1].map(() => new SocketHub(path, 1 << 20));
    try {
      const results = await Promise.allSettled(hubs.map((h) => h.start(quiet)));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [hubs[i]!] : []));
      const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as InvalidArgumentError] : []));
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]).toBeInstanceOf(InvalidArgumentError);
      expect(lost[0]).toMatchObject({ field: 'hub.listen', message: `hub.listen ${path}: another hub is taking this path now (its claim ${path}.claim): two hubs were started on it at once; stop one of them or choose another path` });
      expect(won[0]!.reclaimed).toBe(1);
      expect(existsSync(`${path}.claim`)).toBe(false);
    } finally {
      await Promise.all(hubs.map((h) => h.stop()));
    }
    // The path was the winner's: a hub's member reaches the hub that takes it next.
    const hub = await nodes.start('hub', path);
    const member = await nodes.start('member', path, 'after-race');
    await member.ask({ cmd: 'record', name: 'race_rt', values: [1, 2, 3] });
    await waitFor(async () => (await hub.ask({ cmd: 'metrics', names: ['race_rt'] })).metrics.some((s: { totalCount: number }) => s.totalCount === 3), 20_000, 'the member to reach the hub');
  });
});
