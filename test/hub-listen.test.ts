/**
 * Where a hub cannot listen (docs/cluster.md): an error naming the path, the field and what is
 * wrong, never Node's own `listen EACCES: permission denied`, which it says for a folder that
 * does not exist too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
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

  it('in a folder reached through a symbolic link: listens (the folder is one, though lstat says link)', async () => {
    const dir = dirname(nodes.socketPath());
    mkdirSync(join(dir, 'real'), { recursive: true });
    symlinkSync(join(dir, 'real'), join(dir, 'linked'));
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, hub: { listen: join(dir, 'linked', 'hub.sock') } });
    await m.start();
    try {
      expect(m.status().state).toBe('running');
      expect(existsSync(join(dir, 'real', 'hub.sock'))).toBe(true);
    } finally {
      await m.stop();
    }
  });

  it('whose path a killed hub left, two hubs started at once: one takes it, the other stops with an error naming the path and the field, and members reach the one that took it', async () => {
    const path = nodes.socketPath();
    const killed = await nodes.start('hub', path);
    await killed.kill();
    // The transports alone, started in one tick: each looks at the stale path, then waits for
    // its connect to be refused, where the other one goes on.
    const quiet = { message: () => {}, malformed: () => {}, closed: () => {}, turnedAway: () => {} };
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

describe("what is beside a hub's path, or at it, that is not a hub of ours", () => {
  // Until 2026-12-06 any file at <path>.claim whose content was not a live pid, or older than
  // 10 s, was removed: a user's file of that name was gone once a hub started there.
  it("a user's file at <path>.claim, however old, is left as it is and named in a clear error; a folder of that name too; a claim of ours left by a hub that died is taken over", async () => {
    const path = nodes.socketPath();
    const claim = `${path}.claim`;
    writeFileSync(claim, 'precious user data\n');
    const old = new Date(Date.now() - 60_000);
    utimesSync(claim, old, old);
    const file = await startError(path);
    expect(file.error).toMatchObject({ field: 'hub.listen', message: `hub.listen ${path}: ${claim} holds something else, not a claim of a perfwatch hub: not removed; remove it, or choose another path` });
    expect(readFileSync(claim, 'utf8')).toBe('precious user data\n');
    expect(existsSync(path)).toBe(false);

    const other = nodes.socketPath();
    mkdirSync(`${other}.claim`);
    const folder = await startError(other);
    expect(folder.error).toMatchObject({ field: 'hub.listen', message: `hub.listen ${other}: ${other}.claim is a folder, not a claim of a perfwatch hub: not removed; remove it, or choose another path` });
    expect(existsSync(`${other}.claim`)).toBe(true);

    // What a hub of ours killed between its claim and its listen leaves: its claim, of a pid gone.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const third = nodes.socketPath();
    writeFileSync(`${third}.claim`, `{"perfwatch":"hub-claim","pid":${dead}}\n`);
    const hub = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, hub: { listen: third } });
    await hub.start();
    try {
      expect(existsSync(`${third}.claim`)).toBe(false);
    } finally {
      await hub.stop();
    }
  });

  it('a live socket of another program is said to be that, not "the socket of a running hub", and left alone; a running hub of ours is named with its pid', async () => {
    const path = nodes.socketPath();
    const server = createServer((s) => s.end());
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const { error } = await startError(path);
      expect(error).toMatchObject({ field: 'hub.listen', message: `hub.listen ${path} is a live socket of another process (something accepts connections on it; no perfwatch hub's record says a hub of ours made it): left alone; stop that process, or choose another path` });
      expect(existsSync(path)).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const ours = nodes.socketPath();
    const hub = await nodes.start('hub', ours);
    const second = await startError(ours);
    expect(second.error).toMatchObject({ field: 'hub.listen', message: `hub.listen ${ours} is the socket of a running perfwatch hub (pid ${hub.child.pid}, its record ${ours}.owner says): left alone; stop that process, or choose another path` });
  });
});
