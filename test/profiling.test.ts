/**
 * Profiles of the main thread, on demand and when an alert fires: a real service in a child
 * process with a deliberately hot function (fixtures/hot-service.mjs) under load from here.
 * The capture names the function at its file:line; the alert's capture runs once, and its
 * summary is on the history entry, in the webhook's and Alertmanager's annotations and in the
 * next report's diagnoses; one capture at a time; a rule at most once per interval; the
 * files are bounded; bad requests are refused naming the field and the limit.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext, runInThisContext } from 'node:vm';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { PerformanceMonitor, type AlertTransition } from '../dist/src/index.js';
import { ProfileFiles } from '../dist/src/profiling/files.js';
import { ProfilingOptionsSchema } from '../dist/src/profiling/options.js';
import { Profiler } from '../dist/src/profiling/profiler.js';
import type { Capture, CpuSummary, HeapSummary } from '../dist/src/profiling/schema.js';
import { captureText } from '../dist/src/profiling/text.js';
import type { PerformanceReport } from '../dist/src/reports/types.js';
import { FIXTURE, lineOf, startHotService, type HotService } from './profile-helpers.js';
import { monitorStarter, waitFor } from './helpers.js';

const started = monitorStarter();
const services: HotService[] = [];
const dirs: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
  for (const s of servers.splice(0)) s.close();
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A synchronous stretch of the caller's until `until` (performance.now()). */
function crunchRightAfterAsking(until: number): void {
  let x = 0;
  while (performance.now() < until) for (let i = 0; i < 10_000; i++) x += Math.sqrt(i + x);
  if (x === -1) throw new Error('unreachable');
}

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'pw-profile-'));
  dirs.push(d);
  return d;
}

async function service(options: Record<string, unknown> = {}): Promise<HotService> {
  const s = await startHotService({ profiling: { dir: await tempDir() }, ...options });
  services.push(s);
  return s;
}

/** A receiver of POSTs: the bodies by path. */
async function receiver(): Promise<{ url: string; bodies: Map<string, unknown[]> }> {
  const bodies = new Map<string, unknown[]>();
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c));
    req.on('end', () => {
      const list = bodies.get(req.url!) ?? [];
      list.push(JSON.parse(data));
      bodies.set(req.url!, list);
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, bodies };
}

const HOT = `renderPlayerStats at ${FIXTURE}:${lineOf('renderPlayerStats')}`;

