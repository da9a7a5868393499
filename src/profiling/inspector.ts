/**
 * Profiles of the host's main thread through node:inspector, in process. The session is
 * connected on the main thread, so the Profiler and HeapProfiler domains it drives are the
 * main thread's isolate: a CPU profile shows what the event loop runs. V8 samples on its
 * own thread and stops the main thread only briefly per sample; the calls here (start, stop)
 * are answered synchronously by the inspector, and the profile arrives parsed.
 *
 * Every failure (no inspector in this build, a session refused, a domain error) becomes a
 * ProfileError naming what failed; the session is always disconnected and the profiler
 * stopped, so a failed capture leaves nothing running.
 *
 * Other inspector sessions (a debugger attached through --inspect, or the service's own
 * node:inspector Session) are no obstacle to a CPU capture: each session has a CPU profiler of
 * its own in V8. The sampling heap profiler, though, is one per isolate, and V8 answers a
 * second HeapProfiler.startSampling with success while doing nothing, so a heap capture
 * started beside another session's would take that session's samples and its stopSampling
 * would end the other's sampling (theirs then fails with "V8 sampling heap profiler was not
 * started"). So a heap capture first asks whether the sampler already runs, and is refused
 * if it does; and a sampler stopped under it by another session fails it with that cause.
 */
import { Session } from 'node:inspector';
import { ProfileError } from './errors.js';
import type { CpuProfile } from './cpu-summary.js';
import type { HeapProfile } from './heap-summary.js';
import type { ProfileKind } from './limits.js';
import { hostRoom, noRoomForProfile, type Room } from './heap-room.js';
import { monoNow, wallNow } from '../engine/real-timers.js';

/** V8's default CPU sampling interval (µs), the one `node --cpu-prof` uses. */
export const CPU_SAMPLING_US = 1000;
/** Bytes between heap samples on average (V8's default for sampling heap profiles). */
export const HEAP_SAMPLING_BYTES = 32 * 1024;

export interface RawCapture {
  kind: ProfileKind;
  profile: CpuProfile | HeapProfile;
  /** Main-thread time spent in the inspector calls (start and stop). */
  callMs: number;
  /** When the profiler started (wallNow()). */
  startedAt: number;
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result as T)));
  });
}

/**
 * Posts `method` and answers its result within the call: an in-process session's callback
 * runs during post() (every method used here, on Node 20 and 22). The capture's start and
 * stop are made so, not awaited: an await resumes only after the caller's task has run to its
 * end, so a capture asked for before a synchronous stretch of the host's (profile(), then a
 * busy loop in the same task) started V8's profiler after it, sampled none of it, and billed
 * it to the monitor as the inspector calls' own time (154% of a core over its budget).
 */
function postNow<T>(session: Session, method: string, params?: object): T {
  let answer: { error: Error | null; result: unknown } | undefined;
  session.post(method, params ?? {}, (error, result) => (answer = { error, result }));
  if (answer === undefined) throw new Error(`no answer to ${method} within the call`);
  if (answer.error) throw answer.error;
  return answer.result as T;
}

const DOMAIN: Record<ProfileKind, { enable: string; start: [string, object]; stop: string; disable: string }> = {
  cpu: { enable: 'Profiler.enable', start: ['Profiler.start', {}], stop: 'Profiler.stop', disable: 'Profiler.disable' },
  heap: { enable: 'HeapProfiler.enable', start: ['HeapProfiler.startSampling', { samplingInterval: HEAP_SAMPLING_BYTES }], stop: 'HeapProfiler.stopSampling', disable: 'HeapProfiler.disable' },
};

/** What V8 answers for a sampling heap profiler that is not running. */
const HEAP_NOT_STARTED = /sampling heap profiler was not started/i;

const OTHER_SESSION = 'another inspector session (a debugger attached with --inspect, or a node:inspector Session of the service)';

