import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach } from 'vitest';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { FrameReader, decodeHubMessage, decodeMemberMessage, frame } from '../dist/src/hub/wire.js';
import { encodeSketch } from '../dist/src/storage/sketch-codec.js';
import { waitFor } from './helpers.js';

const NODE = new URL('./fixtures/hub-node.mjs', import.meta.url).pathname;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits until `at` ms into the next interval of `intervalMs`: a burst then is drained into that one bucket. */
export const intoNextInterval = (at: number, intervalMs = 1000) => sleep(intervalMs - (Date.now() % intervalMs) + at);

/** A process of test/fixtures/hub-node.mjs, asked one JSON line at a time. */
export class HubNode {
  readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiters: (() => void)[] = [];
  private exited = false;

  constructor(args: string[], env?: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [NODE, ...args], { stdio: 'pipe', ...(env ? { env: { ...process.env, ...env } } : {}) });
    createInterface({ input: this.child.stdout }).on('line', (l) => {
      this.lines.push(l);
      for (const w of this.waiters.splice(0)) w();
    });
    this.child.stderr.resume();
    this.child.once('exit', () => {
      this.exited = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** The next line it says (a hang guard, not a timing assert). */
  async next(): Promise<any> {
    const deadline = Date.now() + 30_000;
    while (this.lines.length === 0) {
      if (this.exited) throw new Error('the hub test process exited');
      if (Date.now() > deadline) throw new Error('no answer from the hub test process');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 1000).unref();
      });
    }
    return JSON.parse(this.lines.shift()!);
  }

  async ask(cmd: Record<string, unknown>): Promise<any> {
    this.child.stdin.write(`${JSON.stringify(cmd)}\n`);
    return this.next();
  }

  kill(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGKILL');
    });
  }
}

/** Starts hub-node processes, each killed after its test, and gives each test its own socket directory. */
export function hubNodes(): {
  start(...args: string[]): Promise<HubNode>;
  spawn(...args: string[]): HubNode;
  /** As start, in an environment of its own (TMPDIR, ...). */
  startIn(env: NodeJS.ProcessEnv, ...args: string[]): Promise<HubNode>;
  socketPath(): string;
} {
  const nodes: HubNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.kill()));
  });
  const spawnIn = (env: NodeJS.ProcessEnv | undefined, args: string[]): HubNode => {
    const n = new HubNode(args, env);
    nodes.push(n);
    return n;
  };
  return {
    spawn: (...args) => spawnIn(undefined, args),
    start: (...args) => started(spawnIn(undefined, args)),
    startIn: (env, ...args) => started(spawnIn(env, args)),
    socketPath: () => join(mkdtempSync(join(tmpdir(), 'pw-hub-')), 'hub.sock'),
  };
}

async function started(n: HubNode): Promise<HubNode> {
  const first = await n.next();
  if (!first.ready) throw new Error(`hub node did not start: ${JSON.stringify(first)}`);
  return n;
}

/** A member spoken by hand on a raw socket: frames out, the hub's answers in order. */
export async function rawMember(path: string) {
  const socket = connect(path);
  await new Promise((resolve) => socket.once('connect', resolve));
  // A hub killed with bytes of ours unread resets the link: the test sees that in the answers
  // it waits for, never as an uncaught ECONNRESET in the test process.
  socket.on('error', () => {});
  const reader = new FrameReader(1 << 20);
  const answers: any[] = [];
  socket.on('data', (c: Buffer) => answers.push(...reader.push(c).map((f: Uint8Array) => decodeHubMessage(f))));
  let closed = false;
  socket.once('close', () => (closed = true));
  return {
    send: (m: unknown) => socket.write(frame(m as never)),
    /** Resolves once the hub closed the link (or the test did). */
    closed: async () => waitFor(() => closed, 20_000, 'the link to close'),
    answer: async (n: number, ms = 10_000) => waitFor(() => answers.length >= n && answers[n - 1], ms, `answer ${n}`),
    /** The answers so far. */
    heard: () => answers.slice(),
    close: () => socket.destroy(),
  };
}