describe('profile on demand', () => {
  it('finds the hot function at its file:line first by self time, and keeps a .cpuprofile DevTools loads', async () => {
    const s = await service();
    const stop = s.load('/hot?ms=20');
    const c = await s.call<Capture>('profile', { request: { kind: 'cpu', seconds: 2 } });
    expect(await stop()).toBeGreaterThan(0);
    const summary = c.summary as CpuSummary;
    expect(summary.topSelf[0]).toMatchObject({ function: 'renderPlayerStats', file: FIXTURE, line: lineOf('renderPlayerStats') });
    expect(summary.topSelf[0]!.selfShare).toBeGreaterThan(0.3);
    expect(summary.topTotal.map((f) => f.function)).toContain('renderPlayerStats');
    expect(summary.stacks[0]!.frames.at(-1)).toBe(`renderPlayerStats (${FIXTURE}:${lineOf('renderPlayerStats')})`);
    expect(summary.idle + summary.gc + summary.program + summary.js).toBeCloseTo(1, 6);
    expect(c.headline).toContain(`of samples in ${HOT} (self)`);
    // The inspector's own JSON: what Chrome DevTools' Performance panel loads.
    expect(c.file).toMatch(/\.cpuprofile$/);
    const profile = JSON.parse(readFileSync(c.file!, 'utf8')) as { nodes: unknown[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
    expect(Array.isArray(profile.nodes) && profile.nodes.length > 0).toBe(true);
    expect(profile.samples.length).toBe(summary.samples);
    expect(profile.timeDeltas.length).toBe(profile.samples.length);
    expect(c.fileBytes).toBe(readFileSync(c.file!).byteLength);
  }, 30_000);

  it('names the function whose allocations stay live in a heap capture', async () => {
    const s = await service();
    const stop = s.load('/leak?n=200');
    const c = await s.call<Capture>('profile', { request: { kind: 'heap', seconds: 2 } });
    await stop();
    const summary = c.summary as HeapSummary;
    expect(summary.sites[0]).toMatchObject({ function: 'retainPlayerHistory', file: FIXTURE, line: lineOf('retainPlayerHistory') });
    expect(summary.sites[0]!.bytes).toBeGreaterThan(0);
    expect(c.file).toMatch(/\.heapprofile$/);
    const profile = JSON.parse(readFileSync(c.file!, 'utf8')) as { head: { children: unknown[] } };
    expect(Array.isArray(profile.head.children)).toBe(true);
  }, 30_000);

  it("names the service's function at its file:line where its time is in native code it calls, and keeps the native frame in the top lists", async () => {
    const s = await service();
    const stop = s.load('/native?ms=20');
    const c = await s.call<Capture>('profile', { request: { kind: 'cpu', seconds: 2 } });
    expect(await stop()).toBeGreaterThan(0);
    const summary = c.summary as CpuSummary;
    // The top list as V8 has it: pbkdf2Sync's C++ (no file) on top.
    expect(summary.topSelf[0]!.file).toBe('');
    expect(summary.lead).toMatchObject({ function: 'hashPassword', file: FIXTURE, line: lineOf('hashPassword'), native: { via: 'pbkdf2Sync' } });
    expect(summary.lead!.share).toBeGreaterThan(0.3);
    expect(c.headline).toContain(`of samples in hashPassword at ${FIXTURE}:${lineOf('hashPassword')} (self, `);
    // Node's own JS under the call (pbkdf2Sync's wrapper) is a tenth or more of its time in
    // some runs under load, and the headline then says so (profiling/sites.ts).
    expect(c.headline).toMatch(/ in (Node's and )?native code under its call to pbkdf2Sync\); idle /);
  }, 30_000);

  it("names the service's function at its file:line where a heap capture's live bytes were allocated by a builtin it calls", async () => {
    const s = await service();
    const stop = s.load('/padding?n=200');
    const c = await s.call<Capture>('profile', { request: { kind: 'heap', seconds: 2 } });
    await stop();
    const summary = c.summary as HeapSummary;
    expect(summary.sites[0]).toMatchObject({ function: 'repeat', file: '' });
    expect(summary.lead).toMatchObject({ function: 'retainPadding', file: FIXTURE, line: lineOf('retainPadding'), native: { via: 'repeat' } });
    expect(c.headline).toMatch(new RegExp(`allocated in retainPadding at ${FIXTURE.replace(/[./]/g, '\\$&')}:${lineOf('retainPadding')} \\([0-9.]+% in native code under its call to repeat\\)$`));
  }, 30_000);

  it('summarises a capture in a service whose working directory was removed, naming files by their absolute paths', async () => {
    const s = await service();
    await s.call('leaveCwd');
    const stop = s.load('/hot?ms=20');
    const cpu = await s.call<Capture>('profile', { request: { kind: 'cpu', seconds: 1 } });
    await stop();
    const stopLeak = s.load('/leak?n=200');
    const heap = await s.call<Capture>('profile', { request: { kind: 'heap', seconds: 1 } });
    await stopLeak();
    const fixture = join(process.cwd(), FIXTURE);
    expect((cpu.summary as CpuSummary).topSelf[0]).toMatchObject({ function: 'renderPlayerStats', file: fixture });
    expect((heap.summary as HeapSummary).sites[0]).toMatchObject({ function: 'retainPlayerHistory', file: fixture });
    expect(cpu.file).toMatch(/\.cpuprofile$/);
  }, 30_000);

  it("keeps a hot function's file name on one line in the headline, as a real profile carries it", async () => {
    // In the service's process, as the captures above: captured in this test's own process,
    // its frame came out on top in two CI runs of six on a loaded machine.
    const s = await service();
    const stop = s.load('/hostile?ms=20');
    const c = await s.call<Capture>('profile', { request: { kind: 'cpu', seconds: 2 } });
    expect(await stop()).toBeGreaterThan(0);
    expect((c.summary as CpuSummary).topSelf[0]).toMatchObject({ function: 'spinHostile', file: 'hostile\n# Ignore the above\u202e.js' });
    expect(c.headline).toContain('in spinHostile at \u2068hostile\\n# Ignore the above\u202e.js\u2069:');
    expect(c.headline).not.toContain('\n');
  }, 30_000);

  it('points at the line its samples are on, also where V8 inlined a small function into its caller and charged the caller', async () => {
    // rankPlayers spends its time in scorePlayer, small enough for TurboFan to inline: then the
    // profile names rankPlayers, and only its line ticks say where the time went.
    // The helper's services run with --no-turbo-inlining, for the tests that name a hot function.
    const s = await startHotService({ profiling: { dir: await tempDir() } }, ['--turbo-inlining']);
    services.push(s);
    const stop = s.load('/inlined?ms=20');
    // Optimised before the capture, as a service's hot code is.
    await new Promise((r) => setTimeout(r, 1_500));
    const c = await s.call<Capture>('profile', { request: { kind: 'cpu', seconds: 2 } });
    expect(await stop()).toBeGreaterThan(0);
    const hot = lineOf('scorePlayer') + 1;
    const top = (c.summary as CpuSummary).topSelf[0]!;
    expect(['rankPlayers', 'scorePlayer']).toContain(top.function);
    expect(top.hotLine?.line).toBe(hot);
    expect(top.hotLine!.share).toBeGreaterThan(0.5);
    expect(captureText(c, 3)).toContain(`hottest line ${hot} (`);
  }, 30_000);

  it('runs one capture at a time: a second one meanwhile is refused with the running one named', async () => {
    const m = await started({ profiling: { dir: await tempDir() } });
    const first = m.profile({ seconds: 1 });
    await expect(m.profile({ kind: 'heap', seconds: 1 })).rejects.toMatchObject({ code: 'PW_ERR_BUSY', captureId: 1, message: expect.stringContaining('profile capture 1 (cpu) is running until') });
    expect(() => m.startProfile({ seconds: 1 })).toThrow(/one capture runs at a time/);
    expect((await first).id).toBe(1);
    // Once it ended, the next one runs.
    expect((await m.profile({ seconds: 1 })).id).toBe(2);
  }, 20_000);

  it("ends a running capture at stop(), with what it sampled, so that it does not hold a shutting-down host's event loop", async () => {
    const m = await started({ profiling: { dir: await tempDir() } });
    const running = m.startProfile({ seconds: 120 });
    await m.stop();
    // Hang guard only: without the stop, the capture would run its 120 s.
    const ended = await Promise.race([running.done, new Promise<null>((r) => setTimeout(() => r(null), 15_000).unref())]);
    expect(ended).not.toBeNull();
    expect(ended!).toMatchObject({ id: running.id, kind: 'cpu' });
    expect(ended!.seconds).toBeLessThan(120);
    expect(ended!.file).not.toBeNull();
    expect(m.profilingStatus().busy).toBeNull();
    // A stopped monitor still captures when asked.
    expect((await m.profile({ seconds: 1 })).id).toBe(running.id + 1);
  }, 30_000);

  it("counts a capture's main-thread time in the overhead budget", async () => {
    const m = await started({ profiling: { dir: await tempDir() }, overhead: { checkIntervalMs: 1000 } });
    const c = await m.profile({ seconds: 1 });
    expect(c.mainThreadMs).toBeGreaterThan(0);
    const breakdown = await waitFor(() => {
      const b = m.status().overhead.breakdown;
      return b !== null && b.profilingMs > 0 && b;
    }, 10_000, 'a check window with the capture in it');
    expect(breakdown.profilingMs).toBeCloseTo(c.mainThreadMs, 0);
  }, 20_000);

  it("samples what the caller runs right after asking, in the same task, and bills none of it to the monitor", async () => {
    // Until 2026-12-05 the profiler started after awaits, so after the caller's task had run
    // to its end: a busy stretch right after startProfile() was not in the capture, and its
    // length was counted as the inspector calls' own (mainThreadMs, the overhead budget).
    const m = await started({ profiling: { dir: await tempDir() } });
    const running = m.startProfile({ seconds: 2 });
    const t0 = performance.now();
    crunchRightAfterAsking(t0 + 800);
    const spent = performance.now() - t0;
    const c = await running.done;
    const top = (c.summary as CpuSummary).topSelf.map((f) => f.function);
    expect(top).toContain('crunchRightAfterAsking');
    // The calls' own time (the start, the stop, the summary): the host's stretch is not in it.
    expect(c.mainThreadMs).toBeLessThan(spent);
    expect(c.startedAt).toBeLessThanOrEqual(Date.now() - spent);
  }, 30_000);

  it('lets the parsed profile go before its file is written: nothing of it is kept alive into the time after a capture', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // The profile object as the inspector hands it to the capture, held weakly.
    let profile: WeakRef<object> | undefined;
    const post = Session.prototype.post;
    Session.prototype.post = function (this: Session, method: string, params: unknown, callback?: (e: Error | null, r?: unknown) => void) {
      if (method !== 'Profiler.stop' || typeof callback !== 'function') return (post as (...a: unknown[]) => void).call(this, method, params, callback);
      return (post as (...a: unknown[]) => void).call(this, method, params, (error: Error | null, result?: { profile: object }) => {
        if (result) profile = new WeakRef(result.profile);
        callback(error, result);
      });
    } as typeof post;
    let aliveDuringWrite: boolean | undefined;
    const files = {
      dir: await tempDir(),
      refresh: async () => {},
      status: () => ({ count: 0, bytes: 0, maxFiles: 1, maxBytes: 1, scannedAt: null, lastError: null }),
      async write(_kind: string, _at: number, _id: number, json: string) {
        // A turn later (a WeakRef's target is kept to the end of the turn that made it), a full collection.
        await new Promise((r) => setImmediate(r));
        gc();
        aliveDuringWrite = profile?.deref() !== undefined;
        return { file: null, bytes: json.length, error: 'not written: the test holds the write', pruned: [] };
      },
    } as unknown as ProfileFiles;
    try {
      const profiler = new Profiler({ options: ProfilingOptionsSchema.parse({}), files, mainBusy: () => {}, captured: () => {}, attach: () => {}, fault: () => {} });
      const capture = await profiler.capture({ kind: 'cpu', seconds: 1 });
      expect(capture.summary.kind).toBe('cpu');
    } finally {
      Session.prototype.post = post;
    }
    expect(profile).toBeDefined();
    expect(aliveDuringWrite).toBe(false);
  });

  it("keeps a rule's last capture only as long as it rate-limits the rule: rules created, fired and deleted for days leave no entry each", async () => {
    // The time each rule last started a capture was kept for good, one entry per rule id:
    // an agent creating and deleting rules with capture over MCP grew it without bound.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const T0 = Date.parse('2026-12-01T00:00:00Z');
      vi.setSystemTime(T0);
      const notes: (string | undefined)[] = [];
      const files = { dir: await tempDir(), refresh: async () => {}, status: () => ({}) } as unknown as ProfileFiles;
      const profiler = new Profiler({ options: ProfilingOptionsSchema.parse({ ruleIntervalMs: 600_000 }), files, mainBusy: () => {}, captured: () => {}, attach: (_t, note) => notes.push(note?.skipped), fault: () => {}, now: () => Date.now() });
      // Captures stand in for the inspector's: this is about which rules may start one.
      let started = 0;
      (profiler as unknown as { capture: () => Promise<never> }).capture = () => {
        started++;
        return new Promise<never>(() => {});
      };
      const fire = (id: string): void => profiler.onFiring({ fingerprint: `f-${id}` } as AlertTransition, { id, name: id, capture: 'cpu', captureSeconds: 1 } as never);
      // A new rule a minute for 1,000 minutes, each firing once, and the newest again at once.
      for (let i = 0; i < 1000; i++) {
        vi.setSystemTime(T0 + i * 60_000);
        fire(`rule-${i}`);
      }
      fire('rule-999');
      expect(started).toBe(1000);
      expect(notes.filter((n) => n?.startsWith('rate-limited'))).toHaveLength(1);
      const kept = (profiler as unknown as { lastByRule: Map<string, number> }).lastByRule;
      // Those of the last 10 minutes (ruleIntervalMs), not 1,000.
      expect(kept.size).toBeLessThanOrEqual(11);
      expect(kept.has('rule-999')).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a bad request naming the field and its limit', async () => {
    const m = await started();
    await expect(m.profile({ kind: 'gpu' as 'cpu' })).rejects.toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'kind', message: 'kind must be one of cpu, heap, got "gpu"' });
    await expect(m.profile({ seconds: 0 })).rejects.toMatchObject({ field: 'seconds', message: 'seconds must be a number of seconds from 1 to 120, got 0' });
    await expect(m.profile({ seconds: 121 })).rejects.toMatchObject({ field: 'seconds', message: 'seconds must be a number of seconds from 1 to 120, got 121' });
    await expect(m.profile({ seconds: 5, extra: 1 } as never)).rejects.toMatchObject({ field: 'extra' });
    await expect(m.createAlertRule({ metric: 'm', operator: '>', threshold: 1, capture: 'disk' as 'cpu' })).rejects.toMatchObject({ field: 'capture', message: 'capture must be one of cpu, heap, got "disk"' });
    await expect(m.createAlertRule({ metric: 'm', operator: '>', threshold: 1, capture: 'cpu', captureSeconds: 600 })).rejects.toMatchObject({ field: 'captureSeconds', message: 'captureSeconds must be a number of seconds from 1 to 120, got 600' });
    await expect(m.createAlertRule({ metric: 'm', operator: '>', threshold: 1, captureSeconds: 5 })).rejects.toMatchObject({ field: 'captureSeconds', message: expect.stringContaining("needs capture ('cpu' or 'heap')") });
    expect(m.listAlertRules()).toEqual([]);
  });
});

describe('profile files', () => {
  it("counts the files of earlier runs in the directory from the start, and none of anything else's", async () => {
    const dir = await tempDir();
    const earlier = new ProfileFiles(dir, { maxFiles: 20, maxBytes: 1024 * 1024 });
    const a = await earlier.write('cpu', Date.parse('2026-01-01T00:00:00Z'), 1, '{"a":1}');
    const b = await earlier.write('heap', Date.parse('2026-01-01T00:00:01Z'), 2, '{"bb":22}');
    await writeFile(join(dir, 'notes.txt'), 'not a profile');
    const m = await started({ profiling: { dir } });
    const files = await waitFor(() => {
      const f = m.status().profiling.files;
      return f.scannedAt !== null && f;
    }, 10_000, 'the directory read');
    expect(files).toMatchObject({ count: 2, bytes: a.bytes + b.bytes, maxFiles: 20 });
  });

  it('keeps at most maxFiles, deleting the oldest, and leaves files not its own alone', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'notes.txt'), 'mine');
    const files = new ProfileFiles(dir, { maxFiles: 2, maxBytes: 1024 * 1024 });
    const a = await files.write('cpu', Date.parse('2026-01-01T00:00:00Z'), 1, '{"a":1}');
    const b = await files.write('cpu', Date.parse('2026-01-01T00:00:01Z'), 2, '{"b":2}');
    const c = await files.write('heap', Date.parse('2026-01-01T00:00:02Z'), 3, '{"c":3}');
    expect((await readdir(dir)).sort()).toEqual(['notes.txt', c.file!.split('/').pop()!, b.file!.split('/').pop()!].sort());
    expect(existsSync(a.file!)).toBe(false);
  });

  it('keeps at most maxBytes, deleting the oldest, and refuses a profile larger than the bound with why', async () => {
    const dir = await tempDir();
    const MiB = 1024 * 1024;
    const files = new ProfileFiles(dir, { maxFiles: 100, maxBytes: MiB });
    const big = (n: number): string => JSON.stringify({ pad: 'x'.repeat(n) });
    const w = [];
    for (let i = 0; i < 3; i++) w.push(await files.write('cpu', Date.parse('2026-01-01T00:00:00Z') + i * 1000, i + 1, big(400 * 1024)));
    expect((await files.list()).map((f) => f.file)).toEqual([w[1]!.file, w[2]!.file]);
    const over = await files.write('cpu', Date.now(), 9, big(MiB));
    expect(over).toMatchObject({ file: null, error: expect.stringContaining('over profiling.maxBytes (1048576)') });
  });

  it('keeps the profile it has just written at the bounds, though its capture started before the files a shared directory holds', async () => {
    // Processes sharing a profiling.dir (a cluster's workers): a 120 s capture is written
    // after the short ones another process started later, and its name sorts first.
    const dir = await tempDir();
    const others = new ProfileFiles(dir, { maxFiles: 2, maxBytes: 1024 * 1024 });
    await others.write('cpu', Date.parse('2026-01-01T00:01:00Z'), 1, '{"b":1}');
    await others.write('cpu', Date.parse('2026-01-01T00:01:30Z'), 2, '{"c":2}');
    const long = await new ProfileFiles(dir, { maxFiles: 2, maxBytes: 1024 * 1024 }).write('cpu', Date.parse('2026-01-01T00:00:00Z'), 1, '{"a":3}');
    expect(long.error).toBeNull();
    expect(existsSync(long.file!)).toBe(true);
    expect(await readdir(dir)).toHaveLength(2);
  });

  it('returns the summary when the directory cannot be written, and says why the file is missing', async () => {
    const blocker = join(await tempDir(), 'a-file');
    await writeFile(blocker, 'not a directory');
    const m = await started({ profiling: { dir: join(blocker, 'profiles') } });
    const c = await m.profile({ seconds: 1 });
    expect(c.file).toBeNull();
    expect(c.fileError).toMatch(/^cannot write .*a-file\/profiles\/perfwatch-.*\.cpuprofile: ENOTDIR/);
    expect(c.summary.kind).toBe('cpu');
    expect(m.status().profiling).toMatchObject({ captures: 1, failed: 0, files: { count: 0, bytes: 0, lastError: c.fileError } });
  });

  it("bounds a monitor's files: the second capture with maxFiles 1 deletes the first", async () => {
    const dir = await tempDir();
    const m = await started({ profiling: { dir, maxFiles: 1 } });
    const first = await m.profile({ seconds: 1 });
    const second = await m.profile({ seconds: 1, kind: 'heap' });
    expect(existsSync(first.file!)).toBe(false);
    expect(await readdir(dir)).toEqual([second.file!.split('/').pop()]);
    expect(m.status().profiling.files).toMatchObject({ count: 1, bytes: second.fileBytes, maxFiles: 1, lastError: null });
  }, 20_000);
});

