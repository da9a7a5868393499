/**
 * A member's batch and the hub's maxFrameBytes: an interval whose buckets (with their series'
 * definitions) make a frame longer than it goes as several batches, each within it. Until
 * 2026-12-01 a batch was an interval's buckets whatever their size: the hub reset the link
 * for the frame (malformed), the member sent that batch again at each reconnection, and
 * nothing it held reached the hub again.
 */
import { describe, expect, it } from 'vitest';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();

describe("a member's interval larger than maxFrameBytes", () => {
  it('goes as several batches, each frame within it: every bucket reaches the hub, no link reset', async () => {
    const path = nodes.socketPath();
    const maxFrameBytes = 65_536;
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path, maxFrameBytes } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'wide', maxFrameBytes } });
    // 3,000 series in one interval: some 300 KB of rows and definitions.
    const series = 3000;
    for (let i = 0; i < series; i++) member.record('wide_rt', i + 1, { k: `series-${i}` });
    await member.flush();
    const link = await waitFor(() => {
      const s = member.status().hub as { sent: number; queueDepth: number };
      return s.sent >= series && s.queueDepth === 0 ? s : undefined;
    }, 20_000, 'the hub to acknowledge every bucket');
    expect(link).toMatchObject({ failed: 0, dropped: 0, lastError: null });
    expect((hub.status().hub as { malformed: number }).malformed).toBe(0);
    const onHub = hub.getMetrics({ names: ['wide_rt'] });
    const members = onHub.filter((s) => s.tags.instance === 'wide');
    const cluster = onHub.filter((s) => !('instance' in s.tags));
    for (const side of [members, cluster]) {
      expect(side).toHaveLength(series);
      expect(side.reduce((a, s) => a + s.totalCount, 0)).toBe(series);
      expect(side.reduce((a, s) => a + s.totalSum, 0)).toBe((series * (series + 1)) / 2);
    }
  });
});
