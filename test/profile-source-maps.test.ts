/**
 * A capture of code compiled with a source map (test/fixtures/mapped/players.ts, by tsc)
 * names the source's file:line where Node's stack traces do (source maps on), and the
 * generated JavaScript's where they do not; the profile's file keeps V8's positions.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { AllocationSite, FunctionTime, HotStack } from '../dist/src/profiling/schema.js';

const SOURCE = 'test/fixtures/mapped/players.ts';
const GENERATED = 'test/fixtures/mapped/players.js';

/** The 1-based line of the first line of `file` that holds `text`. */
function lineOf(file: string, text: string): number {
  const i = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`no ${text} in ${file}`);
  return i + 1;
}

interface Captured {
  cpu: { headline: string; top: FunctionTime; stack: HotStack };
  heap: { headline: string; sites: AllocationSite[] };
  fileUrls: string[];
}

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function capture(execArgv: string[]): Promise<Captured> {
  const dir = await mkdtemp(join(tmpdir(), 'pw-mapped-'));
  dirs.push(dir);
  const { stdout } = await promisify(execFile)(process.execPath, [...execArgv, 'test/fixtures/mapped-capture.mjs', dir], { timeout: 60_000 });
  return JSON.parse(stdout) as Captured;
}

describe('a capture of code with a source map', () => {
  it("names the source's file:line, as the stack traces do, with source maps on (--enable-source-maps)", async () => {
    const c = await capture(['--enable-source-maps']);
    const rank = lineOf(SOURCE, 'export function rankPlayers(');
    expect(rank).toBe(11);
    // Before, the generated file's: rankPlayers at test/fixtures/mapped/players.js:1.
    expect(c.cpu.headline).toMatch(new RegExp(`% of samples in rankPlayers at ${SOURCE}:${rank} \\(self\\)`));
    expect(c.cpu.top).toMatchObject({ function: 'rankPlayers', file: SOURCE, line: rank, hotLine: { line: lineOf(SOURCE, 'for (const p of table)') } });
    // Called from the entry module's top-level code, which V8 places at no line (-1): its first line, not line 0.
    expect(c.cpu.stack.frames.slice(-2)).toEqual(['(anonymous) (test/fixtures/mapped-capture.mjs:1)', `rankPlayers (${SOURCE}:${rank})`]);
    const arrow = lineOf(SOURCE, 'Array.from(');
    expect(c.heap.headline).toMatch(new RegExp(`allocated in \\(anonymous\\) at ${SOURCE}:${arrow}$`));
    // The arrow's objects are most of what is allocated. Two other sites are sampled in some
    // runs and not in others (the heap profiler samples by bytes allocated, at random steps of
    // 32 KiB on average): retainPlayers' own arrays, and the fixture's top-level code, which V8
    // charges with the bytecode it compiles for retainPlayers at its first call (about 0.9 KiB,
    // kept live: a sample lands there in a few runs in a hundred, loaded or not). Each site found
    // is at its source line, and no other site is there.
    const sites = c.heap.sites.map((s) => `${s.function} ${s.file}:${s.line}`);
    expect(sites[0]).toBe(`(anonymous) ${SOURCE}:${arrow}`);
    const sampledAtTimes = [`retainPlayers ${SOURCE}:${lineOf(SOURCE, 'export function retainPlayers(')}`, '(anonymous) test/fixtures/mapped-capture.mjs:1'];
    const rest = sites.slice(1);
    expect([...rest].sort()).toEqual(sampledAtTimes.filter((s) => rest.includes(s)).sort());
    // The file DevTools opens is V8's profile as it was taken.
    expect(c.fileUrls).toEqual([expect.stringMatching(/\/test\/fixtures\/mapped\/players\.js$/)]);
  });

  it("names the generated file's file:line without source maps, as the stack traces do", async () => {
    const c = await capture([]);
    const rank = lineOf(GENERATED, 'export function rankPlayers(');
    expect(c.cpu.top).toMatchObject({ function: 'rankPlayers', file: GENERATED, line: rank, hotLine: { line: lineOf(GENERATED, 's += Math.sin') } });
    expect(c.heap.sites[0]).toMatchObject({ function: '(anonymous)', file: GENERATED, line: lineOf(GENERATED, 'Array.from(') });
  });
});