/**
 * A hub by hand on `path`: a socket server that speaks frames, for a real member to connect
 * to. It keeps what its one member says, decoded, and sends what the test tells it.
 */
export async function rawHub(path: string) {
  const said: any[] = [];
  let peer: Socket | undefined;
  const server = createServer((socket) => {
    peer = socket;
    const reader = new FrameReader(1 << 24);
    socket.on('data', (c: Buffer) => said.push(...reader.push(c).map((f: Uint8Array) => decodeMemberMessage(f))));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    said,
    /** The first message at or after index `from` that `test` takes. */
    heard: async (test: (m: any) => boolean, what: string, from = 0) => waitFor(() => said.slice(from).find(test), 20_000, what),
    send: (m: unknown) => peer!.write(frame(m as never)),
    close: async () => {
      peer?.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * A hand-made member's batch of `rows` buckets over `sids` series, each of 64 samples (1 to 64,
 * in 64 bins of its sketch), of the second before `closedTo`; `spread`: row i of the second
 * `rows - i` seconds before `closedTo` instead (one series: a bucket a second, as a member sends).
 */
export function bigBatch(seq: number, round: number, rows: number, sids: number, closedTo: number, defs: unknown[] = [], spread = false) {
  const acc = new SketchAccumulator();
  for (let k = 1; k <= 64; k++) acc.add(k);
  const scratch = new Int32Array(acc.encodedLengthBound());
  acc.encodeInto(scratch, 0);
  const sketch = encodeSketch(scratch, 0)!;
  const sketches = new Uint8Array(rows * sketch.length);
  for (let i = 0; i < rows; i++) sketches.set(sketch, i * sketch.length);
  return {
    t: 'batch',
    seq,
    round,
    closedTo,
    defs,
    sids: new Uint8Array(new Int32Array(rows).map((_, i) => i % sids).buffer),
    starts: new Uint8Array(new Float64Array(rows).map((_, i) => closedTo - 1000 * (spread ? rows - i : 1)).buffer),
    stats: new Uint8Array(new Float64Array(5 * rows).map((_, i) => [64, 2080, 1, 64, 64][i % 5]!).buffer),
    sketchEnd: new Uint8Array(new Int32Array(rows).map((_, i) => (i + 1) * sketch.length).buffer),
    sketches,
  };
}

/**
 * A hand-made batch: rows of [sid, count, sum, min, max, last, start?] (start by default the
 * second before closedTo, by default now's), `sketch` (encoded) the first row's, as columns.
 */
export function statsBatch(seq: number, round: number, rows: number[][], defs: unknown[] = [], sketch: Uint8Array = new Uint8Array(0), closedTo = Math.floor(Date.now() / 1000) * 1000) {
  return {
    t: 'batch',
    seq,
    round,
    closedTo,
    defs,
    sids: new Uint8Array(Int32Array.from(rows.map((r) => r[0]!)).buffer),
    starts: new Uint8Array(Float64Array.from(rows.map((r) => r[6] ?? closedTo - 1000)).buffer),
    stats: new Uint8Array(Float64Array.from(rows.flatMap((r) => r.slice(1, 6))).buffer),
    sketchEnd: new Uint8Array(Int32Array.from(rows.map(() => sketch.length)).buffer),
    sketches: sketch,
  };
}

/** A hand-made batch: rows of [sid, count, sum, start?] (min 1, max and last the sum), no sketches (statsBatch). */
export function rowsBatch(seq: number, round: number, rows: [number, number, number, number?][], defs: unknown[] = [], closedTo = Math.floor(Date.now() / 1000) * 1000) {
  return statsBatch(seq, round, rows.map(([sid, c, s, start]) => [sid, c, s, 1, s, s, ...(start === undefined ? [] : [start])]), defs, new Uint8Array(0), closedTo);
}
