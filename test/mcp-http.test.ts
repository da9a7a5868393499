import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { PerformanceMonitor, type McpHttpServer } from '../dist/src/index.js';
import * as schemas from '../dist/src/mcp/tools/index.js';
import { StatusOutput } from '../dist/src/mcp/status-answer.js';
import { z } from 'zod';
import { CLI, TOOLS, checkToolList, coreHappyPath, fails, ok, quietConfig, type AnyClient } from './mcp-helpers.js';

const TOKEN = 'test-token-0123456789abcdef';
/** How the v2 clients authenticate: a provider asked before every request. */
const authProvider = { token: async () => TOKEN };

describe('monitor.serveMcp: Streamable HTTP on 127.0.0.1, with a token', () => {
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

  it('listens on 127.0.0.1 at /mcp', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  });

  const clients: [string, () => { client: AnyClient & { close(): Promise<void> }; connect: () => Promise<void> }][] = [
    [
      'SDK v2 client, 2025-11-25 (a session)',
      () => {
        const client = new Client({ name: 'http-legacy', version: '1.0.0' });
        return { client: client as unknown as AnyClient & { close(): Promise<void> }, connect: () => client.connect(new StreamableHTTPClientTransport(new URL(server.url), { authProvider })) };
      },
    ],
    [
      'SDK v2 client, 2026-07-28',
      () => {
        const client = new Client({ name: 'http-modern', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
        return { client: client as unknown as AnyClient & { close(): Promise<void> }, connect: () => client.connect(new StreamableHTTPClientTransport(new URL(server.url), { authProvider })) };
      },
    ],
    [
      'SDK v1 client',
      () => {
        const client = new V1Client({ name: 'http-v1', version: '1.0.0' });
        return { client: client as unknown as AnyClient & { close(): Promise<void> }, connect: () => client.connect(new V1StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } })) };
      },
    ],
  ];

  for (const [name, make] of clients) {
    it(`serves the happy path of every tool to the ${name}`, async () => {
      const { client, connect } = make();
      await connect();
      try {
        await checkToolList(client, TOOLS);
        await coreHappyPath(client, `http_${name.replace(/[^a-z0-9]+/gi, '_')}`);
      } finally {
        await client.close();
      }
    });
  }

  it('keeps an embedded monitor the service\'s own: no discarding, no new options', async () => {
    const client = new Client({ name: 'http-guard', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { authProvider }));
    try {
      expect(await fails(client as unknown as AnyClient, 'stop_performance_monitoring', { preserve_data: false })).toBe(
        'PW_ERR_INVALID_ARG: preserve_data cannot be false for a monitor embedded in a service: its data belongs to the service',
      );
      expect(await fails(client as unknown as AnyClient, 'start_performance_monitoring', { collection_interval: 5 })).toMatch(/collection_interval cannot change the options of a monitor embedded in a service/);
      // Refused before the path is looked at: the answer is the same whatever it names.
      for (const path of ['/etc/passwd', '/no/such/file.json', quietConfig()]) {
        expect(await fails(client as unknown as AnyClient, 'start_performance_monitoring', { config_path: path })).toBe(
          'PW_ERR_INVALID_ARG: config_path cannot change the options of a monitor embedded in a service: its options are set by the service',
        );
      }
      expect(monitor.running).toBe(true);
      await ok(client as unknown as AnyClient, 'get_monitoring_status', {}, StatusOutput);
    } finally {
      await client.close();
    }
  });

  it('sends a 2025-era HTTP session the alert log message on its GET stream', async () => {
    const client = new Client({ name: 'http-alerts', version: '1.0.0' });
    const logs: { level: string; data: Record<string, unknown> }[] = [];
    client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params as never));
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { authProvider }));
    try {
      const created = await ok(client as unknown as AnyClient, 'create_performance_alert_rule', { metric_type: 'http_notify', operator: '>', threshold: 5, severity: 'emergency' }, z.object({ rule: z.object({ id: z.string() }).loose() }));
      // The client opens its standalone GET stream by itself after initialize, and a message
      // sent before that is not replayed: until one arrives, alternate the value so that each
      // round is a new episode (resolved, then firing again).
      let high = false;
      await expect
        .poll(
          async () => {
            // Transitions close together arrive as one grouped message: look in its first ones too.
            const firing = (l: (typeof logs)[number]) => [l.data, ...((l.data.first as Record<string, unknown>[] | undefined) ?? [])].find((t) => t.rule_id === (created.rule as { id: string }).id && t.to === 'firing');
            const got = logs.find(firing);
            if (got) return { level: got.level, data: firing(got) };
            high = !high;
            monitor.record('http_notify', high ? 50 : 1);
            await monitor.flush();
            return undefined;
          },
          { timeout: 15_000, interval: 200 },
        )
        .toMatchObject({ level: 'emergency', data: { metric_type: 'http_notify', value: 50 } });
    } finally {
      await client.close();
    }
  });

  it('refuses requests from a browser page of another origin, and bodies that are not JSON', async () => {
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${TOKEN}` };
    const evil = await fetch(server.url, { method: 'POST', headers: { ...headers, origin: 'https://evil.example' }, body: JSON.stringify(init) });
    expect(evil.status).toBe(403);
    const garbage = await fetch(server.url, { method: 'POST', headers, body: 'not json' });
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toMatchObject({ error: { code: -32700 } });
    const elsewhere = await fetch(server.url.replace('/mcp', '/other'), { method: 'POST', headers, body: JSON.stringify(init) });
    expect(elsewhere.status).toBe(404);
  });
});

describe('perfwatch serve --mcp-http', () => {
  it('prints the endpoint and serves the tools of the monitor it runs', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--mcp-http', '0', '--every', '3600', '--config', quietConfig()], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PERFWATCH_TOKEN: TOKEN },
    });
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
          const m = /MCP over Streamable HTTP at (http:\/\/127\.0\.0\.1:\d+\/mcp) \(clients must send PERFWATCH_TOKEN\)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
      });
      expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
      const client = new Client({ name: 'serve-client', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider }));
      await ok(client as unknown as AnyClient, 'record_performance_metric', { metric_type: 'served', value: 3 }, schemas.RecordOutput);
      const m = await ok(client as unknown as AnyClient, 'get_performance_metrics', { metric_types: ['served'] }, schemas.MetricsOutput);
      expect(m.metrics).toMatchObject([{ total_count: 1, last: 3 }]);
      await client.close();
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
  });
});
