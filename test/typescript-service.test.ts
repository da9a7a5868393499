import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * A TypeScript service in strict mode that installed perfwatch: its source imports
 * 'perfwatch' by name, resolved through node_modules/perfwatch (the package's exports and
 * its .d.ts in dist/), never from this tree's paths.
 */
const SERVICE = `
import { PerformanceMonitor, type AlertTransition, type MonitorEvents } from 'perfwatch';

const m = new PerformanceMonitor({ storage: 'memory' });
m.on('alert', (t) => {
  const state: AlertTransition['to'] = t.to;
  console.log(state, t.metric.toUpperCase(), t.value.toFixed(1));
});
m.once('drops', (d) => console.log(d.samples + d.rings.length));
m.prependListener('actor-exit', (e) => console.log(e.actor.length, e.code + 1));
m.addListener('actor-restart', (r) => console.log(r.downMs + 1));
m.prependOnceListener('storage-error', (e) => console.log(e.message.length));
m.on('profile', (c) => console.log(c.id));
m.on('start', () => {});
m.on('error', (e: Error) => console.log(e.message));
const onStop: (...args: MonitorEvents['stop']) => void = () => {};
m.off('stop', onStop);

// @ts-expect-error a transition's state is a string: its listener's argument is typed, not any
m.on('alert', (t) => { const n: number = t.to; console.log(n); });
// @ts-expect-error a drop report has no field 'sample'
m.on('drops', (d) => console.log(d.sample));
// @ts-expect-error no event of the monitor is named 'alerts'
m.on('alerts', () => {});
`;

describe('a strict TypeScript service that installed perfwatch', () => {
  const root = mkdtempSync(join(tmpdir(), 'perfwatch ts service '));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const repo = fileURLToPath(new URL('../', import.meta.url));
  mkdirSync(join(root, 'node_modules', '@types'), { recursive: true });
  symlinkSync(repo, join(root, 'node_modules', 'perfwatch'), 'dir');
  symlinkSync(join(repo, 'node_modules', '@types', 'node'), join(root, 'node_modules', '@types', 'node'), 'dir');
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'service', type: 'module', private: true }));
  writeFileSync(join(root, 'service.ts'), SERVICE);

  it.each([
    ['nodenext', ts.ModuleKind.NodeNext, ts.ModuleResolutionKind.NodeNext],
    ['bundler', ts.ModuleKind.ESNext, ts.ModuleResolutionKind.Bundler],
  ] as const)('compiles with moduleResolution %s, with every event listener typed (no any)', (_name, module, moduleResolution) => {
    const program = ts.createProgram([join(root, 'service.ts')], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module,
      moduleResolution,
      types: ['node'],
      skipLibCheck: true,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  });
});
