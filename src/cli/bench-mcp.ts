/**
 * Round trips and batched recording through an MCP server over stdio, measured with the SDK's
 * own client: the engine of `npm run bench:mcp` (with a bare SDK echo server as the peer) and
 * of `perfwatch bench --mcp` (perfwatch alone).
 */
import { rankOf } from '../engine/sketch.js';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

export interface BenchTarget {
  command: string;
  args: string[];
}

export interface McpBenchOptions {
  perfwatch: BenchTarget;
  /** perfwatch with its fast lane off (`mcp --no-fast-lane`): its batches are run beside the lane's. */
  ordinary?: BenchTarget;
  /** A bare echo server exposing tool `echo { text }`, the floor of a round trip. */
  echo?: BenchTarget;
  calls: number;
  rounds: number;
  batches: number;
  batchSize: number;
  /** Batch calls in flight at once in the pipelined runs (default 4). */
  inFlight?: number;
  log?: (line: string) => void;
}

export interface LatencyRow {
  name: string;
  calls: number;
  perSecond: number;
  medianMs: number;
  p99Ms: number;
}

export interface McpBenchResult {
  rows: LatencyRow[];
  echo: LatencyRow | undefined;
  batches: BatchRow[];
  table: string;
  /** Every batch run found every sample it sent in the store. */
  verified: boolean;
}

/**
 * The SDK's stdio client transport, with sends taken one at a time. Its send() waits for
 * 'drain' with a listener of its own whenever the pipe is full, and with several 600 KB
 * batches in flight more than ten waited at once: Node's MaxListenersExceededWarning, twice
 * a run. One send waiting at a time changes nothing else: the pipe writes in order anyway.
 */
export class OrderedStdioClientTransport extends StdioClientTransport {
  private tail: Promise<void> = Promise.resolve();

  override send(...args: Parameters<StdioClientTransport['send']>): Promise<void> {
    const sent = this.tail.then(() => super.send(...args));
    this.tail = sent.catch(() => {});
    return sent;
  }
}

async function connect(target: BenchTarget): Promise<Client> {
  const client = new Client({ name: 'perfwatch-bench', version: '1.0.0' });
  await client.connect(new OrderedStdioClientTransport({ command: target.command, args: target.args, stderr: 'inherit' }));
  return client;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[rankOf(q, sorted.length)]!;
}

interface Case {
  name: string;
  /** One call on this round's clients. */
  call: (pw: Client, echo: Client | undefined) => Promise<unknown>;
  /** What the name adds about the answers, from the last one (its size, say). */
  about?: (answer: unknown) => string;
  times: number[];
  busyMs: number;
  last?: unknown;
}

async function timeCalls(c: Case, pw: Client, echo: Client | undefined, n: number): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    const r = (await c.call(pw, echo)) as { isError?: boolean };
    c.times.push(performance.now() - s);
    if (r.isError) throw new Error(`${c.name}: the call failed: ${JSON.stringify(r)}`);
    c.last = r;
  }
  c.busyMs += performance.now() - t0;
}

function row(c: Case): LatencyRow {
  const sorted = Float64Array.from(c.times).sort();
  const name = c.about ? `${c.name} (${c.about(c.last)})` : c.name;
  return { name, calls: c.times.length, perSecond: (c.times.length * 1000) / c.busyMs, medianMs: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99) };
}

/** The series and the size of a get_performance_metrics answer, as measured. */
function metricsAnswer(answer: unknown): string {
  const total = (answer as { structuredContent?: { total?: number } } | undefined)?.structuredContent?.total;
  return `every series: ${total === undefined ? 'no total' : total} in the last answer, ${(Buffer.byteLength(JSON.stringify(answer)) / 1024).toFixed(1)} KB of JSON`;
}

const LATENCY_CASES: readonly Omit<Case, 'times' | 'busyMs'>[] = [
  { name: 'bare SDK echo server: echo { text }', call: (_pw, echo) => echo!.callTool({ name: 'echo', arguments: { text: 'ping' } }) },
  { name: 'perfwatch get_performance_metrics {}', call: (pw) => pw.callTool({ name: 'get_performance_metrics', arguments: {} }), about: metricsAnswer },
  { name: 'perfwatch get_performance_metrics { metric_types: [response_time] }', call: (pw) => pw.callTool({ name: 'get_performance_metrics', arguments: { metric_types: ['response_time'] } }) },
  {
    name: 'perfwatch record_performance_metric { metric_type, value, tags }',
    call: (pw) => pw.callTool({ name: 'record_performance_metric', arguments: { metric_type: 'response_time', value: 12.5, tags: { endpoint: '/bench' } } }),
  },
];

/**
 * Each round runs on a fresh pair of server processes: a process keeps the speed it started
 * with for its whole life (on this 2-vCPU machine one may answer every call ~1.5x slower than
 * the next), so one pair for the whole run would measure its luck, not the servers.
 */