/** Refuses a heap capture while another session's sampling heap profiler runs: stopping ours would stop theirs. */
function heapSamplerFree(call: (method: string) => unknown): void {
  try {
    call('HeapProfiler.getSamplingProfile');
  } catch (error) {
    if (HEAP_NOT_STARTED.test((error as Error).message)) return;
    throw error;
  }
  throw new ProfileError(`the V8 sampling heap profiler is already running, started by ${OTHER_SESSION}: there is one per process, and ending this capture would end theirs; stop theirs first, or capture kind 'cpu' (which runs beside it)`);
}

/**
 * Why the inspector refused a session. Under Node's permission model it refuses every one
 * (ERR_ACCESS_DENIED), for the life of the process: Node's bare "Access to this API has been
 * restricted" named neither the model nor what would lift it, and a Node without
 * --allow-inspector has nothing that does but running without the model.
 */
function sessionRefused(error: Error): string {
  if ((error as { code?: unknown }).code !== 'ERR_ACCESS_DENIED') return `the inspector refused a session: ${error.message}`;
  const lift = process.allowedNodeEnvironmentFlags.has('--allow-inspector') ? 'run node with --allow-inspector' : `this Node (${process.version}) has no flag that allows it there: run node without the permission model to capture profiles`;
  return `the inspector refused a session (ERR_ACCESS_DENIED: ${error.message}): this process runs under Node's permission model, which refuses the inspector that profiles are captured with; ${lift}`;
}

/**
 * Runs one capture: starts the profiler before it returns its promise (the caller's next
 * statement is sampled), waits until `until` settles (the capture's length, or an early
 * stop), stops it and answers the profile.
 */
export async function captureProfile(kind: ProfileKind, until: Promise<void>, seconds = 0, room: () => Room = hostRoom): Promise<RawCapture> {
  const d = DOMAIN[kind];
  // Its profile arrives on this thread whole: refused where the host has no room for it (heap-room.ts).
  const noRoom = noRoomForProfile(kind, seconds, room(), 'start');
  if (noRoom !== undefined) throw new ProfileError(noRoom);
  const session = new Session();
  let callMs = 0;
  // Synchronous (postNow): the profiler starts before captureProfile() returns its promise.
  const timed = <T>(method: string, params?: object): T => {
    const t0 = monoNow();
    try {
      return postNow<T>(session, method, params);
    } finally {
      callMs += monoNow() - t0;
    }
  };
  try {
    session.connect();
  } catch (error) {
    throw new ProfileError(sessionRefused(error as Error));
  }
  let started = false;
  try {
    timed(d.enable);
    if (kind === 'heap') heapSamplerFree(timed);
    if (kind === 'cpu') timed('Profiler.setSamplingInterval', { interval: CPU_SAMPLING_US });
    timed(d.start[0], d.start[1]);
    started = true;
    const startedAt = wallNow();
    await until;
    const tooBig = noRoomForProfile(kind, (wallNow() - startedAt) / 1000, room(), 'end');
    if (tooBig !== undefined) {
      // Disabled, not stopped: the profiler ends without building the profile (finally below).
      started = false;
      throw new ProfileError(tooBig);
    }
    const { profile } = timed<{ profile: CpuProfile | HeapProfile }>(d.stop);
    started = false;
    return { kind, profile, callMs, startedAt };
  } catch (error) {
    if (error instanceof ProfileError) throw error;
    const message = (error as Error).message;
    if (started && kind === 'heap' && HEAP_NOT_STARTED.test(message)) {
      started = false;
      throw new ProfileError(`the sampling heap profiler was stopped during the capture by ${OTHER_SESSION}: its samples went to that session; capture again once it is done`);
    }
    throw new ProfileError(`the inspector failed the ${kind} capture: ${message}`);
  } finally {
    if (started) await post(session, d.stop).catch(() => {});
    await post(session, d.disable).catch(() => {});
    session.disconnect();
  }
}
