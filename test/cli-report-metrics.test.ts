/**
 * `perfwatch report --for N --metrics …` checks the names once its monitor has started, before
 * the N seconds: a name the run cannot show is refused at once with the nearest known ones,
 * and a name its dataDir stores is known; a hub, whose members may send new names, says so
 * and checks again at the end.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { dataDirWithSeries } from './helpers.js';
import { CLI, quietConfig } from './mcp-helpers.js';

const run = promisify(execFile);
const report = (args: string[], timeout = 30_000) =>
  run(process.execPath, [CLI, 'report', ...args], { timeout }).then(
    (ok) => ({ code: 0, killed: false, ...ok }),
    (e: { code: number | null; killed: boolean; stdout: string; stderr: string }) => e,
  );

describe('perfwatch report --for with --metrics', () => {
  it('refuses a name the run cannot show before its wait, not after it', async () => {
    // An hour's run: a name refused only after the wait would leave the command killed at the timeout.
    const failed = await report(['--for', '3600', '--metrics', 'heap_used,cpu_usgae', '--config', quietConfig()]);
    expect(failed).toMatchObject({ code: 2, killed: false });
    // Said at once: no countdown on stderr before it.
    expect(failed.stderr).toMatch(/^perfwatch: --metrics: "cpu_usgae" is not a known metric; the nearest known: cpu_usage, [a-z_]+, [a-z_]+\n$/);
  });

  it('knows the names its dataDir stores, which the monitor restores as it starts', async () => {
    const dataDir = dataDirWithSeries('stored_latency', 3);
    try {
      const done = await report(['--for', '1', '--metrics', 'stored_latency', '--config', quietConfig({ storage: 'sqlite', dataDir })]);
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toMatch(/^monitor running/m);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("closes with the CLI's words for a name with no series recorded in the run: its flag, not the tool's metric_types, and where a stored one is", async () => {
    const dataDir = dataDirWithSeries('stored_latency', 3);
    try {
      const stored = await report(['--for', '1', '--metrics', 'stored_latency', '--config', quietConfig({ storage: 'sqlite', dataDir })]);
      expect(stored.code, stored.stderr).toBe(0);
      expect(stored.stdout).not.toContain('metric_types');
      expect(stored.stdout.trimEnd().split('\n').at(-1)).toBe('--metrics stored_latency: no series recorded since the monitor started, so none to list here; what is stored of it from before is in the report above, within its range');
      // In memory nothing was stored before the run.
      const memory = await report(['--for', '1', '--metrics', 'queue_size', '--config', quietConfig()]);
      expect(memory.code, memory.stderr).toBe(0);
      expect(memory.stdout.trimEnd().split('\n').at(-1)).toBe('--metrics queue_size: no series recorded since the monitor started, so none to list here');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('names each name of --metrics with no series also when another name has some, and not one whose series are on another page', async () => {
    // monitor_ingested: the monitor's own, recorded from its first tick; queue_size and response_time: nothing records them here.
    const some = await report(['--for', '2', '--metrics', 'queue_size,monitor_ingested,response_time', '--config', quietConfig()]);
    expect(some.code, some.stderr).toBe(0);
    const tail = some.stdout.trimEnd().split('\n').slice(-2);
    expect(tail[0]).toMatch(/^monitor_ingested /);
    expect(tail[1]).toBe('--metrics queue_size,response_time: no series recorded since the monitor started, so none to list here');
    // From offset 1 the page is empty, yet monitor_ingested has its series (on the first page): only queue_size is said.
    const paged = await report(['--for', '2', '--metrics', 'monitor_ingested,queue_size', '--offset', '1', '--config', quietConfig()]);
    expect(paged.code, paged.stderr).toBe(0);
    expect(paged.stdout.trimEnd().split('\n').at(-1)).toBe('--metrics queue_size: no series recorded since the monitor started, so none to list here');
  });

  it('a config that names a dataDir and no storage runs in memory and says so: it neither reads nor locks that dataDir, often the service\'s own', async () => {
    const dataDir = dataDirWithSeries('stored_latency', 3);
    const dir = mkdtempSync(join(tmpdir(), 'perfwatch-report-datadir-'));
    try {
      const config = join(dir, 'config.json');
      writeFileSync(config, JSON.stringify({ system: { enabled: false }, dataDir }));
      const before = contents(dataDir);
      const done = await report(['--for', '1', '--config', config]);
      expect(done.code, done.stderr).toBe(0);
      expect(done.stderr).toContain(`perfwatch report: ${config} names a dataDir and no storage: this run keeps memory storage and reads nothing stored in ${dataDir}; add "storage": "sqlite" to run on it`);
      // The directory as it was: no file written, none added (a run on it writes its own series at stop).
      expect(contents(dataDir)).toEqual(before);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("on a hub, whose members may send new names during the run, says so at once and refuses the name only if it is still unknown at the end", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'perfwatch-report-hub-'));
    try {
      const failed = await report(['--for', '1', '--metrics', 'member_latency', '--config', quietConfig({ hub: { listen: join(dir, 'hub.sock') } })]);
      expect(failed).toMatchObject({ code: 2, killed: false });
      const unknown = '--metrics: "member_latency" is not a known metric; the nearest known: ';
      const lines = failed.stderr.split('\n');
      expect(lines[0]).toMatch(new RegExp(`^perfwatch report: ${escape(unknown)}.*; this monitor is a hub, so a member may send it in the next 1 s$`));
      expect(lines[1]).toBe('perfwatch report: monitoring this machine, 1 s left');
      expect(lines[2]).toMatch(new RegExp(`^perfwatch: ${escape(unknown)}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('perfwatch report --metrics with several unknown names', () => {
  it('names every unknown name at once, with the nearest known of each, not the first alone', async () => {
    const failed = await report(['--for', '1', '--metrics', 'foo_x,rss,bar_y', '--config', quietConfig()]);
    expect(failed).toMatchObject({ code: 2, stdout: '' });
    expect(failed.stderr).toMatch(/^perfwatch: --metrics: 2 names are not known metrics: "foo_x" \(the nearest known: [^)]+\), "bar_y" \(the nearest known: [^)]+\)\n$/);
    // On a hub, the notice before the wait names each, and the end refuses each still unknown.
    const dir = mkdtempSync(join(tmpdir(), 'perfwatch-report-hub-'));
    try {
      const hub = await report(['--for', '1', '--metrics', 'late_metric,never_metric', '--config', quietConfig({ hub: { listen: join(dir, 'hub.sock') } })]);
      const [notice, , end] = hub.stderr.split('\n');
      for (const line of [notice, end]) expect(line).toMatch(/--metrics: 2 names are not known metrics: "late_metric" .*, "never_metric" /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Each file of `dir` with the sha1 of its bytes. */
function contents(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, createHash('sha1').update(readFileSync(join(dir, f))).digest('hex')]));
}
