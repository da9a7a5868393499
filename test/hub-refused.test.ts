/**
 * A member the hub refuses (its collectionIntervalMs differs, docs/cluster.md): the hub accepts
 * each connection and refuses the hello on it, so the member's backoff must not start over at
 * every connect.
 */
import { describe, expect, it } from 'vitest';
import type { MemberLinkStatus } from '../dist/src/index.js';
import { monitorStarter, waitFor } from './helpers.js';
import { Receiver } from './export-helpers.js';
import { hubNodes, rawMember } from './hub-helpers.js';

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

  it("an entry the hub refuses (the tag instance, a kind clash) is named in the member's own status too, not only the hub's; the rest of its batch applies", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    hub.define({ name: 'jobs', kind: 'counter' });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'm' } });
    const link = () => member.status().hub as MemberLinkStatus;
    member.record('tagged_rt', 1, { instance: 'x' });
    member.record('tagged_rt', 2, { route: '/a' });
    const tagged = await waitFor(() => link().lastError ?? undefined, 10_000, "the member's error");
    expect(tagged.message).toBe('the hub refused an entry: member "m": series "tagged_rt" {"instance":"x"}: the tag "instance" is the hub\'s: a member\'s series cannot carry it');
    expect(link().failed).toBe(1);
    member.define({ name: 'jobs', kind: 'gauge' });
    member.record('jobs', 3);
    const clash = await waitFor(() => (link().lastError?.message.includes('jobs') ? link().lastError : undefined), 10_000, 'the kind clash');
    expect(clash!.message).toBe('the hub refused an entry: member "m": series "jobs" {}: kind: metric "jobs" is a counter on the hub and a gauge on this member');
    await hub.flush();
    expect(hub.getMetrics({ names: ['tagged_rt'] }).map((s) => [s.tags, s.totalCount])).toEqual(expect.arrayContaining([[{ route: '/a' }, 1], [{ instance: 'm', route: '/a' }, 1]]));
  });

  it("series a hub at maxSeries refuses leave no name behind: their refusals stay at maxSeries, not the name table's", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, maxSeries: 16, hub: { listen: path } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'm' } });
    // 40 names of one series each: each takes two series on the hub (the member's, the cluster's).
    for (let i = 0; i < 40; i++) member.define({ name: `job_${i}_ms`, kind: 'gauge', unit: 'ms' });
    for (let i = 0; i < 40; i++) member.record(`job_${i}_ms`, i);
    await waitFor(() => (hub.status().series.refused.total >= 8 ? true : undefined), 20_000, 'the refusals');
    expect(hub.status().series.refused.names).toBe(0);
    // The names the hub knows came with their series, their kind and unit; those refused are unknown.
    const known = Array.from({ length: 40 }, (_, i) => `job_${i}_ms`).filter((name) => {
      try {
        return hub.getMetrics({ names: [name] }).length >= 0;
      } catch {
        return false;
      }
    });
    expect(known).toEqual(Array.from({ length: 8 }, (_, i) => `job_${i}_ms`));
    for (const s of hub.getMetrics({ names: known })) expect([s.kind, s.unit]).toEqual(['gauge', 'ms']);
  });

  it("a second process under a live member's name is refused, naming hub.instance, and the first keeps its link; once the first stops, the second is welcomed at a redial and its buckets arrive", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const first = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'api' } });
    await waitFor(() => (first.status().hub as MemberLinkStatus).connected, 10_000, 'the first member welcomed');
    const other = await rawMember(path);
    other.send({ t: 'hello', instance: 'api', epoch: 'another process', intervalMs: 1000 });
    expect(await other.answer(1)).toEqual({ t: 'reject', field: 'hub.instance', message: 'member "api" is the name of another live member of this hub (another process): give each process its own hub.instance' });
    await other.closed();
    // Taken for a restart, the first's link was reset and its epoch replaced.
    expect((hub.status().hub as { members: unknown[] }).members).toMatchObject([{ instance: 'api', state: 'live', connected: true }]);
    expect((first.status().hub as MemberLinkStatus).lastError).toBeNull();
    // A real second process (a new one started before the old one stops, as a rolling restart does): refused while the first lives...
    const second = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'api', retryMaxMs: 500 } });
    second.record('named_rt', 7);
    const refusal = await waitFor(() => (second.status().hub as MemberLinkStatus).lastError ?? undefined, 10_000, 'the refusal');
    expect(refusal.message).toMatch(/the hub refused this member: hub.instance: member "api" is the name of another live member/);
    // ...and welcomed once the first stopped cleanly, its buckets held meanwhile.
    await first.stop();
    const arrived = () => hub.getMetrics().find((s) => s.name === 'named_rt' && s.tags.instance === 'api')?.totalSum;
    await waitFor(() => arrived() === 7, 20_000, "the second's bucket on the hub");
    expect(second.status().hub).toMatchObject({ connected: true, dropped: 0 });
  });

  it("a member named as the hub's export.instance is refused at its hello, naming hub.instance: its series and the cluster-wide ones pushed under that name would be one series in Prometheus", async () => {
    const r = await new Receiver().listen(0);
    try {
      const path = nodes.socketPath();
      const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path }, export: { remoteWrite: [{ url: r.url, intervalMs: 3_600_000 }], instance: 'box:1' } });
      const message = 'member "box:1" has the name this hub exports its cluster-wide series under (the hub\'s export.instance): in Prometheus they would be the same series, and the cluster total would vanish; give the member another hub.instance, or the hub another export.instance';
      const raw = await rawMember(path);
      raw.send({ t: 'hello', instance: 'box:1', epoch: 'e', intervalMs: 1000 });
      expect(await raw.answer(1)).toEqual({ t: 'reject', field: 'hub.instance', message });
      await raw.closed();
      expect(hub.status().hub).toMatchObject({ members: [], lastError: { message } });
      // A real member says why in its own status, and another name is welcomed.
      const named = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'box:1' } });
      const refusal = await waitFor(() => (named.status().hub as MemberLinkStatus).lastError ?? undefined, 10_000, 'the refusal');
      expect(refusal.message).toBe(`the hub refused this member: hub.instance: ${message}`);
      const other = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'box:2' } });
      await waitFor(() => (other.status().hub as MemberLinkStatus).connected, 10_000, 'the other member welcomed');
      expect((hub.status().hub as { members: { instance: string }[] }).members.map((m) => m.instance)).toEqual(['box:2']);
    } finally {
      await r.close();
    }
  });

  it('a member refused by its hub, or with the hub away, that stops counts what it held as dropped and says so: it left them behind with dropped 0 and no word', async () => {
    const path = nodes.socketPath();
    await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const refused = await started({ collectionIntervalMs: 2000, hub: { connect: path, instance: 'slow', retryMaxMs: 2000 } });
    const away = await started({ collectionIntervalMs: 1000, hub: { connect: nodes.socketPath(), instance: 'alone', retryMaxMs: 2000 } });
    for (const m of [refused, away]) {
      const link = () => m.status().hub as MemberLinkStatus;
      m.record('held_rt', 1);
      await waitFor(() => link().queueDepth > 0 && link().lastError !== null, 20_000, 'a held bucket and the reason');
      await m.stop();
      const s = link();
      expect(s).toMatchObject({ queueDepth: 0, sent: 0 });
      expect(s.dropped).toBeGreaterThan(0);
      // The failure that kept them is said after it.
      expect(s.lastError?.message).toMatch(new RegExp(`^the monitor stopped with buckets the hub had not acknowledged: ${s.dropped} buckets? \\(\\d+ batch(es)?\\) never sent, counted as dropped; the last failure before it: .+`));
    }
  });

  // Until 2026-12-06 the hub welcomed such a member: each batch cut to the member's limit and
  // longer than the hub's reset its link (46 resets in 5 s), the member sent it again at each
  // reconnection, nothing arrived, its lastError quoted the hub's 65536 as if it were its own,
  // and at stop it said 18,048 buckets "sent and not acknowledged (the hub may have applied them)".
  it("a member whose hub.maxFrameBytes is larger than the hub's is refused at its hello, naming the field and both values: no link reset, and at stop its buckets are said never sent", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path, maxFrameBytes: 65_536 } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'wide' } });
    const link = () => member.status().hub as MemberLinkStatus;
    for (let i = 0; i < 50; i++) member.record('wide_rt', i + 1, { k: String(i) });
    const said = 'member "wide" sends frames of up to 16777216 bytes (its hub.maxFrameBytes) and this hub reads at most 65536 (the hub\'s hub.maxFrameBytes): give the member the hub\'s value or a smaller one';
    const first = await waitFor(() => link().lastError ?? undefined, 10_000, 'the refusal');
    expect(first.message).toBe(`the hub refused this member: hub.maxFrameBytes: ${said}`);
    await member.flush();
    await waitFor(() => link().queueDepth > 0 || undefined, 10_000, 'held buckets');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const h = hub.status().hub as { malformed: number; members: unknown[]; lastError: { message: string } | null };
    expect(h).toMatchObject({ malformed: 0, members: [], lastError: { message: said } });
    expect(link()).toMatchObject({ connected: false, sent: 0 });
    await member.stop();
    const stopped = link();
    // Never written on the link: none that the hub "may have applied".
    expect(stopped.lastError?.message).toMatch(new RegExp(`^the monitor stopped with buckets the hub had not acknowledged: ${stopped.dropped} buckets \\(\\d+ batch(es)?\\) never sent, counted as dropped; the last failure before it: the hub refused this member: hub.maxFrameBytes: member "wide" sends frames`));
    expect(stopped.lastError?.message.endsWith(said)).toBe(true);
    expect(stopped.dropped).toBeGreaterThanOrEqual(50);

    // A member whose limit is the hub's, or smaller, is welcomed.
    const narrow = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'narrow', maxFrameBytes: 32_768 } });
    await waitFor(() => (narrow.status().hub as MemberLinkStatus).connected || undefined, 10_000, 'the narrow member welcomed');
  });
});
