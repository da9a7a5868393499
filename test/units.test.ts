/**
 * Sizes counted in powers of 1024 are named in binary units (KiB, MiB, GiB), as status()
 * and docs/ name them: the dashboard's labels, the serve table's columns and the address-space
 * refusal wrote KB, MB and GB for them, 4.6% low at 144 MiB read as MB.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
// @ts-expect-error: the dashboard's modules are plain browser JavaScript, without types.
import { bytes, time } from '../dashboard/js/format.js';
import { tableTime } from '../dist/src/cli/serve.js';

it('names sizes counted in 1024s KiB, MiB and GiB on the dashboard', () => {
  expect(bytes(512)).toBe('512 B');
  expect(bytes(2048)).toBe('2.0 KiB');
  expect(bytes(151_278_368)).toBe('144.3 MiB');
  expect(bytes(3 * 1024 ** 3)).toBe('3.0 GiB');
});

it("prints the serve table's time in UTC, marked Z", () => {
  // It printed the local time without a zone: 15:03:07 on a machine in UTC+1 for 14:03:07Z.
  expect(tableTime(new Date(Date.UTC(2026, 11, 6, 14, 3, 7, 999)))).toBe('14:03:07Z');
});

it('names the zone of a time on the dashboard', () => {
  // It wrote new Date(ms).toLocaleString(): a time without its zone.
  const at = Date.UTC(2026, 11, 6, 14, 3, 7);
  const zone = new Intl.DateTimeFormat([], { timeZoneName: 'short' }).formatToParts(at).find((p) => p.type === 'timeZoneName')!.value;
  expect(time(at)).toContain(zone);
  expect(time(at)).toBe(new Date(at).toLocaleString([], { timeZoneName: 'short' }));
});

it("names the serve table's heap and network columns by the 1024s they are divided by", async () => {
  // A real `perfwatch serve` in a folder of its own (it keeps ./perfwatch-data), its table's header read.
  const cwd = mkdtempSync(join(tmpdir(), 'perfwatch-units-'));
  const child = spawn(process.execPath, [fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url)), 'serve', '--http', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    const header = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.includes('cpu %'));
        if (line !== undefined) resolve(line);
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code} before its table: ${out}`)));
    });
    expect(header).toMatch(/net KiB\/s/);
    expect(header).toMatch(/heap MiB/);
    expect(header).toMatch(/ heap % /);
    expect(header).toMatch(/^ *time UTC /);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      await once(child, 'exit');
    }
    rmSync(cwd, { recursive: true, force: true });
  }
}, 30_000);
