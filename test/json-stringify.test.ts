/**
 * A monitor or a handle put into a JSON logger's context (a common slip) is written as a few
 * fields, not walked whole: a monitor's views over hundreds of MiB of shared memory, as objects
 * of numbered keys, held the host's thread for minutes (killed at 20 s), and a handle's ring
 * wrote 1.3 MB into one log line.
 */
import { execFile } from 'node:child_process';
import { afterEach, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

it('writes a monitor given to JSON.stringify() as its id and state, started or not, at once', async () => {
  // In a process of its own: a walk of the shared memory would hold this test's thread past any timeout.
  const code = [
    `import { PerformanceMonitor } from ${JSON.stringify(new URL('../dist/src/index.js', import.meta.url).href)};`,
    "const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });",
    'const before = JSON.stringify({ m });',
    'await m.start();',
    'const running = JSON.stringify(m);',
    'await m.stop();',
    'console.log(JSON.stringify({ id: m.id, before, running }));',
  ].join('\n');
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', code], { timeout: 20_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)));
  });
  const { id, before, running } = JSON.parse(out.trim().split('\n').at(-1)!);
  expect(JSON.parse(before)).toEqual({ m: { perfwatch: 'PerformanceMonitor', id, state: 'stopped' } });
  expect(JSON.parse(running)).toEqual({ perfwatch: 'PerformanceMonitor', id, state: 'running' });
}, 30_000);

it("writes a metric handle given to JSON.stringify() as its series", async () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
  cleanup.push(() => monitor.stop());
  await monitor.start();
  const handle = monitor.metric('jobs', { queue: 'a' }, { kind: 'counter' });
  expect(JSON.parse(JSON.stringify({ handle }))).toEqual({ handle: { id: handle.id, name: 'jobs', tags: { queue: 'a' }, kind: 'counter' } });
});
