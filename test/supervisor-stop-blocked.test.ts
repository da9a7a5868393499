/**
 * stop() of an actor held in native code past its bounds (a storage actor in a statement on a
 * disk that hangs: fsfreeze for 15 s or more) while a call of the host's waits on it. The
 * instance outlives the supervisor's wait for its end, and ends only with the watchdog's
 * thread, whose end reports no exit: the call waited for ever, and since a call waiting on
 * an actor holds the host's event loop (hold.ts), a host whose work was done never ended.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const HOST = fileURLToPath(new URL('./fixtures/stop-blocked.mjs', import.meta.url));

describe('stop() of an actor held in native code past its bounds', () => {
  it('fails the calls still waiting on it, so that a host with nothing left to do ends', () => {
    // Past stop()'s 5 s for the actor's own stop and 5 s for its end.
    const r = spawnSync(process.execPath, [HOST, '11000'], { encoding: 'utf8', timeout: 40_000 });
    const out = `${r.stdout}${r.stderr}`;
    expect({ status: r.status, signal: r.signal }, out).toEqual({ status: 0, signal: null });
    expect(r.stdout).toMatch(/^call failed: blocker: was ended by stop\(\) before it answered$/m);
    expect(r.stdout).toMatch(/^stopped after \d+ ms$/m);
    expect(r.stdout).toMatch(/^done$/m);
  }, 60_000);
});
