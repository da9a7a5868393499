/**
 * vitest globalSetup: the run's temporary folders in one folder of its own, removed when the
 * run ends. Tests, the processes they start and the monitors under test make hundreds of them
 * (each test's dataDir, hub sockets, profiles); each cleaning its own left ~250 behind a run
 * wherever a test failed, was killed or forgot. TMPDIR is set before the test processes
 * start, which inherit it, as do the children they spawn (os.tmpdir() reads it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'perfwatch-test-'));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };
}
