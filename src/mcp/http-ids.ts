/**
 * The JSON-RPC ids of a 2025-era HTTP session's requests in progress. The SDK's session
 * transport finds the POST an answer goes to by the request's id alone, and ends a POST's
 * stream once every id it routed there has its answer: two requests of a session with one id
 * in progress at once share that one route. In one batch, the first answer ended the stream and
 * the other request's answer was dropped; in two POSTs, the later one took the route, the
 * earlier one's answer ended the later one's stream, and the earlier POST was never answered
 * (its client waited for good, its session busy). JSON-RPC asks a client for ids unique among
 * its requests in progress; a POST that would use one twice is refused before any of it runs,
 * with the id it repeats.
 */
import type { ServerResponse } from 'node:http';

export type RequestId = string | number;

/** The ids of the JSON-RPC requests in a parsed body (one message, or a batch). */
export function requestIds(body: unknown): RequestId[] {
  const ids: RequestId[] = [];
  for (const message of Array.isArray(body) ? body : [body]) {
    if (message === null || typeof message !== 'object') continue;
    const { id, method } = message as { id?: unknown; method?: unknown };
    if (typeof method === 'string' && (typeof id === 'string' || typeof id === 'number')) ids.push(id);
  }
  return ids;
}

/** Why a POST's ids cannot be taken: its HTTP status and what it says. */
export interface IdRefusal {
  status: 400 | 409;
  message: string;
}

const UNIQUE = 'each request in progress needs an id of its own';

/** An id as the refusal names it: a string quoted (and cut, ids are the client's to make long), a number as it is. */
function named(id: RequestId): string {
  return typeof id === 'number' ? String(id) : JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}…` : id);
}

/** One session's ids in progress: each taken by the POST that carries it, until that POST's answer is over. */
export class IdsInProgress {
  private readonly held = new Set<RequestId>();

  /**
   * Takes the ids of the POST answered by `res` until `res` closes; or, taking none, the
   * refusal: an id the POST repeats, or one a request still in progress has.
   */
  take(ids: readonly RequestId[], res: ServerResponse): IdRefusal | undefined {
    if (ids.length === 0) return undefined;
    const seen = new Set<RequestId>();
    for (const id of ids) {
      if (seen.has(id)) return { status: 400, message: `Invalid Request: the batch has two requests with id ${named(id)}; ${UNIQUE}` };
      if (this.held.has(id)) return { status: 409, message: `Invalid Request: id ${named(id)} is the id of a request of this session still in progress; ${UNIQUE}` };
      seen.add(id);
    }
    for (const id of ids) this.held.add(id);
    res.once('close', () => {
      for (const id of ids) this.held.delete(id);
    });
    return undefined;
  }
}