export async function runMcpBench(o: McpBenchOptions): Promise<McpBenchResult> {
  const log = o.log ?? (() => {});
  const cases: Case[] = LATENCY_CASES.filter((_, i) => i > 0 || o.echo).map((c) => ({ ...c, times: [], busyMs: 0 }));
  for (let r = 0; r < o.rounds; r++) {
    log(`  round trips, round ${r + 1}/${o.rounds}: ${o.calls} calls per case…`);
    const pw = await connect(o.perfwatch);
    const echo = o.echo ? await connect(o.echo) : undefined;
    try {
      // Warm-up: the JIT of both processes, and the client's cache of output schemas.
      await pw.listTools();
      for (const c of cases) {
        const kept = { times: c.times.length, busyMs: c.busyMs };
        await timeCalls(c, pw, echo, Math.min(500, o.calls));
        c.times.length = kept.times;
        c.busyMs = kept.busyMs;
      }
      const medians: string[] = [];
      for (const c of cases) {
        const from = c.times.length;
        await timeCalls(c, pw, echo, o.calls);
        medians.push(`${quantile(Float64Array.from(c.times.slice(from)).sort(), 0.5).toFixed(3)} ms`);
      }
      log(`    medians (fresh servers): ${medians.join(', ')}`);
    } finally {
      await pw.close();
      await echo?.close();
    }
  }
  const rows = cases.map(row);
  const echoRow = o.echo ? rows[0] : undefined;

  // The lane on and off run one after the other, case by case, so that the noise of the
  // machine falls on both alike.
  const servers: { lane: Lane; target: BenchTarget }[] = [{ lane: 'on', target: o.perfwatch }, ...(o.ordinary ? [{ lane: 'off' as const, target: o.ordinary }] : [])];
  const clients = await Promise.all(servers.map((s) => connect(s.target)));
  const batches: BatchRow[] = [];
  const done = (r: BatchRow): void => {
    log(`    fast lane ${r.lane}: ${(r.perSecond / 1e6).toFixed(2)}M samples/s, ${r.verified ? 'all in the store' : 'SAMPLES MISSING'}`);
    batches.push(r);
  };
  try {
    for (const shape of BATCH_SHAPES) {
      for (const inFlight of [1, o.inFlight ?? 4]) {
        log(`  batches of ${shape.name}, ${inFlight} in flight…`);
        for (let k = 0; k < servers.length; k++) done({ ...(await batchRun(clients[k]!, shape, o.batchSize, o.batches, inFlight)), lane: servers[k]!.lane });
      }
    }
  } finally {
    for (const c of clients) await c.close();
  }
  // The server's own capacity: the same batches as lines serialised once before the run,
  // written straight to a fresh server's stdin, so no client work shares the two cores.
  for (const shape of BATCH_SHAPES) {
    log(`  server alone, ${shape.name}…`);
    for (const s of servers) done({ ...(await serverAloneRun(s.target, shape, o.batchSize, o.batches, o.inFlight ?? 4)), lane: s.lane });
  }
  return { rows, echo: echoRow, batches, table: table(rows, echoRow, batches), verified: batches.every((b) => b.verified) };
}

type Lane = 'on' | 'off';

export interface BatchRow {
  /** 'sdk': through the SDK client; 'alone': pre-serialised lines, no client work. */
  client: 'sdk' | 'alone';
  /** Whether the server's fast lane was on (see src/mcp/fast-lane/index.ts). */
  lane: Lane;
  shape: string;
  batchSize: number;
  calls: number;
  inFlight: number;
  perSecond: number;
  verified: boolean;
}

const BATCH_SHAPES = [
  { name: '{ metric_type, value }', metric: 'bench_batch_plain', sample: (i: number) => ({ metric_type: 'bench_batch_plain', value: (i % 1000) + 0.5 }) },
  { name: '{ metric_type, value, tags: { shard } }', metric: 'bench_batch_tagged', sample: (i: number) => ({ metric_type: 'bench_batch_tagged', value: (i % 1000) + 0.5, tags: { shard: String(i % 4) } }) },
] as const;

/**
 * Samples/s from the first call sent to the last answer, with `inFlight` calls outstanding
 * (a client that pipelines overlaps its own encoding with the server's work), then a check
 * that the store holds every sample sent.
 */
async function batchRun(client: Client, shape: (typeof BATCH_SHAPES)[number], size: number, calls: number, inFlight: number): Promise<BatchRow> {
  const samples = Array.from({ length: size }, (_, i) => shape.sample(i));
  const call = async (): Promise<void> => {
    const r = (await client.callTool({ name: 'record_performance_metric', arguments: { samples } })) as { isError?: boolean };
    if (r.isError) throw new Error(`batch failed: ${JSON.stringify(r)}`);
  };
  await call(); // warm-up
  const before = await batchCount(client, shape.metric);
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < calls) {
      next++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const ms = performance.now() - t0;
  const after = await batchCount(client, shape.metric);
  return { client: 'sdk', lane: 'on', shape: shape.name, batchSize: size, calls, inFlight, perSecond: (calls * size * 1000) / ms, verified: after - before === calls * size };
}

