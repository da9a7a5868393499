/**
 * logging/setLevel over Streamable HTTP is each session's own: the SDK keeps a session's level
 * under its Mcp-Session-Id, and an alert's log message must be sent with that id to be filtered.
 * (A trial saw a session at `emergency` get `critical` firing and `notice` resolution messages.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { PerformanceMonitor, type McpHttpServer } from '../dist/src/index.js';
import { z } from 'zod';
import { ok, type AnyClient } from './mcp-helpers.js';

const TOKEN = 'test-token-0123456789abcdef';
type Log = { level: string; data: Record<string, unknown> };

/** The transitions a log message carries: itself, or the first ones of a grouped message. */
function transitions(log: Log): Record<string, unknown>[] {
  return [log.data, ...((log.data.first as Record<string, unknown>[] | undefined) ?? [])];
}
/** The log messages in `logs` about `ruleId` going `to`. */
function about(logs: Log[], ruleId: string, to: string): Log[] {
  return logs.filter((l) => transitions(l).some((t) => t.rule_id === ruleId && t.to === to));
}

describe('logging/setLevel on Streamable HTTP sessions', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
  let server: McpHttpServer;

  beforeAll(async () => {
    await monitor.start();
    server = await monitor.serveMcp({ port: 0, token: TOKEN });
  });
  afterAll(async () => {
    await server.close();
    await monitor.stop();
  });

  it('filters alert log messages by each HTTP session\'s own level', async () => {
    // One session at emergency (the v2 client), one at info (the v1 client).
    const quiet = new Client({ name: 'quiet', version: '1.0.0' });
    const quietLogs: Log[] = [];
    quiet.setNotificationHandler('notifications/message', (n) => void quietLogs.push(n.params as never));
    await quiet.connect(new StreamableHTTPClientTransport(new URL(server.url), { authProvider: { token: async () => TOKEN } }));
    const chatty = new V1Client({ name: 'chatty', version: '1.0.0' });
    const chattyLogs: Log[] = [];
    chatty.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void chattyLogs.push(n.params as never));
    await chatty.connect(new V1StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }));
    try {
      await quiet.setLoggingLevel('emergency');
      await chatty.setLoggingLevel('info');
      const RuleId = z.object({ rule: z.object({ id: z.string() }).loose() });
      const canary = (await ok(quiet as unknown as AnyClient, 'create_performance_alert_rule', { metric_type: 'level_canary', operator: '>', threshold: 5, severity: 'emergency' }, RuleId)).rule.id;
      const rule = (await ok(quiet as unknown as AnyClient, 'create_performance_alert_rule', { metric_type: 'level_critical', operator: '>', threshold: 5, severity: 'critical' }, RuleId)).rule.id;

      // The clients open their GET streams by themselves after initialize, and a message sent
      // before that is lost: an emergency alert, which both levels let through, tells when
      // both streams are open (alternating the value makes each round a new episode).
      let high = false;
      await expect
        .poll(
          async () => {
            if (about(quietLogs, canary, 'firing').length > 0 && about(chattyLogs, canary, 'firing').length > 0) return true;
            high = !high;
            monitor.record('level_canary', high ? 50 : 1);
            await monitor.flush();
            return false;
          },
          { timeout: 15_000, interval: 200 },
        )
        .toBe(true);

      // One critical episode: firing (critical), then resolved (notice).
      monitor.record('level_critical', 50);
      await monitor.flush();
      await expect.poll(() => about(chattyLogs, rule, 'firing').length, { timeout: 10_000 }).toBe(1);
      monitor.record('level_critical', 1);
      await monitor.flush();
      await expect.poll(() => about(chattyLogs, rule, 'resolved').length, { timeout: 10_000 }).toBe(1);
      await new Promise((r) => setTimeout(r, 500));

      expect(about(chattyLogs, rule, 'firing').map((l) => l.level)).toEqual(['critical']);
      expect(about(chattyLogs, rule, 'resolved').map((l) => l.level)).toEqual(['notice']);
      // The session at emergency got neither, nor any message below emergency.
      expect(about(quietLogs, rule, 'firing')).toEqual([]);
      expect(about(quietLogs, rule, 'resolved')).toEqual([]);
      expect(quietLogs.filter((l) => l.level !== 'emergency')).toEqual([]);
    } finally {
      await quiet.close();
      await chatty.close();
    }
  });
});
