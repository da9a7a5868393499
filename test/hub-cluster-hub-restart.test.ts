/**
 * A node:cluster primary whose monitor (the hub) stops and starts again while its workers run
 * (docs/cluster.md, Links): the workers' hellos on the channel reach nobody meanwhile, and the
 * hub listens on a socket of a new path when it is back.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe("a node:cluster hub stopped and started again", () => {
  it("gets every worker's samples, before, during and after, once each, and the workers move to its new socket", async () => {
    const { stdout } = await run(process.execPath, [new URL('./fixtures/hub-cluster-hub-restart.mjs', import.meta.url).pathname], { timeout: 90_000 });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(r.done).toBe(true);
    expect(r.members).toEqual({ 'slot-0': 300, 'slot-1': 300 });
    expect(r.cluster).toBe(600);
    expect(r.links).toEqual([
      { connected: true, via: 'socket', dropped: 0 },
      { connected: true, via: 'socket', dropped: 0 },
    ]);
  });
});