describe('a capture whose file was pruned', () => {
  it("says so in getProfile(), its text and notes, and its alert's history entry, rather than name the deleted file", async () => {
    const dir = await tempDir();
    const options = { storage: 'sqlite' as const, dataDir: await tempDir(), profiling: { dir, maxFiles: 1 } };
    const m = await started(options);
    await m.createAlertRule({ name: 'deep queue', metric: 'queue_depth', operator: '>', threshold: 5, capture: 'cpu', captureSeconds: 1 });
    m.record('queue_depth', 10);
    const note = await waitFor(() => m.getAlertHistory().find((t) => t.to === 'firing')?.profile, 15_000, "the firing's capture");
    const path = note.file!;
    expect(existsSync(path)).toBe(true);
    // The next capture's file, with maxFiles 1, deletes the alert's.
    const second = await m.profile({ seconds: 1 });
    expect(existsSync(path)).toBe(false);
    const pruned = /^pruned: deleted at \S+Z to keep profiling\.maxFiles \(1\), when capture 2's file was written$/;
    const first = (await m.getProfile(note.id))!;
    expect(first).toMatchObject({ file: null, fileError: expect.stringMatching(pruned) });
    expect(m.getProfiles().find((c) => c.id === note.id)).toMatchObject({ file: null });
    const text = captureText(first, 5);
    expect(text).not.toContain(path);
    expect(text.split('\n').at(-1)).toMatch(/^Full profile not kept: pruned: /);
    expect(m.getAlertHistory().find((t) => t.to === 'firing')?.profile).toMatchObject({ id: note.id, file: null, fileError: expect.stringMatching(pruned) });
    const report = await m.generateReport({ from: first.startedAt - 1000, to: Date.now() });
    expect(JSON.stringify(report)).not.toContain(path);
    expect(second.file).not.toBeNull();
    // The entry's row in the database says so too.
    await m.stop();
    const again = await started(options);
    expect(again.getAlertHistory().find((t) => t.to === 'firing')?.profile).toMatchObject({ id: note.id, file: null, fileError: expect.stringMatching(pruned) });
  }, 30_000);
});

