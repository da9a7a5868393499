/**
 * A capture's profile arrives on the host's main thread whole (a JSON string, parsed there,
 * and the file's text): a host near its heap limit was ended by V8 at the end of a long CPU
 * capture ("JavaScript heap out of memory"). A capture without room for its profile is
 * refused at its start, one whose room shrank while it ran is discarded, and the host goes on
 * (src/profiling/heap-room.ts).
 */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { captureProfile } from '../dist/src/profiling/inspector.js';
import { heapRoom, noRoomForProfile, profileNeed } from '../dist/src/profiling/heap-room.js';

const MiB = 1024 * 1024;

describe("a capture's room on the host's main thread", () => {
  it('is the heap limit less the young generation less the heap in use', () => {
    const room = heapRoom({ heap_size_limit: 112 * MiB, used_heap_size: 50 * MiB } as ReturnType<typeof import('node:v8').getHeapStatistics>);
    expect(room.bytes).toBe(14 * MiB);
    expect(room.source).toContain('64 MiB before V8 ends the process');
    expect(profileNeed('cpu', 120)).toBeGreaterThan(profileNeed('cpu', 10));
    expect(noRoomForProfile('cpu', 10, { bytes: 64 * MiB, source: 'x' }, 'start')).toBeUndefined();
  });

  it('refuses a capture at its start when the host has no room for its profile, naming the room and the need', async () => {
    let done = false;
    const until = new Promise<void>((resolve) => setTimeout(resolve, 10));
    const taking = captureProfile('cpu', until, 120, () => ({ bytes: 20 * MiB, source: 'the test' }));
    taking.then(() => (done = true), () => (done = true));
    await expect(taking).rejects.toThrow(/no room for the cpu profile of 120 s on the host's main thread: 20 MiB is left of the test, and the profile may take about 53 MiB there as it arrives; past the limit the process ends, so it was not started: capture fewer seconds/);
    expect(done).toBe(true);
  });

  it('discards a capture whose room shrank while it ran, and the profiler is left free for the next one', async () => {
    let calls = 0;
    let release!: () => void;
    const until = new Promise<void>((resolve) => (release = resolve));
    const taking = captureProfile('cpu', until, 1, () => ({ bytes: calls++ === 0 ? 100 * MiB : 2 * MiB, source: 'the test' }));
    release();
    await expect(taking).rejects.toThrow(/no room for the cpu profile of [\d.]+ s on the host's main thread: 2 MiB is left of the test, .* so it was discarded, not taken/);
    expect(calls).toBe(2);
    const next = await captureProfile('cpu', Promise.resolve(), 1, () => ({ bytes: 100 * MiB, source: 'the test' }));
    expect(Array.isArray((next.profile as { nodes: unknown[] }).nodes)).toBe(true);
  });

  it('a host run with --max-old-space-size=64 and most of it in use is refused a long CPU capture and goes on', async () => {
    const script = `
      import { PerformanceMonitor } from ${JSON.stringify(new URL('../dist/src/index.js', import.meta.url).href)};
      import { heapRoom } from ${JSON.stringify(new URL('../dist/src/profiling/heap-room.js', import.meta.url).href)};
      const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
      await m.start();
      const keep = [];
      while (heapRoom().bytes > 30 * 1024 * 1024) for (let i = 0; i < 1000; i++) keep.push({ s: 'k'.repeat(200) + keep.length });
      let out;
      try { await m.profile({ kind: 'cpu', seconds: 120 }); out = { taken: true }; }
      catch (e) { out = { code: e.code, message: e.message }; }
      out.failed = m.status().profiling.failed;
      await m.stop();
      out.kept = keep.length;
      console.log(JSON.stringify(out));
    `;
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--max-old-space-size=64', '--input-type=module', '-e', script], { timeout: 100_000 }, (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)));
    });
    const out = JSON.parse(stdout.split('\n').find((l) => l.startsWith('{'))!);
    expect(out.code).toBe('PW_ERR_PROFILE');
    expect(out.message).toMatch(/no room for the cpu profile of 120 s on the host's main thread: \d+ MiB is left of the main thread's heap \(64 MiB before V8 ends the process, --max-old-space-size; \d+ MiB in use\)/);
    expect(out.failed).toBe(1);
    expect(out.kept).toBeGreaterThan(0);
  }, 120_000);
});
