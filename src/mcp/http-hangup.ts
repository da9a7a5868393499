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
import type { RequestId } from './request-ids.js';

/** Cancels the requests `ids` (a POST's, request-ids.ts) in `transport`'s session if `res` closes before its answer was written. */
export function cancelOnHangup(transport: NodeStreamableHTTPServerTransport, res: ServerResponse, ids: readonly RequestId[]): void {
  if (ids.length === 0) return;
  res.once('close', () => {
    if (res.writableFinished) return;
    for (const requestId of ids) {
      transport.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'the client closed the connection of its request' } });
    }
  });
}