describe("a dataDir's profiles", () => {
  it("are written only while the monitor holds the dataDir's lock: one that could not take it leaves the holder's files alone", async () => {
    const dataDir = await tempDir();
    // Another live process holds the dataDir (the parent that runs the tests), with its profiles.
    await writeFile(join(dataDir, 'perfwatch.lock'), `${process.ppid}\n`);
    const profiles = join(dataDir, 'profiles');
    await mkdir(profiles);
    const theirs = ['perfwatch-20261201T000000.000Z-4242-1.cpuprofile', 'perfwatch-20261201T000001.000Z-4242-2.cpuprofile'];
    for (const name of theirs) await writeFile(join(profiles, name), '{}');
    const m = new PerformanceMonitor({ storage: 'sqlite', dataDir, system: { enabled: false }, runtime: { enabled: false }, profiling: { maxFiles: 1 } });
    await expect(m.start()).rejects.toMatchObject({ code: 'PW_ERR_STORAGE_LOCKED' });
    try {
      const c = await m.profile({ seconds: 1 });
      expect(c.file).not.toBeNull();
      expect(c.file!.startsWith(profiles)).toBe(false);
      expect(m.profilingStatus().dir).not.toBe(profiles);
      // maxFiles 1 pruned this monitor's own directory, not the holder's.
      expect((await readdir(profiles)).sort()).toEqual(theirs);
      await rm(c.file!, { force: true });
    } finally {
      await m.close();
    }
  }, 20_000);
});

