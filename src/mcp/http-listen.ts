/**
 * The HTTP server every perfwatch endpoint listens with (serveMcp, serveHttp): one Node
 * server under the policy's connection limits (maxConnections, header and request timeouts,
 * so a slowloris client is cut off) and one request guard (Host/Origin, then the bearer token,
 * http-guard.ts) that runs before any route sees the request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { bearerCheck, checkHostAndOrigin, jsonError, type Refusal, type Unauthorized } from './http-guard.js';
import type { HttpPolicy } from './http-options.js';
import { markOwnServer } from '../instrument/http-server.js';
import { InvalidArgumentError } from '../errors.js';

/** How browsers pass the token check (http/browser-session.ts); serveMcp has none. */
export interface BrowserAccess {
  /** The request's Origin is this server's own. */
  sameOrigin(req: IncomingMessage): boolean;
  /** Answers a sign-in (`?token=`) itself, with true. */
  signIn(req: IncomingMessage, res: ServerResponse): boolean;
  /** The request carries a valid session cookie for a path that takes one. */
  hasSession(req: IncomingMessage): boolean;
  /** Why a request that signIn() did not take is refused, where it tried to sign in (a `?token=` that is not the token); undefined otherwise. */
  signInRefused(req: IncomingMessage): string | undefined;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface Listening {
  /** `http://host:port` (IPv6 in brackets), without a path. */
  readonly origin: string;
  readonly port: number;
  readonly server: Server;
  /** Connections open now, the cap, those refused at the cap since the start, and those closed at the cap, without a request yet, to make room. */
  connections(): { open: number; limit: number; refused: number; evicted: number };
  /** Stops accepting, ends every connection (open streams included). */
  close(): Promise<void>;
}

/**
 * Why a server could not listen, naming the option to change: a port in use or closed to
 * this process, a host that is not this machine's. Anything else as it came.
 */
function listenError(host: string, port: number, error: Error): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new InvalidArgumentError('port', `${port} on ${host} is in use by another process: choose another port (0: any free one)`);
  if (code === 'EACCES' || code === 'EPERM') return new InvalidArgumentError('port', `${port} on ${host} may not be opened by this process (${code}; ports below 1024 need privileges): choose another port`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new InvalidArgumentError('host', `${host} is not an address of this machine (${code}): give one of its addresses, such as 127.0.0.1`);
  return error;
}

/** Listens on the policy's host and port; every request passes the guard (a Host/Origin refusal answered by `refuse`: JSON-RPC by default), then `handle`. */
export async function listenGuarded(policy: HttpPolicy, handle: RequestHandler, onerror: (error: Error) => void, browser?: BrowserAccess, refuse?: Refusal, unauthorized?: Unauthorized): Promise<Listening> {
  const authorized = policy.token === undefined ? undefined : bearerCheck(policy.token, unauthorized);
  // Only a server with a token lets a same-origin page through without an allow-list.
  const browsers = authorized === undefined ? undefined : browser;
  const guarded = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!checkHostAndOrigin(req, res, policy.allowedHosts, browsers?.sameOrigin(req) ?? false, refuse)) return;
    if (authorized) {
      if (browsers?.signIn(req, res)) return;
      if (!(browsers?.hasSession(req) ?? false) && !(await authorized(req, res, browsers?.signInRefused(req)))) return;
    }
    await handle(req, res);
  };
  const server: Server = createServer(
    {
      headersTimeout: policy.headersTimeoutMs,
      requestTimeout: policy.requestTimeoutMs,
      // How often Node checks those two timeouts (its default, 30 s, would let them run late).
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, policy.headersTimeoutMs / 4)),
      // A request without Host is refused by the guard, in the server's own shape naming `host`:
      // Node's own check answered a bare 400 with no body.
      requireHostHeader: false,
    },
    (req, res) => {
      guarded(req, res).catch((error: unknown) => {
        onerror(error instanceof Error ? error : new Error(String(error)));
        jsonError(res, 500, -32603, 'Internal error');
      });
    },
  );
  // maxConnections is kept here rather than by Node's server.maxConnections, which refused a
  // new connection while the cap was held by connections that had sent nothing (256 silent
  // TCP connects locked every client out until headersTimeoutMs): at the cap, the oldest
  // connection without a whole request yet gives its place; only when every connection has
  // had one is the new one closed.
  const waiting = new Set<Socket>();
  server.on('request', (req: IncomingMessage) => waiting.delete(req.socket));
  // Its requests are the monitor's, not the service's: instrument() leaves them out.
  markOwnServer(server);
  let open = 0;
  let refused = 0;
  let evicted = 0;
  // Neither the server nor its connections keep the host alive, as no other port or timer of
  // a monitor does (docs/reference.md): a service that closes its own server on SIGTERM and lets
  // Node end must end, a scraper's keep-alive connection or a dashboard's event stream open or
  // not; ref'd, they held it until its orchestrator's SIGKILL, and the monitor's stop at
  // 'beforeExit' (the samples since the last flush) never ran. `perfwatch serve` holds its
  // process with a timer of its own.
  server.unref();
  server.on('connection', (socket: Socket) => {
    socket.unref();
    open++;
    socket.once('close', () => {
      open--;
      waiting.delete(socket);
    });
    if (open > policy.maxConnections) {
      // The Set keeps the order connections came in: its first is the oldest still silent.
      const oldest = waiting.values().next().value;
      if (oldest === undefined) {
        refused++;
        socket.destroy();
        return;
      }
      waiting.delete(oldest);
      evicted++;
      oldest.destroy();
    }
    waiting.add(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenError(policy.host, policy.port, error)));
    server.listen(policy.port, policy.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = policy.host.includes(':') ? `[${policy.host}]` : policy.host;
  return {
    origin: `http://${shownHost}:${port}`,
    port,
    server,
    connections: () => ({ open, limit: policy.maxConnections, refused, evicted }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
