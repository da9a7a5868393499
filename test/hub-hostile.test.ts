/**
 * A member that is broken or hostile (docs/cluster.md, Links): what it sends can cost it its
 * link, never the hub its series, its memory or its other members.
 */
import { describe, expect, it } from 'vitest';
import type { HubStatus } from '../dist/src/hub/hub.js';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { encodeSketch } from '../dist/src/storage/sketch-codec.js';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes, rawMember, statsBatch } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();

const hubStatus = (hub: { status(): { hub?: unknown } }) => hub.status().hub as HubStatus;

describe('a member that sends numbers no monitor records', () => {
  it('is malformed: a sum of Infinity, a value past 2^333, min above max, a negative increment of a counter reset its link and apply nothing of their batch; the series stay finite and exact', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const defs = [
      [0, 'odd_rt', {}, 'distribution', ''],
      [1, 'odd_total', {}, 'counter', ''],
    ];
    const cases: [number[], string][] = [
      [[0, 1, Infinity, 1, 1, 1], 'batch row 1: sum must be a finite number of magnitude at most count × 2^333 (~1.7e100), as a monitor records'],
      [[0, 2, 2e200, 1e200, 1e200, 1e200], 'batch row 1: min, max and last must be finite numbers of magnitude under 2^333 (~1.7e100), as a monitor records'],
      [[0, 2, 1e200, 1, 1, 1], 'batch row 1: sum must be a finite number of magnitude at most count × 2^333 (~1.7e100), as a monitor records'],
      [[0, 1, 5, 10, 1, 5], 'batch row 1: min 10 is above max 1'],
      [[1, 2, -10, -5, -5, -5], 'batch 1 row 1: series "odd_total" is a counter, whose increments are not negative: min -5, sum -10'],
      [[1, 2, -10, 0, 0, 0], 'batch 1 row 1: series "odd_total" is a counter, whose increments are not negative: min 0, sum -10'],
    ];
    for (const [i, [row, message]] of cases.entries()) {
      const m = await rawMember(path);
      m.send({ t: 'hello', instance: `odd-${i}`, epoch: 'e', intervalMs: 1000 });
      const { round } = await m.answer(1);
      m.send(statsBatch(1, round, [[0, 2, 3, 1, 2, 2], row], defs));
      await m.closed();
      expect(hubStatus(hub)).toMatchObject({ malformed: i + 1, lastError: { message: `member "odd-${i}": ${message}` } });
    }
    // The hub goes on: an honest member's buckets of the same series add up, finite.
    const ok = await rawMember(path);
    ok.send({ t: 'hello', instance: 'ok', epoch: 'e', intervalMs: 1000 });
    const { round } = await ok.answer(1);
    ok.send(statsBatch(1, round, [[0, 2, 3, 1, 2, 2], [1, 3, 6, 1, 3, 3]], defs));
    expect(await ok.answer(2)).toEqual({ t: 'ack', seq: 1 });
    await hub.flush();
    const cluster = (name: string) => hub.getMetrics({ names: [name] }).find((s) => !('instance' in s.tags));
    expect(cluster('odd_rt')).toMatchObject({ totalCount: 2, totalSum: 3 });
    expect(cluster('odd_total')).toMatchObject({ totalCount: 3, totalSum: 6 });
    ok.close();
  });

  it("a sketch that holds more samples than its bucket's count is refused and named, the rest of the batch applied", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const acc = new SketchAccumulator();
    for (let k = 1; k <= 64; k++) acc.add(1000);
    const scratch = new Int32Array(acc.encodedLengthBound());
    acc.encodeInto(scratch, 0);
    const m = await rawMember(path);
    m.send({ t: 'hello', instance: 'wide', epoch: 'e', intervalMs: 1000 });
    const { round } = await m.answer(1);
    // Row 0 says one sample and carries a sketch of 64 at 1000; row 1, of another series, has none.
    m.send(statsBatch(1, round, [[0, 1, 5, 5, 5, 5], [1, 2, 3, 1, 2, 2]], [[0, 'wide_rt', {}, 'distribution', ''], [1, 'fine_rt', {}, 'distribution', '']], encodeSketch(scratch, 0)!));
    expect(await m.answer(3)).toEqual({ t: 'ack', seq: 1 });
    expect(m.heard()[1]).toEqual({ t: 'refused', message: 'member "wide": series "wide_rt" {}: its sketch holds 64 samples, more than the bucket\'s count, 1' });
    await hub.flush();
    expect(hub.getMetrics({ names: ['wide_rt'] }).some((s) => s.totalCount > 0)).toBe(false);
    expect(hub.getMetrics({ names: ['fine_rt'] }).find((s) => !('instance' in s.tags))).toMatchObject({ totalCount: 2, totalSum: 3 });
    m.close();
  });
});