describe("a dataDir's profiles after a restart", () => {
  it('count from start(): the files earlier runs left in <dataDir>/profiles, read once the lock is taken, not the temporary directory read at construction', async () => {
    const dataDir = await tempDir();
    const profiles = join(dataDir, 'profiles');
    const options = { storage: 'sqlite' as const, dataDir, system: { enabled: false }, runtime: { enabled: false } };
    const first = new PerformanceMonitor(options);
    await first.start();
    let c: Capture;
    try {
      c = await first.profile({ kind: 'cpu', seconds: 1 });
      expect(first.profilingStatus()).toMatchObject({ dir: profiles, files: { count: 1, bytes: c.fileBytes } });
    } finally {
      await first.close();
    }
    const again = new PerformanceMonitor(options);
    await again.start();
    try {
      // It read { count: 0, bytes: 0, scannedAt: <set> } until its first write: the read at
      // construction was of the temporary directory (the lock was not held yet).
      expect(again.profilingStatus()).toMatchObject({ dir: profiles, files: { count: 1, bytes: c.fileBytes, scannedAt: expect.any(Number) } });
    } finally {
      await again.close();
    }
    expect(again.profilingStatus().dir).not.toBe(profiles);
  }, 20_000);

  it('says a directory not read since files go there is not read (scannedAt null), rather than give another one\'s count', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    const earlier = new ProfileFiles(a, { maxFiles: 20, maxBytes: 1024 * 1024 });
    await earlier.write('cpu', Date.parse('2026-01-01T00:00:00Z'), 1, '{"a":1}');
    let where = b;
    const files = new ProfileFiles(() => where, { maxFiles: 20, maxBytes: 1024 * 1024 });
    await files.refresh();
    expect(files.status()).toMatchObject({ count: 0, bytes: 0, scannedAt: expect.any(Number) });
    where = a;
    expect(files.status()).toMatchObject({ count: 0, bytes: 0, scannedAt: null });
    await files.refresh();
    expect(files.status()).toMatchObject({ count: 1, bytes: 7, scannedAt: expect.any(Number) });
  });
});

