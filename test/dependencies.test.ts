/**
 * Which way imports point: dependency-cruiser with the rules of .dependency-cruiser.cjs, over
 * the sources (no violation allowed) and over a tree that plants one violation per rule (each
 * must be reported, and the allowed exceptions planted beside them must not be).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = fileURLToPath(new URL('../node_modules/dependency-cruiser/bin/dependency-cruise.mjs', import.meta.url));
const CONFIG = fileURLToPath(new URL('../.dependency-cruiser.cjs', import.meta.url));

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

function cruise(cwd: string): Promise<Violation[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'src', 'workers', '--config', CONFIG, '--output-type', 'json'], { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      // The exit code is the number of violations: the report is read either way.
      try {
        resolve((JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations);
      } catch {
        reject(error ?? new Error(`dependency-cruiser printed no report: ${stderr}`));
      }
    });
  });
}

const seen = (vs: Violation[]): string[] => vs.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();

describe('dependencies', () => {
  it('point one way, with no cycle, from the fronts down to the engine; workers are shells nothing imports', async () => {
    expect(seen(await cruise(ROOT))).toEqual([]);
  });

  it('each rule reports the import it forbids, and lets the named exceptions through', async () => {
    const violations = await cruise(fileURLToPath(new URL('./fixtures/layers/', import.meta.url)));
    expect(seen(violations)).toEqual(
      [
        'actors-below-the-features: src/actors/supervisor.ts → src/monitor/monitor.ts',
        'analysis-over-the-engine: src/analysis/stats.ts → src/alerts/rule.ts',
        'config-below-the-fronts: src/config/load.ts → src/mcp/server.ts',
        'engine-at-the-bottom: src/engine/ring.ts → src/monitor/monitor.ts',
        'errors-stand-alone: src/errors.ts → src/engine/ring.ts',
        'features-apart: src/optimizer/optimizer.ts → src/overhead/governor.ts',
        'features-below-the-monitor: src/overhead/governor.ts → src/monitor/options.ts',
        'mcp-without-the-cli: src/mcp/host.ts → src/cli/main.ts',
        'monitor-below-the-fronts: src/monitor/fronts.ts → src/cli/main.ts',
        'monitor-loads-the-fronts-lazily: src/monitor/monitor.ts → src/mcp/index.ts',
        'no-circular: src/alerts/cycle-a.ts → src/alerts/cycle-b.ts',
        'no-orphans: src/engine/dead.ts → src/engine/dead.ts',
        'no-other-lazy-imports: src/mcp/server.ts → src/engine/dead-end.ts',
        'only-protocols-name-feature-types: src/actors/supervisor.ts → src/reports/types.ts',
        'protocols-name-feature-types-only: src/actors/protocols.ts → src/alerts/schema.ts',
        'reports-read-the-alert-schema-only: src/reports/build.ts → src/alerts/evaluator.ts',
        'src-never-imports-workers: src/alerts/alerting.ts → workers/alerts.ts',
        'the-entry-is-imported-by-no-one: src/cli/main.ts → src/index.ts',
        'workers-are-shells-over-src: workers/alerts.ts → workers/collector.ts',
      ].sort(),
    );
  });
});
