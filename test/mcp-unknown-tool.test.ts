/**
 * A tools/call naming no tool. The SDK answered `Tool <name> not found` with the name whole,
 * so a client that sent a megabyte of name got a megabyte back; the answer cuts the name,
 * says so, and names the tools nearest to it.
 */
import { describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { monitorStarter } from './helpers.js';
import { connectInMemory, type AnyClient } from './mcp-helpers.js';

const started = monitorStarter();

/** The JSON-RPC error a call of `name` is answered with. */
async function refusal(client: AnyClient, name: string): Promise<{ code: number; message: string }> {
  const error = (await client.callTool({ name, arguments: {} }).then(
    () => {
      throw new Error(`${name.slice(0, 40)} was called`);
    },
    (e: unknown) => e,
  )) as { code: number; message: string };
  return { code: error.code, message: error.message };
}

describe('a call of a tool that does not exist', () => {
  it('is answered with the name cut, saying so, and the nearest tools', async () => {
    const client = (await connectInMemory(await started(), 'unknown-tool')) as unknown as AnyClient;
    expect(await refusal(client, 'get_performance_metrix')).toEqual({
      code: -32602,
      message: 'Tool get_performance_metrix not found; the nearest: get_performance_metrics, get_performance_alerts, record_performance_metric',
    });
    const long = await refusal(client, `get_performance_metrics${'x'.repeat(1 << 20)}`);
    expect(long.code).toBe(-32602);
    expect(long.message.length).toBeLessThan(300);
    expect(long.message).toBe(`Tool get_performance_metrics${'x'.repeat(41)}… (cut: a name of ${23 + (1 << 20)} characters) not found; the nearest: get_performance_metrics, get_performance_alerts, record_performance_metric`);
    // The tools there are still answer.
    expect((await client.callTool({ name: 'get_monitoring_status', arguments: {} }) as { isError?: boolean }).isError).toBeFalsy();
  });

  it('is answered in bounded words over HTTP too', async () => {
    const m = await started();
    const server = await m.serveMcp({ port: 0 });
    const client = new Client({ name: 'unknown-tool-http', version: '1.0.0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
      const answer = await refusal(client as unknown as AnyClient, 'y'.repeat(1 << 20));
      expect(answer.code).toBe(-32602);
      expect(answer.message).toMatch(/^Tool y{64}… \(cut: a name of 1048576 characters\) not found; the nearest: /);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
