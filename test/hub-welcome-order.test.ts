import { describe, expect, it } from 'vitest';
import { monitorStarter } from './helpers.js';
import { hubNodes, rawHub } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();

// A node:cluster worker says hello twice, on the IPC channel and then on the primary's
// socket, and the two welcomes travel on those two paths: they can arrive in either order
// (seen in CI). A member that took the older welcome last marked its batches with a round the
// hub ignores, silently, and its buckets never reached the hub. A hub by hand makes the
// crossing happen every time.
describe('a member and the welcomes of its hub', () => {
  it('takes the newest round of a hub run, whatever order its welcomes come in, and a new run’s welcome whatever its round', async () => {
    const path = nodes.socketPath();
    const hub = await rawHub(path);
    const m = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'crossed' } });
    await hub.heard((x) => x.t === 'hello', 'the hello');
    hub.send({ t: 'welcome', acked: 0, round: 2, hub: 'run-a' });
    hub.send({ t: 'welcome', acked: 0, round: 1, hub: 'run-a' });
    const rt = m.metric('crossed_rt', {});
    rt.record(5);
    await m.flush();
    const first = await hub.heard((x) => x.t === 'batch', 'a batch');
    expect(first.round).toBe(2);

    // A hub that restarted counts rounds from 1 again: its welcome is taken, and the held
    // batch resent under its round.
    const from = hub.said.length;
    hub.send({ t: 'welcome', acked: 0, round: 1, hub: 'run-b' });
    const resent = await hub.heard((x) => x.t === 'batch' && x.seq === first.seq, 'the batch resent', from);
    expect(resent.round).toBe(1);
    await hub.close();
  });
});
