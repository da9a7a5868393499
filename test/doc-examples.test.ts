/**
 * The code the README and the docs show compiles, as a newcomer copies it into a strict
 * TypeScript service that installed perfwatch: every ```js and ```ts block that uses the
 * monitor, each a module of its own, with what it leaves to the reader (`monitor`, a `cache`,
 * a piscina `pool`) declared when the block does not declare it. A renamed option, a method
 * gone or an answer whose type changed then fails here, not in a user's editor.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../', import.meta.url));
const PAGES = ['README.md', ...['reference', 'alerts', 'reports', 'profiling', 'instrument', 'cluster', 'export', 'mcp', 'http', 'storage'].map((p) => `docs/${p}.md`)];

/** What a block uses without declaring it, and its declaration. */
const LEFT_TO_THE_READER: [RegExp, string][] = [
  [/\bPerformanceMonitor\b/, "import { PerformanceMonitor } from 'perfwatch';"],
  [/\bmonitor\b/, "declare const monitor: import('perfwatch').PerformanceMonitor;"],
  [/\bcache\b/, 'declare const cache: { max: number; resize(n: number): void };'],
  [/\bpool\b/, 'declare const pool: { run(task: unknown): Promise<unknown> };'],
  [/\bjob\b/, 'declare const job: unknown;'],
  [/\bms\b/, 'declare const ms: number;'],
  [/\b(Worker|workerData)\b/, "import { Worker, workerData } from 'node:worker_threads';"],
];

interface Example {
  page: string;
  line: number;
  code: string;
}

/** The page's ```js and ```ts blocks that use perfwatch (not the shapes of answers it prints). */
function examples(page: string): Example[] {
  const found: Example[] = [];
  const lines = readFileSync(join(repo, page), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(js|ts)$/.test(lines[i]!)) continue;
    const start = i + 1;
    while (i + 1 < lines.length && lines[i + 1] !== '```') i++;
    const code = lines.slice(start, i + 1).join('\n');
    i++;
    if (/\bmonitor\b|'perfwatch'/.test(code) && !/^\s*\{/.test(code)) found.push({ page, line: start + 1, code });
  }
  return found;
}

function preamble(code: string): string {
  const declared = (name: string): boolean => new RegExp(`\\b(const|let)\\s+${name}\\b|import[^;]*\\b${name}\\b`).test(code);
  return LEFT_TO_THE_READER.filter(([uses, declaration]) => {
    const name = /(?:const|import \{) (\w+)/.exec(declaration)![1]!;
    return uses.test(code) && !declared(name);
  })
    .map(([, declaration]) => declaration)
    .join('\n');
}

describe("the README's and the docs' examples", () => {
  const root = mkdtempSync(join(tmpdir(), 'perfwatch doc examples '));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'node_modules', '@types'), { recursive: true });
  symlinkSync(repo, join(root, 'node_modules', 'perfwatch'), 'dir');
  symlinkSync(join(repo, 'node_modules', 'piscina'), join(root, 'node_modules', 'piscina'), 'dir');
  symlinkSync(join(repo, 'node_modules', '@types', 'node'), join(root, 'node_modules', '@types', 'node'), 'dir');
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'service', type: 'module', private: true }));
  const all = PAGES.flatMap(examples);

  it('are found: the README\'s service and the pages\' blocks', () => {
    expect(all.filter((e) => e.page === 'README.md')).toHaveLength(1);
    expect(all.length).toBeGreaterThanOrEqual(10);
  });

  it("README's service runs as written: it starts, records, reads its series back and stops, warning nothing", () => {
    // Its own folder: the monitor keeps its history in ./perfwatch-data of the working directory.
    const readme = all.find((e) => e.page === 'README.md')!;
    const dir = join(root, 'readme-run');
    mkdirSync(dir);
    writeFileSync(join(dir, 'service.mjs'), readme.code);
    const run = spawnSync(process.execPath, ['service.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("name: 'response_time'");
    expect(run.stdout).toContain("tags: { route: '/users' }");
  });

  it('compile in a strict TypeScript service, each block as written', () => {
    const files = all.map((e, n) => {
      const file = join(root, `example-${n}.ts`);
      const head = preamble(e.code);
      writeFileSync(file, `${head}\n${e.code}\nexport {};\n`);
      return { file, where: `${e.page}:${e.line}`, skip: head.split('\n').length };
    });
    const program = ts.createProgram(
      files.map((f) => f.file),
      { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: ['node'], skipLibCheck: true },
    );
    const where = new Map(files.map((f) => [f.file, f]));
    const errors = ts.getPreEmitDiagnostics(program).map((d) => {
      const f = d.file && where.get(d.file.fileName);
      const at = f ? `${f.where} (its line ${d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line - f.skip + 1})` : (d.file?.fileName ?? '');
      return `${at}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(errors).toEqual([]);
  });
});
