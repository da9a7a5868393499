/**
 * Connections that send nothing do not lock clients out (http-listen.ts): at maxConnections,
 * the oldest connection without a request yet gives its place to a new one.
 */
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { INIT, JSON_HEADERS, useServing } from './http-helpers.js';
import { waitFor } from './helpers.js';

const { serving } = useServing();

describe('silent connections at maxConnections', () => {
  it('give their place to a client that sends a request', async () => {
    const { server } = await serving({ port: 0, maxConnections: 4, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 });
    const sockets: Socket[] = [];
    const closed: boolean[] = [];
    try {
      for (let k = 0; k < 4; k++) {
        const s = connect(server.port, '127.0.0.1');
        s.on('error', () => {});
        closed.push(false);
        s.once('close', () => (closed[k] = true));
        await new Promise((resolve) => s.once('connect', resolve));
        sockets.push(s);
      }
      // The four hold the cap and send nothing: a real client is still answered.
      for (let k = 0; k < 3; k++) {
        const r = await fetch(server.url, { method: 'POST', headers: { ...JSON_HEADERS, connection: 'close' }, body: JSON.stringify(INIT) });
        expect(r.status).toBe(200);
        await r.body?.cancel();
      }
      // The oldest silent ones were closed to make room, one per client.
      await waitFor(() => closed[0] === true, 20_000, 'the oldest silent connection to be closed');
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});