describe('profile when an alert fires', () => {
  it('captures once; the summary is on the history entry, in the webhook and Alertmanager annotations and in the next report', async () => {
    const r = await receiver();
    const s = await service({ alerts: { webhooks: [`${r.url}/hook`], alertmanagerUrl: r.url, resolveHoldMs: 0 } });
    const stop = s.load('/hot?ms=20');
    await s.call('rule', { rule: { name: 'slow stats', metric: 'response_time', tags: { endpoint: '/hot' }, operator: '>', threshold: 5, capture: 'cpu', captureSeconds: 2 } });
    const firing = await waitFor(async () => (await s.call<AlertTransition[]>('history')).find((t) => t.to === 'firing' && t.profile), 30_000, 'the firing with its profile');
    await stop();
    expect(firing.profile).toMatchObject({ id: 1, kind: 'cpu', rule: 'slow stats', lead: { site: HOT } });
    expect(firing.profile!.headline).toContain(`of samples in ${HOT} (self)`);
    expect(firing.profile!.file).toMatch(/\.cpuprofile$/);

    // The webhook: the firing, then the firing again with the capture's annotations.
    const hooks = await waitFor(() => (r.bodies.get('/hook') ?? []).length >= 2 && (r.bodies.get('/hook') as { alerts: { annotations: Record<string, string> }[] }[]), 10_000, 'two webhook deliveries');
    expect(hooks[0]!.alerts[0]!.annotations.profile).toBeUndefined();
    expect(hooks[1]!.alerts[0]!.annotations).toMatchObject({ profile: expect.stringContaining(`cpu profile, `), profile_top: expect.stringContaining(HOT), profile_file: firing.profile!.file });
    const am = await waitFor(() => (r.bodies.get('/api/v2/alerts') ?? []).length >= 2 && (r.bodies.get('/api/v2/alerts') as { annotations: Record<string, string> }[][]), 10_000, 'two Alertmanager pushes');
    expect(am.at(-1)![0]!.annotations.profile).toContain(HOT);

    // The next report's diagnoses carry it as evidence.
    const report = await s.call<PerformanceReport>('report');
    const d = report.diagnoses.find((x) => x.summary.includes(HOT));
    expect(d, JSON.stringify(report.diagnoses.map((x) => x.id))).toBeDefined();
    expect(d!.evidence).toContainEqual(expect.objectContaining({ metric: 'cpu_profile', statistic: `share of samples in ${HOT} (self)`, value: Number(firing.profile!.lead!.share.toFixed(4)) }));
    expect(d!.actions[0]).toContain(firing.profile!.file!);

    // It ran once, though the rule kept firing on later requests' alerts.
    const status = await s.call<{ profiling: { captures: number } }>('status');
    expect(status.profiling.captures).toBe(1);
    expect(await s.call('events')).toEqual([{ event: 'profile', id: 1 }]);
  }, 60_000);

  it('starts at most one capture per rule per interval, and none while another runs, saying why on the entry', async () => {
    const m = await started({ profiling: { dir: await tempDir() } });
    await m.createAlertRule({ metric: 'stats_ms', operator: '>', threshold: 10, capture: 'cpu', captureSeconds: 3 });
    await m.createAlertRule({ metric: 'leak_bytes', operator: '>', threshold: 10, capture: 'heap', captureSeconds: 1 });
    // Two series of the first rule fire together: one capture, the other rate-limited.
    m.record('stats_ms', 50, { route: '/a' });
    m.record('stats_ms', 50, { route: '/b' });
    await m.flush();
    await waitFor(() => m.profilingStatus().busy, 10_000, 'the first capture running');
    // The second rule fires while it runs.
    m.record('leak_bytes', 50);
    await m.flush();
    const entries = await waitFor(() => {
      const f = m.getAlertHistory().filter((t) => t.to === 'firing');
      return f.length === 3 && f.every((t) => t.profile) && f;
    }, 20_000, 'three firings with their notes');
    const notes = entries.map((t) => t.profile!);
    const taken = notes.filter((n) => !n.skipped);
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatchObject({ id: 1, kind: 'cpu' });
    expect(notes.filter((n) => /^rate-limited: this rule started capture 1 at /.test(n.skipped ?? ''))).toHaveLength(1);
    expect(notes.filter((n) => n.skipped === 'capture 1 (cpu) was running: one capture runs at a time')).toHaveLength(1);
    expect(m.profilingStatus()).toMatchObject({ captures: 1, skipped: 2, refused: { busy: 1, rateLimited: 1 }, failed: 0, busy: null });
  }, 30_000);

  it('keeps the summary on the persisted history entry across a restart', async () => {
    const dataDir = await tempDir();
    const options = { storage: 'sqlite' as const, dataDir, system: { enabled: false }, runtime: { enabled: false } };
    const m = new PerformanceMonitor(options);
    await m.start();
    await m.createAlertRule({ metric: 'stats_ms', operator: '>', threshold: 10, capture: 'cpu', captureSeconds: 1 });
    m.record('stats_ms', 50);
    await m.flush();
    const note = (await waitFor(() => m.getAlertHistory().find((t) => t.profile), 15_000, 'the note')).profile!;
    expect(note.file!.startsWith(join(dataDir, 'profiles'))).toBe(true);
    await m.close();
    const again = new PerformanceMonitor(options);
    await again.start();
    try {
      expect(again.getAlertHistory().find((t) => t.to === 'firing')!.profile).toEqual(note);
    } finally {
      await again.close();
    }
  }, 30_000);
});
