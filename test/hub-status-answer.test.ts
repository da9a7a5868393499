/**
 * The hub link in an agent's status answer (get_monitoring_status; docs/cluster.md, Status):
 * a hub's members with their state and lag, the ones to look at first, bounded; a member's
 * own link.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { hubLines } from '../dist/src/mcp/status-answer.js';
import type { HubStatus } from '../dist/src/hub/hub.js';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes } from './hub-helpers.js';
import { call, text, type AnyClient } from './mcp-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();

describe("the hub in the status answer", () => {
  it("a hub's members and a member's link, over MCP from the hub", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'api-1' } });
    member.record('status_rt', 1);
    await waitFor(() => ((hub.status().hub as HubStatus).members[0]?.buckets ?? 0) > 0, 10_000, "the member's bucket");
    const server = await hub.serveMcp({ port: 0 });
    const client = new Client({ name: 'status', version: '1.0.0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
      const said = text(await call(client as unknown as AnyClient, 'get_monitoring_status'));
      expect(said).toMatch(new RegExp(`^hub on ${path} \\(socket\\): 1 members \\(1 live, 0 stale, 0 stopped\\), 0 forgotten, 0 malformed messages$`, 'm'));
      expect(said).toMatch(/^ {2}member "api-1" live, connected via socket: [1-9]\d* buckets applied, failed 0, dropped 0, queue 0, lag [\d.]+ s, last heard [\d.]+ s ago$/m);
    } finally {
      await client.close();
      await server.close();
    }
    expect(hubLines(member.status().hub)).toEqual([expect.stringMatching(new RegExp(`^hub member "api-1" of ${path} \\(socket\\): connected via socket, sent [1-9]\\d* buckets, failed 0, dropped 0, queue \\d+, lag [\\d.]+ s$`))]);
  });

  it('lists at most 10 members, stale ones first, then the most behind, and counts the rest', () => {
    const member = (i: number, state: 'live' | 'stale' | 'stopped', lagMs: number) => ({ instance: `m${i}`, state, connected: state === 'live', via: state === 'live' ? ('socket' as const) : null, buckets: 1, batches: 1, failed: 0, dropped: 0, queueDepth: 0, lagMs, lastSeenMs: 10, lastError: null });
    const members = Array.from({ length: 14 }, (_, i) => member(i, i === 12 ? 'stale' : i === 13 ? 'stopped' : 'live', 1000 * i));
    const status: HubStatus = { role: 'hub', transport: 'socket', address: '/run/h.sock', members, malformed: 0, forgotten: 2, reclaimed: 0, connections: { open: 3, limit: 512, refused: 0, noHello: 0 }, lastError: { message: 'x'.repeat(1000), at: 0 } };
    const lines = hubLines(status);
    expect(lines[0]).toMatch(/^hub on \/run\/h.sock \(socket\): 14 members \(12 live, 1 stale, 1 stopped\), 2 forgotten, 0 malformed messages; last error: x{199}…$/);
    expect(lines.slice(1, 11).map((l) => l.match(/member "(m\d+)"/)![1])).toEqual(['m12', 'm13', 'm11', 'm10', 'm9', 'm8', 'm7', 'm6', 'm5', 'm4']);
    expect(lines[11]).toBe('  … and 4 more members: status().hub in the library, monitor_hub_* on /metrics');
    expect(lines).toHaveLength(12);
  });
});
