/**
 * A hub that reads nothing (its loop held, its process stopped with SIGSTOP, a debugger paused)
 * keeps its links open: a member's writes then wait in the member's own memory. bufferLimit
 * bounds what a member holds; what it wrote to the socket must be bounded too (until
 * 2026-12-02 every batch was written whatever waited unsent before it: a member of 3,000
 * series grew by about 1 MB a second for as long as its hub was stopped, and the batches its
 * buffer dropped stayed in the socket's queue all the same).
 */
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { MemberLinkStatus } from '../dist/src/index.js';
import { FrameReader, decodeMemberMessage, frame } from '../dist/src/hub/wire.js';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

/** A hub by hand that welcomes its member, then reads nothing until told to. */
async function stuckHub(path: string) {
  const seqs: number[] = [];
  let beats = 0;
  let peer: Socket | undefined;
  const server = createServer((socket) => {
    peer = socket;
    const reader = new FrameReader(1 << 26);
    socket.on('error', () => {});
    socket.on('data', (c: Buffer) => {
      for (const f of reader.push(c)) {
        const m = decodeMemberMessage(f);
        if (m.t === 'hello') {
          socket.write(frame({ t: 'welcome', acked: 0, round: 1, hub: 'stuck' }));
          // The hub's loop is held from here on: nothing is read.
          socket.pause();
        } else if (m.t === 'batch') seqs.push(m.seq);
        else if (m.t === 'beat') beats++;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  closers.push(async () => {
    peer?.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { seqs, beats: () => beats, resume: () => peer!.resume() };
}

describe('a hub that reads nothing', () => {
  it("a member's socket holds at most a frame's worth unsent: batches its buffer drops were never written, and what it holds goes once the hub reads again", async () => {
    const path = nodes.socketPath();
    const hub = await stuckHub(path);
    const member = await started({ collectionIntervalMs: 1000, maxSeries: 10_000, hub: { connect: path, instance: 'm', maxFrameBytes: 65_536, bufferLimit: 6_000 } });
    const series = Array.from({ length: 3_000 }, (_, i) => member.metric('rt', { k: String(i) }));
    let n = 0;
    const feed = setInterval(() => {
      for (const s of series) s.record(1 + ((n++ * 7919) % 100_000));
    }, 50);
    closers.push(async () => clearInterval(feed));
    const link = () => member.status().hub as MemberLinkStatus;
    // Kernel buffers take some 400 KB of the first batches (about 2 intervals here), the
    // socket's bound 64 KiB, the buffer 2 intervals; past that the member drops the oldest.
    await waitFor(() => link().dropped >= 9_000 || undefined, 60_000, 'the member to drop what it cannot send');
    clearInterval(feed);
    const newest = await waitFor(() => {
      const s = link();
      return s.queueDepth > 0 ? s : undefined;
    }, 10_000, 'batches held');
    expect(newest.connected).toBe(true);
    expect(newest.queueDepth).toBeLessThanOrEqual(6_000);
    const beats = hub.beats();
    const before = hub.seqs.length;
    hub.resume();
    // Nothing is recorded now, so the member beats at each interval once its last batch went;
    // the socket keeps the order, so two beats heard mean every batch written before them is here.
    await waitFor(() => hub.beats() >= beats + 2 || undefined, 30_000, 'two beats after the hub reads again');
    const last = Math.max(...hub.seqs);
    // What it holds went once the hub read again (its drain), without a new welcome: its newest batch too.
    expect(link().queueDepth).toBeGreaterThan(0);
    expect(hub.seqs.length).toBeGreaterThan(before);
    expect(last).toBe(Math.max(...hub.seqs.slice(before)));
    // Every seq the member numbered up to its newest reached the socket, or none of it did:
    // those its buffer dropped while the hub read nothing must not have.
    const got = new Set(hub.seqs);
    const missing: number[] = [];
    for (let s = 1; s <= last; s++) if (!got.has(s)) missing.push(s);
    expect(missing.length, `seqs received: ${[...got].sort((a, b) => a - b).join(',')}`).toBeGreaterThan(0);
  }, 120_000);

  it("the hub resets a link whose peer reads none of its answers (a client that only writes hellos): counted malformed, the hub's memory bounded", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path, maxFrameBytes: 65_536 } });
    const socket = connect(path);
    socket.on('error', () => {});
    let closed = false;
    socket.once('close', () => (closed = true));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    closers.push(async () => void socket.destroy());
    // Each hello is a member epoch's restart to the hub, answered with a welcome of some 60 bytes.
    for (let k = 0; k < 40 && !closed; k++) {
      const hellos = Array.from({ length: 1_000 }, (_, i) => frame({ t: 'hello', instance: 'flood', epoch: `e${k}-${i}`, intervalMs: 1000 }));
      socket.write(Buffer.concat(hellos));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await waitFor(() => closed || undefined, 30_000, 'the hub to reset the link');
    const s = hub.status().hub as { malformed: number; lastError: { message: string } | null };
    expect(s.malformed).toBeGreaterThanOrEqual(1);
    expect(s.lastError?.message).toMatch(/read none of the hub's last \d+ bytes \(hub.maxFrameBytes 65536\)/);
  }, 60_000);

  it('a bufferLimit below one interval\'s buckets: a hub that is there gets every bucket, none dropped before it went out', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'small', bufferLimit: 10 } });
    await waitFor(() => (member.status().hub as MemberLinkStatus).connected || undefined, 20_000, 'the welcome');
    for (let i = 0; i < 50; i++) member.record('small_rt', i + 1, { k: String(i) });
    await member.flush();
    // 50 buckets in one interval's batch, past bufferLimit: sent all the same, and acknowledged.
    const s = await waitFor(() => {
      const l = member.status().hub as MemberLinkStatus;
      return l.sent >= 50 ? l : undefined;
    }, 20_000, 'the batch to be acknowledged');
    expect(s.dropped).toBe(0);
    await waitFor(() => {
      const all = hub.getMetrics({ names: ['small_rt'] }).filter((x) => !('instance' in x.tags));
      return all.length === 50 && all.every((x) => x.totalCount === 1) || undefined;
    }, 20_000, 'every bucket on the hub');
  }, 60_000);

  it('the hub resets a link whose first frame is longer than a hello can be, at its length: a peer that never says hello holds no frame of up to maxFrameBytes', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const socket = connect(path);
    socket.on('error', () => {});
    let closed = false;
    socket.once('close', () => (closed = true));
    await new Promise((resolve) => socket.once('connect', resolve));
    closers.push(async () => void socket.destroy());
    // A length within maxFrameBytes (16 MiB), then the start of it, and nothing more.
    const head = Buffer.alloc(4);
    head.writeUInt32BE(8 << 20);
    socket.write(Buffer.concat([head, Buffer.alloc(100_000, 7)]));
    await waitFor(() => closed || undefined, 20_000, 'the hub to reset the link');
    const s = hub.status().hub as { malformed: number; lastError: { message: string } | null };
    expect(s.malformed).toBe(1);
    expect(s.lastError?.message).toMatch(/a first frame of 8388608 bytes is longer than a hello can be \(4096\)/);
  }, 60_000);
});
