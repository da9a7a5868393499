/**
 * A read or subscription of a URI the server has no resource at. The SDK answered a read with
 * the URI whole, twice (message and data), and a legacy session kept every URI it was asked
 * to subscribe to, for as long as it lived; both are refused in bounded words now.
 */
import { describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { monitorStarter } from './helpers.js';
import { connectInMemory } from './mcp-helpers.js';

const started = monitorStarter();
const RESOURCES = 'perfwatch://status, perfwatch://alerts, perfwatch://report/latest';

interface Refusal {
  code: number;
  message: string;
  data?: { uri?: string };
}

async function refusal(request: Promise<unknown>): Promise<Refusal> {
  const error = (await request.then(
    () => {
      throw new Error('the request was answered');
    },
    (e: unknown) => e,
  )) as Refusal;
  return { code: error.code, message: error.message, data: error.data };
}

describe('a resource URI the server has none at', () => {
  it('is refused on read with the URI cut, saying so, and the resources named', async () => {
    const client = await connectInMemory(await started(), 'unknown-resource');
    expect(client.getServerCapabilities()?.resources).toEqual({ listChanged: true, subscribe: true });
    const typo = await refusal(client.readResource({ uri: 'perfwatch://statuss' }));
    expect(typo.code).toBe(-32602);
    expect(typo.message).toContain(`Resource not found: perfwatch://statuss; the resources: ${RESOURCES}`);
    expect(typo.data?.uri).toBe('perfwatch://statuss');
    const long = `perfwatch://${'x'.repeat(1 << 20)}`;
    const cut = await refusal(client.readResource({ uri: long }));
    expect(cut.code).toBe(-32602);
    expect(JSON.stringify(cut).length).toBeLessThan(400);
    expect(cut.message).toContain(`Resource not found: perfwatch://${'x'.repeat(64 - 12)}… (cut: a name of ${long.length} characters)`);
    // Not even a URI: refused the same, not echoed.
    const junk = await refusal(client.readResource({ uri: ' '.repeat(1 << 20) }));
    expect(JSON.stringify(junk).length).toBeLessThan(400);
    // The resources there still answer.
    const status = await client.readResource({ uri: 'perfwatch://status' });
    expect(status.contents[0]!.uri).toBe('perfwatch://status');
  });

  it('is refused on subscribe, and a resource subscribed to is still told of changes', async () => {
    const client = await connectInMemory(await started(), 'unknown-resource-subscribe');
    for (let i = 0; i < 3; i++) {
      const refused = await refusal(client.subscribeResource({ uri: `perfwatch://nothing/${i}/${'y'.repeat(1 << 16)}` }));
      expect(refused.code).toBe(-32602);
      expect(refused.message).toContain('(cut: a name of');
      expect(refused.message).toContain(`the resources: ${RESOURCES}`);
    }
    await client.subscribeResource({ uri: 'perfwatch://alerts' });
    await client.unsubscribeResource({ uri: 'perfwatch://nothing' });
    await client.unsubscribeResource({ uri: 'perfwatch://alerts' });
  });

  it('is refused in bounded words over HTTP too', async () => {
    const m = await started();
    const server = await m.serveMcp({ port: 0 });
    const client = new Client({ name: 'unknown-resource-http', version: '1.0.0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
      const answer = await refusal(client.readResource({ uri: `perfwatch://${'z'.repeat(1 << 20)}` }));
      expect(answer.code).toBe(-32602);
      expect(answer.message).toMatch(/^Resource not found: perfwatch:\/\/z{52}… \(cut: a name of 1048588 characters\); the resources: /);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
