/**
 * A 2025-era HTTP client that goes while its call runs (a process killed, a connection cut, a
 * client whose ping went unanswered: sessions.ts) sends no notifications/cancelled, and its
 * session outlives the connection: the call ran to its end for no one, a capture holding the
 * one capture there is for its whole length (PW_ERR_BUSY to every other), a report its pool
 * thread. The requests of a POST whose answer's connection closes before the answer was
 * written are cancelled through the session's own notifications/cancelled path, which aborts
 * their handlers' signal as a client's cancel does. (A 2026-07-28 request is served by an
 * instance of its own, closed with its connection by the SDK's handler.)
 */
import type { ServerResponse } from 'node:http';
import type { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';

type RequestId = string | number;

/** The ids of the JSON-RPC requests in a parsed body (one message, or a batch). */
function requestIds(body: unknown): RequestId[] {
  const ids: RequestId[] = [];
  for (const message of Array.isArray(body) ? body : [body]) {
    if (message === null || typeof message !== 'object') continue;
    const { id, method } = message as { id?: unknown; method?: unknown };
    if (typeof method === 'string' && (typeof id === 'string' || typeof id === 'number')) ids.push(id);
  }
  return ids;
}

/** Cancels the requests of `body` in `transport`'s session if `res` closes before its answer was written. */
export function cancelOnHangup(transport: NodeStreamableHTTPServerTransport, res: ServerResponse, body: unknown): void {
  const ids = requestIds(body);
  if (ids.length === 0) return;
  res.once('close', () => {
    if (res.writableFinished) return;
    for (const requestId of ids) {
      transport.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'the client closed the connection of its request' } });
    }
  });
}
