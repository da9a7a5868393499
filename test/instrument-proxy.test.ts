import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Agent, ProxyAgent, getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { PerformanceMonitor } from '../dist/src/index.js';
import { monitorStarter, waitFor } from './helpers.js';

/**
 * Outgoing calls through a forward proxy: undici's ProxyAgent (how a Node 20 service sends
 * fetch() through a proxy) opens each connection with a CONNECT to the proxy, published on
 * undici's channels as a request of its own, answered by the proxy; tunnelling libraries over
 * node:http send CONNECT through http.request(). The service made the calls sent through the
 * tunnels, and only those.
 */
const started = monitorStarter();
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
let dispatcher: Dispatcher | undefined;
afterEach(async () => {
  if (dispatcher !== undefined) setGlobalDispatcher(dispatcher);
  dispatcher = undefined;
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen<T extends net.Server>(server: T): Promise<T> {
  servers.push(server);
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}
const hostOf = (s: net.Server) => `127.0.0.1:${(s.address() as AddressInfo).port}`;

/** A forward proxy that tunnels every CONNECT to where it asks, or refuses each with 407. */
async function proxy(refuse = false): Promise<{ server: http.Server; tunnels: () => number }> {
  let tunnels = 0;
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
    if (refuse) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    tunnels++;
    const [host, port] = req.url!.split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  return { server: await listen(server), tunnels: () => tunnels };
}

function seriesTotals(m: PerformanceMonitor, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of m.getMetrics({ names: [name] })) out[`${s.tags.method} ${s.tags.host} ${s.tags.status_class ?? ''}`.trim()] = s.totalCount;
  return out;
}

async function settled(m: PerformanceMonitor, name: string, n: number): Promise<void> {
  await waitFor(async () => {
    await m.flush();
    return Object.values(seriesTotals(m, name)).reduce((a, b) => a + b, 0) >= n;
  }, 15_000, `${n} samples of ${name}`);
}

describe('instrument(): calls through a forward proxy', () => {
  it("records each fetch() through undici's ProxyAgent once, under the host it called, and none of the proxy's CONNECTs that opened its tunnels", async () => {
    const m = await started();
    m.instrument({ httpServer: false });
    // Each answer closes its connection, so each call opens a tunnel of its own.
    const target = await listen(http.createServer((_req, res) => res.writeHead(200, { connection: 'close' }).end('ok')));
    const { server, tunnels } = await proxy();
    dispatcher = getGlobalDispatcher();
    setGlobalDispatcher(new ProxyAgent(`http://${hostOf(server)}`));
    for (let i = 0; i < 6; i++) await fetch(`http://${hostOf(target)}/items/${i}`).then((r) => r.text());
    expect(tunnels()).toBe(6);
    await settled(m, 'api_response_time', 6);
    expect(seriesTotals(m, 'api_response_time')).toEqual({ [`GET ${hostOf(target)} 2xx`]: 6 });
    expect(seriesTotals(m, 'api_error_rate')).toEqual({ [`GET ${hostOf(target)}`]: 6 });
  });

  it('records a fetch() whose tunnel the proxy refuses (407) as one failed call to the host it called, not a second call to the proxy', async () => {
    const m = await started();
    m.instrument({ httpServer: false });
    const target = await listen(http.createServer((_req, res) => res.end('ok')));
    const { server } = await proxy(true);
    dispatcher = getGlobalDispatcher();
    setGlobalDispatcher(new ProxyAgent(`http://${hostOf(server)}`));
    await expect(fetch(`http://${hostOf(target)}/items/1`)).rejects.toThrow();
    // A call after it, not through the proxy, so that everything before it has been recorded when it is.
    setGlobalDispatcher(new Agent());
    await fetch(`http://${hostOf(target)}/after`).then((r) => r.text());
    await settled(m, 'api_error_rate', 2);
    expect(seriesTotals(m, 'api_error_rate')).toEqual({ [`GET ${hostOf(target)}`]: 2 });
    expect(m.getMetrics({ names: ['api_error_rate'] })[0]!.totalSum).toBe(1);
    expect(seriesTotals(m, 'api_response_time')).toEqual({ [`GET ${hostOf(target)} error`]: 1, [`GET ${hostOf(target)} 2xx`]: 1 });
  });

  it('records no CONNECT of node:http (a tunnelling library), neither one the proxy answered nor one that failed, and counts none untimed', async () => {
    const m = await started();
    m.instrument({ httpServer: false });
    const target = await listen(http.createServer((_req, res) => res.end('ok')));
    const { server } = await proxy();
    const closed = await listen(net.createServer());
    const closedHost = hostOf(closed);
    await new Promise((r) => servers.pop()!.close(r));
    const connect = (host: string) =>
      new Promise<void>((resolve) => {
        const [hostname, port] = host.split(':');
        const req = http.request({ host: hostname, port: Number(port), method: 'CONNECT', path: hostOf(target) });
        req.on('connect', (_res, socket) => {
          socket.destroy();
          resolve();
        });
        req.on('error', () => resolve());
        req.end();
      });
    await connect(hostOf(server));
    await connect(closedHost);
    await new Promise<void>((resolve) => http.get(`http://${hostOf(target)}/after`, (r) => r.resume().on('end', resolve)));
    await settled(m, 'api_error_rate', 1);
    expect(seriesTotals(m, 'api_error_rate')).toEqual({ [`GET ${hostOf(target)}`]: 1 });
    expect(m.status().instrument!.httpClient).toMatchObject({ untimed: 0, hosts: 1 });
  });
});
