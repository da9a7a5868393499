import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FREED_FILLED_ENV } from './helpers.js';

const CLOSER = new URL('./fixtures/sqlite-closer.mjs', import.meta.url).pathname;
const EXIT_COLLECT = new URL('./fixtures/sqlite-exit-collect.mjs', import.meta.url).pathname;


function run(mode: string): { status: number | null; signal: NodeJS.Signals | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pw-sqlite-close-'));
  // In its own folder: where a core dump of the control lands when cores are on (.ci/run).
  const r = spawnSync(process.execPath, ['--expose-gc', CLOSER, mode, dir], { cwd: dir, env: FREED_FILLED_ENV, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, signal: r.signal, out: `${r.stdout}${r.stderr}` };
}

/** The fixture's `mode` exited by itself with code 0, having printed its last line ("done"). */
function expectRanToItsEnd(mode: string): void {
  const r = run(mode);
  expect(r, r.out).toMatchObject({ status: 0, signal: null });
  expect(r.out).toContain('done');
}

describe('closing an SQLite connection', () => {
  it('libsql itself reads the closed handle again: the control, which takes the process down here', () => {
    expect(run('raw')).toMatchObject({ status: null, signal: 'SIGSEGV' });
  });

  it('Db.close() after its statements were collected closes the handle once', () => {
    expectRanToItsEnd('close');
  });

  it('a file that is not a database is refused, and its connection closed once', () => {
    const r = run('refused');
    expect(r, r.out).toMatchObject({ status: 0, signal: null });
  });

  // Node 20 reads an addon's deleted environment when a collection during a thread's teardown
  // finds its objects (src/storage/collect-garbage.ts): the SIGSEGV of the test below, which
  // its child met in about 3% of runs with both cores busy. This one says deterministically
  // that the garbage is gone before the teardown, without --expose-gc.
  it.each(['exit', 'end'])("a thread that used the driver collects its garbage at its 'exit' (%s), leaving no gc to the process", (how) => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-sqlite-exit-'));
    const r = spawnSync(process.execPath, [EXIT_COLLECT, dir, how], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ code: 0, dropped: 'collected', gcInNewContext: 'undefined' });
  });

  it("a monitor's storage actor that ends with its connection open (process.exit() in its thread) leaves the host running", () => {
    expectRanToItsEnd('actor-exit');
  });

  // A thread ended from outside runs no 'exit': left open to its teardown, the connection is
  // finalized after its statements and closed twice (src/actors/close-first.ts).
  it("a monitor's storage actor terminated by the watchdog (injectFault('kill')) closes its connection first, three times, and the host runs on", () => {
    expectRanToItsEnd('actor-kill');
  });

  it("a host that calls process.exit() while its monitor runs has its storage actor close its connection first, and exits with its own code", () => {
    expectRanToItsEnd('host-exit');
  });

  // One statement of seconds (the 'stall' drill) in flight: the thread cannot end before it
  // returns, and the close is answered after it, however long past the close's bound.
  it.each([
    ['the watchdog ends it', 'stall-kill'],
    ['the host calls process.exit()', 'stall-exit'],
  ])("a monitor's storage actor in a statement of seconds when %s closes its connection after the statement, and the host runs on or exits with its own code (%s)", (_, mode) => {
    expectRanToItsEnd(mode);
  }, 90_000);

  it('a host that dies of an uncaught exception while its monitor runs exits as Node makes it (code 1, its error printed), not by a signal', () => {
    const r = run('host-throw');
    expect(r, r.out).toMatchObject({ status: 1, signal: null });
    expect(r.out).toContain('done');
    expect(r.out).toContain('Error: a bug of the host');
  });
});