/**
 * Samples/s of a fresh server fed pre-serialised tools/call lines over a plain pipe, with
 * `inFlight` calls outstanding; then a check, through the same pipe, that every sample is in
 * the store. The client here only writes prepared bytes and reads small answers.
 */
async function serverAloneRun(target: BenchTarget, shape: (typeof BATCH_SHAPES)[number], size: number, calls: number, inFlight: number): Promise<BatchRow> {
  const child = spawn(target.command, target.args, { stdio: ['pipe', 'pipe', 'inherit'] });
  type Answer = { id?: number; result?: { isError?: boolean; structuredContent?: { metrics: { total_count: number }[] } } };
  const waiting = new Map<number, (m: Answer) => void>();
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
      const m = JSON.parse(buffered.slice(0, nl)) as Answer;
      buffered = buffered.slice(nl + 1);
      if (typeof m.id === 'number') {
        waiting.get(m.id)?.(m);
        waiting.delete(m.id);
      }
    }
  });
  let nextId = 0;
  const send = (line: string, id: number) => new Promise<Answer>((resolve) => {
    waiting.set(id, resolve);
    child.stdin.write(line);
  });
  const request = (method: string, params: unknown) => {
    const id = ++nextId;
    return send(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`, id);
  };
  try {
    await request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'perfwatch-bench', version: '1.0.0' } });
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    const samples = Array.from({ length: size }, (_, i) => shape.sample(i));
    // A fresh process: the first batches also pay for compiling the decoder.
    const warm = Math.min(20, calls);
    const first = nextId + 1;
    const lines = Array.from({ length: warm + calls }, (_, k) => `${JSON.stringify({ jsonrpc: '2.0', id: first + k, method: 'tools/call', params: { name: 'record_performance_metric', arguments: { samples } } })}\n`);
    nextId += warm + calls;
    const call = async (k: number): Promise<void> => {
      const r = await send(lines[k]!, first + k);
      if (r.result?.isError) throw new Error(`batch failed: ${JSON.stringify(r).slice(0, 300)}`);
    };
    for (let k = 0; k < warm; k++) await call(k);
    let next = warm;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next < warm + calls) await call(next++);
    }));
    const ms = performance.now() - t0;
    const stored = await request('tools/call', { name: 'get_performance_metrics', arguments: { metric_types: [shape.metric], limit: 1000 } });
    const count = samplesIn(stored.result?.structuredContent);
    return { client: 'alone', lane: 'on', shape: shape.name, batchSize: size, calls, inFlight, perSecond: (calls * size * 1000) / ms, verified: count === (warm + calls) * size };
  } finally {
    child.stdin.end();
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

/** Samples held by the series of a get_performance_metrics answer. */
function samplesIn(answer: { metrics: { total_count: number }[] } | undefined): number {
  return (answer?.metrics ?? []).reduce((a, m) => a + m.total_count, 0);
}

async function batchCount(client: Client, metric: string): Promise<number> {
  const r = (await client.callTool({ name: 'get_performance_metrics', arguments: { metric_types: [metric], limit: 1000 } })) as {
    structuredContent?: { metrics: { total_count: number }[] };
  };
  return samplesIn(r.structuredContent);
}

function table(rows: LatencyRow[], echo: LatencyRow | undefined, batches: BatchRow[]): string {
  const lines = ['| case | calls/s | median ms | p99 ms | median × echo |', '|---|---:|---:|---:|---:|'];
  for (const r of rows) {
    lines.push(`| ${r.name} | ${r.perSecond.toFixed(0)} | ${r.medianMs.toFixed(3)} | ${r.p99Ms.toFixed(3)} | ${echo ? (r.medianMs / echo.medianMs).toFixed(2) : '-'} |`);
  }
  lines.push('');
  const lanes = batches.some((b) => b.lane === 'off');
  lines.push(`| batched recording: record_performance_metric { samples } | client | calls in flight |${lanes ? ' fast lane |' : ''} M samples/s |${lanes ? ' × lane off |' : ''} checked |`);
  lines.push(`|---|---|---:|${lanes ? '---|' : ''}---:|${lanes ? '---:|' : ''}---|`);
  for (const b of batches) {
    const client = b.client === 'sdk' ? 'SDK v2 Client' : 'none (lines written ready-made)';
    const off = batches.find((x) => x.lane === 'off' && x.client === b.client && x.shape === b.shape && x.inFlight === b.inFlight);
    const ratio = lanes ? ` ${off ? (b.perSecond / off.perSecond).toFixed(2) : '-'} |` : '';
    lines.push(`| ${b.calls} × ${b.batchSize.toLocaleString('en')} × ${b.shape} | ${client} | ${b.inFlight} |${lanes ? ` ${b.lane} |` : ''} ${(b.perSecond / 1e6).toFixed(2)} |${ratio} ${b.verified ? 'every sample in the store' : 'SAMPLES MISSING'} |`);
  }
  return lines.join('\n');
}
