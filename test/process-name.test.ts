/**
 * The default name of a process (src/process-name.ts): a hub member's `instance` and an
 * exporter's `instance` label, stable across restarts under PM2.
 */
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { pm2Name, processName } from '../dist/src/process-name.js';
import type { HubStatus } from '../dist/src/hub/hub.js';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();

describe("a process's default name", () => {
  it('is host:pid, or under PM2 host:app-N (its instance number, or pm_id when the app renamed that variable), within the limit', () => {
    expect(processName(128, {})).toBe(`${hostname()}:${process.pid}`);
    expect(pm2Name({})).toBeUndefined();
    expect(processName(128, { pm_id: '11', name: 'api', NODE_APP_INSTANCE: '2' })).toBe(`${hostname()}:api-2`);
    expect(processName(128, { pm_id: '11', name: 'api' })).toBe(`${hostname()}:api-11`);
    expect(processName(128, { pm_id: '11' })).toBe(`${hostname()}:pm2-11`);
    const long = processName(20, { pm_id: '1', name: 'x'.repeat(40), NODE_APP_INSTANCE: '0' });
    expect(long.length).toBe(20);
  });

  it("names a hub member started by PM2 after its app and instance number, the same after a restart", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const pm2 = { pm_id: '4', name: 'api', NODE_APP_INSTANCE: '1' };
    const members = () => (hub.status().hub as HubStatus).members.map((m) => m.instance);
    let member = await nodes.startIn(pm2, 'member', path);
    await waitFor(() => members().length === 1, 10_000, 'the member');
    expect(members()).toEqual([`${hostname()}:api-1`]);
    expect((await member.ask({ cmd: 'stop' })).stopped).toBe(true);
    member = await nodes.startIn(pm2, 'member', path);
    await waitFor(() => (hub.status().hub as HubStatus).members[0]?.state === 'live', 10_000, 'the restarted member');
    expect(members()).toEqual([`${hostname()}:api-1`]);
  });
});
