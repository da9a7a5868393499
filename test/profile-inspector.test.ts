/**
 * Profile captures beside other inspector sessions: a debugger attached to the service
 * through --inspect (over the inspector's WebSocket, in another process), and a
 * node:inspector Session of the service itself. In Node 20 each session has a CPU profiler
 * of its own, so CPU captures run beside theirs; the sampling heap profiler is one per
 * process, and V8 accepts a second start while doing nothing: a heap capture then is
 * refused with an error naming the other session, their sampling goes on untouched, the
 * service keeps answering and the capture slot is free again. A sampler stopped under a
 * running heap capture fails it, saying so.
 */
import { Session } from 'node:inspector';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { profilingLine } from '../dist/src/mcp/status-answer.js';
import type { Capture } from '../dist/src/profiling/schema.js';
import type { ProfilerStatus } from '../dist/src/profiling/profiler.js';
import { attachDebugger, startHotService, type Debugger, type HotService } from './profile-helpers.js';
import { monitorStarter, waitFor } from './helpers.js';

const started = monitorStarter();
const closing: (HotService | Debugger | Session)[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of closing.splice(0).reverse()) await (c instanceof Session ? c.disconnect() : c.close());
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'pw-inspector-'));
  dirs.push(d);
  return d;
}

function post<T = { profile: { samples: number[] } }>(session: Session, method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))));
}

const HEAP_TAKEN = /^the V8 sampling heap profiler is already running, started by another inspector session \(a debugger attached with --inspect, or a node:inspector Session of the service\): there is one per process/;

describe('captures beside a debugger attached through --inspect', () => {
  it('refuses a heap capture while the debugger samples the heap, leaves its sampling whole, and runs CPU captures beside its CPU profile', async () => {
    const s = await startHotService({ profiling: { dir: await tempDir() } }, ['--inspect=127.0.0.1:0']);
    closing.push(s);
    const url = await s.call<string | null>('inspectorUrl');
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\//);
    const dbg = await attachDebugger(url!);
    closing.push(dbg);

    await dbg.send('HeapProfiler.enable');
    await dbg.send('HeapProfiler.startSampling', { samplingInterval: 4096 });
    const refused = await s.call<Capture>('profile', { request: { kind: 'heap', seconds: 1 } }).catch((e: Error & { code?: string }) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error & { code: string }).code).toBe('PW_ERR_PROFILE');
    expect((refused as Error).message).toMatch(HEAP_TAKEN);

    // The service still answers, and what the debugger sampled meanwhile is its own.
    const stop = s.load('/leak?n=100');
    await new Promise((r) => setTimeout(r, 200));
    expect(await stop()).toBeGreaterThan(0);
    const theirs = await dbg.send<{ samples: number }>('HeapProfiler.stopSampling');
    expect(theirs.samples).toBeGreaterThan(0);

    const { profiling } = await s.call<{ profiling: ProfilerStatus }>('status');
    expect(profiling).toMatchObject({ busy: null, failed: 1, captures: 0 });
    expect(profiling.lastError!.message).toMatch(HEAP_TAKEN);

    // The slot is free: with the debugger's sampler stopped, a heap capture is taken.
    const heap = await s.call<Capture>('profile', { request: { kind: 'heap', seconds: 1 } });
    expect(heap).toMatchObject({ kind: 'heap', fileError: null });

    // CPU: the debugger's profile and the capture each get their samples.
    await dbg.send('Profiler.enable');
    await dbg.send('Profiler.start');
    const load = s.load('/hot?ms=5');
    const cpu = await s.call<Capture>('profile', { request: { kind: 'cpu', seconds: 1 } });
    await load();
    expect(cpu.kind).toBe('cpu');
    expect((await dbg.send<{ samples: number }>('Profiler.stop')).samples).toBeGreaterThan(0);
  }, 60_000);
});

describe("captures beside the service's own node:inspector Session", () => {
  it('refuses a heap capture while its Session samples the heap; a CPU capture runs beside its CPU profile', async () => {
    const m = await started({ profiling: { dir: await tempDir() } });
    const own = new Session();
    own.connect();
    closing.push(own);
    await post(own, 'HeapProfiler.startSampling', { samplingInterval: 4096 });
    await expect(m.profile({ kind: 'heap', seconds: 1 })).rejects.toMatchObject({ code: 'PW_ERR_PROFILE', message: expect.stringMatching(HEAP_TAKEN) });
    expect((await post(own, 'HeapProfiler.stopSampling')).profile).toBeDefined();
    expect(m.profilingStatus()).toMatchObject({ busy: null, failed: 1 });
    expect(profilingLine(m.status().profiling)).toMatch(/, failed 1 \(last: the V8 sampling heap profiler is already running, started by another inspector session/);
    expect((await m.profile({ kind: 'heap', seconds: 1 })).kind).toBe('heap');

    await post(own, 'Profiler.enable');
    await post(own, 'Profiler.start');
    expect((await m.profile({ kind: 'cpu', seconds: 1 })).kind).toBe('cpu');
    expect((await post(own, 'Profiler.stop')).profile.samples.length).toBeGreaterThan(0);
  }, 30_000);

  it('fails a heap capture whose sampler another session stopped under it, naming that, and frees the slot', async () => {
    const m = await started({ profiling: { dir: await tempDir() } });
    const own = new Session();
    own.connect();
    closing.push(own);
    const running = m.startProfile({ kind: 'heap', seconds: 2 });
    // The capture's sampler is the process's: once it runs, this session reads it, and its stop takes the samples.
    await waitFor(() => post(own, 'HeapProfiler.getSamplingProfile').then(() => true, () => false), 10_000, 'the capture sampling');
    await post(own, 'HeapProfiler.stopSampling');
    await expect(running.done).rejects.toMatchObject({
      code: 'PW_ERR_PROFILE',
      message: expect.stringMatching(/^the sampling heap profiler was stopped during the capture by another inspector session/),
    });
    expect(m.profilingStatus()).toMatchObject({ busy: null, failed: 1 });
    expect((await m.profile({ kind: 'heap', seconds: 1 })).kind).toBe('heap');
  }, 30_000);
});
