/**
 * An MCP-Protocol-Version header naming a version the server does not serve is answered 400
 * (MCP 2025-06-18, Streamable HTTP, "Protocol Version Header"), on an initialize as on a
 * session's requests.
 */
import { describe, expect, it } from 'vitest';
import { INIT, JSON_HEADERS, useServing } from './http-helpers.js';

const { serving } = useServing();

describe('the MCP-Protocol-Version header', () => {
  it('naming an unsupported version is refused on initialize, and a supported one taken', async () => {
    const { server } = await serving({ port: 0 });
    const bad = await fetch(server.url, { method: 'POST', headers: { ...JSON_HEADERS, 'mcp-protocol-version': '1999-01-01' }, body: JSON.stringify(INIT) });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('mcp-session-id')).toBeNull();
    expect(await bad.json()).toMatchObject({ error: { code: -32000, message: expect.stringContaining('Unsupported protocol version in the MCP-Protocol-Version header: "1999-01-01"') } });
    expect(server.status().sessions.count).toBe(0);
    const good = await fetch(server.url, { method: 'POST', headers: { ...JSON_HEADERS, 'mcp-protocol-version': '2025-06-18' }, body: JSON.stringify(INIT) });
    expect(good.status).toBe(200);
    await good.body?.cancel();
    const sid = good.headers.get('mcp-session-id')!;
    // A session's request with one: the SDK's own check, kept.
    const list = await fetch(server.url, { method: 'POST', headers: { ...JSON_HEADERS, 'mcp-session-id': sid, 'mcp-protocol-version': '1999-01-01' }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
    expect(list.status).toBe(400);
    await list.body?.cancel();
  });
});