describe('a link that says hello under several names', () => {
  it('belongs to the last: the names before it are no longer connected, and a process under one of them is welcomed', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const m = await rawMember(path);
    m.send({ t: 'hello', instance: 'first', epoch: 'e', intervalMs: 1000 });
    await m.answer(1);
    m.send({ t: 'hello', instance: 'second', epoch: 'e', intervalMs: 1000 });
    await m.answer(2);
    const connected = () => Object.fromEntries(hubStatus(hub).members.map((s) => [s.instance, s.connected]));
    expect(connected()).toEqual({ first: false, second: true });
    // The link was the second's: a process named first is no other live member's rival.
    const first = await rawMember(path);
    first.send({ t: 'hello', instance: 'first', epoch: 'another', intervalMs: 1000 });
    expect(await first.answer(1)).toMatchObject({ t: 'welcome' });
    m.close();
    await m.closed();
    await waitFor(() => !connected().second, 10_000, 'the closed link seen');
    expect(connected()).toEqual({ first: true, second: false });
    first.close();
  });
});

describe('a member that floods the hub', () => {
  it("with names: the hub holds at most its maxSeries members and refuses a new name past them, naming the field; a member it knows is welcomed again", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, maxSeries: 16, hub: { listen: path } });
    const m = await rawMember(path);
    for (let i = 0; i < 16; i++) m.send({ t: 'hello', instance: `name-${i}`, epoch: 'e', intervalMs: 1000 });
    await m.answer(16);
    m.send({ t: 'hello', instance: 'name-16', epoch: 'e', intervalMs: 1000 });
    expect(await m.answer(17)).toEqual({ t: 'reject', field: 'maxSeries', message: 'member "name-16" would be one more than the 16 members a hub holds at most (its maxSeries: each member has series of its own); raise the hub\'s maxSeries, or wait until a silent member is forgotten (hub.dropMs)' });
    await m.closed();
    const s = hubStatus(hub);
    expect(s.members).toHaveLength(16);
    expect(s.lastError?.message).toMatch(/^member "name-16" would be one more than the 16 members/);
    const again = await rawMember(path);
    again.send({ t: 'hello', instance: 'name-3', epoch: 'e', intervalMs: 1000 });
    expect(await again.answer(1)).toMatchObject({ t: 'welcome' });
    again.close();
  });

  it('with names the member options refuse ("cluster", control characters) is refused at its hello as malformed, and not registered', async () => {
    // The wire check took any string of 1 to 128 characters: a raw client got members named
    // "cluster" and "evil\nWARNING fake line" registered (a forged line in status and logs).
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const names = ['cluster', 'evil\nWARNING fake line', 'tab\tname', '\u0000nul', 'del\u007f'];
    for (const [i, instance] of names.entries()) {
      const m = await rawMember(path);
      m.send({ t: 'hello', instance, epoch: 'e', intervalMs: 1000 });
      // Reset as any malformed hello is: the link closed, no welcome.
      await m.closed();
      expect(m.heard(), JSON.stringify(instance)).toEqual([]);
      expect(hubStatus(hub), JSON.stringify(instance)).toMatchObject({
        malformed: i + 1,
        lastError: { message: expect.stringContaining(`hello.instance ${JSON.stringify(instance)} must ${i === 0 ? 'not be "cluster"' : "not contain control characters (a line break, a tab): it is the instance tag of each of this member's series on the hub"}`) },
      });
    }
    const s = hubStatus(hub);
    expect(s.members).toEqual([]);
    expect(s.malformed).toBe(names.length);
    // A name the options take is welcomed.
    const ok = await rawMember(path);
    ok.send({ t: 'hello', instance: 'web-1 "blue"', epoch: 'e', intervalMs: 1000 });
    expect(await ok.answer(1)).toMatchObject({ t: 'welcome' });
    ok.close();
  });

  it('with definitions: the hub keeps at most its maxSeries of them across all its members, not maxSeries each', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, maxSeries: 16, hub: { listen: path } });
    const defs = Array.from({ length: 10 }, (_, sid) => [sid, 'many_rt', { shard: `s${sid}` }, 'distribution', '']);
    const a = await rawMember(path);
    a.send({ t: 'hello', instance: 'a', epoch: 'e', intervalMs: 1000 });
    a.send(statsBatch(1, (await a.answer(1)).round, [], defs));
    expect(await a.answer(2)).toEqual({ t: 'ack', seq: 1 });
    const b = await rawMember(path);
    b.send({ t: 'hello', instance: 'b', epoch: 'e', intervalMs: 1000 });
    b.send(statsBatch(1, (await b.answer(1)).round, [], defs));
    expect(await b.answer(2)).toEqual({ t: 'refused', message: 'member "b": 4 series definitions of batch 1 refused, their rows left out; the first, series "many_rt" {"shard":"s6"}: past the 16 series definitions the hub keeps for its members (its maxSeries)' });
    expect(await b.answer(3)).toEqual({ t: 'ack', seq: 1 });
    a.close();
    b.close();
  });
});
