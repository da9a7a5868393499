/**
 * A member the hub refuses (its collectionIntervalMs differs, docs/cluster.md): the hub accepts
 * each connection and refuses the hello on it, so the member's backoff must not start over at
 * every connect.
 */
import { describe, expect, it } from 'vitest';
import type { MemberLinkStatus } from '../dist/src/index.js';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();

describe('a member the hub refuses', () => {
  it('says why, and tries again at its backoff (100 ms doubling up to retryMaxMs), not every 100 ms', async () => {
    const path = nodes.socketPath();
    await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const member = await started({ collectionIntervalMs: 2000, hub: { connect: path, instance: 'slow', retryMaxMs: 2000 } });
    const first = await waitFor(() => member.status().hub?.lastError ?? undefined, 10_000, 'the refusal');
    expect(first.message).toBe('the hub refused this member: collectionIntervalMs: member "slow" collects every 2000 ms and this hub every 1000 ms: give both the same collectionIntervalMs');
    const t0 = Date.now();
    const link = () => member.status().hub as MemberLinkStatus;
    const f0 = link().failed;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const s = link();
    // Waits of 100, 200, 400, 800, 1600 ms: at most 5 tries in 3.1 s, each a refusal and a lost
    // connection (2 failures); a backoff started over at every connect tried some 30 times.
    const tries = (s.failed - f0) / 2;
    expect(tries, `${tries} tries in ${Date.now() - t0} ms`).toBeLessThanOrEqual(6);
    expect(s).toMatchObject({ connected: false, sent: 0 });
  });
});
