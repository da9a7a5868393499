/**
 * What a hub's socket keeps of the peers that connect to it (docs/cluster.md): the hub runs in
 * the host's own process, and each connection is a file descriptor of it. Until 2026-12-06 it
 * kept every connection that never said hello, with no cap and no deadline: some 990 idle
 * connections used up a host's 1,024 descriptors (EMFILE in its own fs.openSync), and 3,000
 * that each sent most of a 64 KiB first frame held 192 MB.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, PerformanceMonitor, type MemberLinkStatus } from '../dist/src/index.js';
import type { HubStatus } from '../dist/src/hub/hub.js';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes } from './hub-helpers.js';
import { hubLines } from '../dist/src/mcp/status-answer.js';

const nodes = hubNodes();
const started = monitorStarter();
const peers: Socket[] = [];
afterEach(() => {
  for (const s of peers.splice(0)) s.destroy();
});

const hubStatus = (hub: PerformanceMonitor) => hub.status().hub as HubStatus;

/** A peer that connects and says nothing; `closed` turns true once the hub closed it. */
async function silentPeer(path: string): Promise<{ socket: Socket; closed: () => boolean }> {
  const socket = connect(path);
  peers.push(socket);
  socket.on('error', () => {});
  let closed = false;
  socket.once('close', () => (closed = true));
  // Read, so that the hub's close is seen as the end of the stream.
  socket.resume();
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, closed: () => closed };
}

describe("a hub's socket", () => {
  it('keeps at most hub.maxConnections open: one past it is turned away at once (told why, nothing of it read) and counted, and a member turned away so is told why, then welcomed once a slot frees', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path, maxConnections: 3, helloTimeoutMs: 600_000 } });
    const held = await Promise.all([0, 1, 2].map(() => silentPeer(path)));
    await waitFor(() => hubStatus(hub).connections.open === 3 || undefined, 10_000, 'three connections open');
    const past = await Promise.all([0, 1].map(() => silentPeer(path)));
    await waitFor(() => past.every((p) => p.closed()) || undefined, 10_000, 'the connections past the cap to be closed');
    expect(hubStatus(hub).connections).toEqual({ open: 3, limit: 3, refused: 2, noHello: 0 });
    expect(hubStatus(hub).lastError?.message).toBe(`${path}: a connection past hub.maxConnections (3 open) turned away`);
    expect(hub.status().faults.byKind['hub-connections']?.count).toBe(2);
    expect(held.some((p) => p.closed())).toBe(false);
    expect(hubLines(hub.status().hub)[0]).toContain(', connections 3 of 3 open (2 turned away past hub.maxConnections, 0 closed without a hello); last error: ');

    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'late', retryMaxMs: 200 } });
    const link = () => member.status().hub as MemberLinkStatus;
    const told = await waitFor(() => link().lastError ?? undefined, 10_000, "the member's lastError");
    expect(told.message).toBe('the hub refused this member: hub.maxConnections: this hub keeps at most 3 connections open (its hub.maxConnections), and has them: raise it on the hub, or look for what holds them (status().hub.connections)');
    held[0]!.socket.destroy();
    await waitFor(() => link().connected || undefined, 10_000, 'the member welcomed in the freed slot');
    member.record('late_rt', 5);
    await member.flush();
    const arrived = () => {
      try {
        return hub.getMetrics({ names: ['late_rt'] }).some((s) => s.tags.instance === 'late' && s.totalCount === 1) || undefined;
      } catch {
        // Not a known metric yet.
        return undefined;
      }
    };
    await waitFor(arrived, 20_000, "the member's bucket on the hub");
  });

  it('closes a connection that has said no hello within hub.helloTimeoutMs, and counts it; a member, which says hello as it connects, stays', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path, helloTimeoutMs: 300 } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'talks' } });
    const quiet = await Promise.all([0, 1].map(() => silentPeer(path)));
    await waitFor(() => quiet.every((p) => p.closed()) || undefined, 10_000, 'the silent connections to be closed');
    const s = hubStatus(hub);
    expect(s.connections).toMatchObject({ noHello: 2, refused: 0 });
    expect(s.lastError?.message).toMatch(new RegExp(`^${path} socket #\\d+: said no hello within hub.helloTimeoutMs \\(300 ms\\): closed$`));
    // The member said hello at once: welcomed, and its link kept past the deadline.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const l = member.status().hub as MemberLinkStatus;
    expect(l).toMatchObject({ connected: true });
    expect(hubStatus(hub).connections).toMatchObject({ open: 1, noHello: 2 });
    expect(hubStatus(hub).members.map((m) => [m.instance, m.connected])).toEqual([['talks', true]]);
  });

  it('holds at most a hello of what a peer that has not said one sends: a first frame of 5,000 bytes resets the link at its header', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const peer = await silentPeer(path);
    // The trial's peer: most of a first frame that declares more than a hello can be, then nothing.
    const head = Buffer.alloc(4);
    head.writeUInt32BE(5_000);
    peer.socket.write(Buffer.concat([head, Buffer.alloc(4_000, 1)]));
    await waitFor(() => peer.closed() || undefined, 10_000, 'the hub to reset the link');
    const s = hubStatus(hub);
    expect(s.malformed).toBe(1);
    expect(s.lastError?.message).toMatch(/a first frame of 5000 bytes is longer than a hello can be \(4096\): a link starts with a hello$/);
  });

  it('hub.maxConnections and hub.helloTimeoutMs out of range are refused, naming the field and the range', () => {
    const bad = (hub: object) => {
      try {
        new PerformanceMonitor({ storage: 'memory', hub: { listen: nodes.socketPath(), ...hub } as never });
      } catch (error) {
        return error as InvalidArgumentError;
      }
      throw new Error('expected the options to be refused');
    };
    expect(bad({ maxConnections: 0 })).toMatchObject({ field: 'hub.maxConnections', message: expect.stringContaining('must be an integer from 1 to 100000 connections') });
    expect(bad({ helloTimeoutMs: 50 })).toMatchObject({ field: 'hub.helloTimeoutMs', message: expect.stringContaining('must be an integer from 100 to 600000 ms') });
  });
});
