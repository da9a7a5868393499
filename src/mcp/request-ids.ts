/**
 * The JSON-RPC ids of a connection's requests in progress: a 2025-era HTTP session's, or a
 * stdio connection's. JSON-RPC and MCP ask a client for ids unique among its requests in
 * progress, and both fronts hold it to that, alike: a request that would use one twice is
 * refused before it runs, with a JSON-RPC error (-32600, id null) naming the id it repeats.
 *
 * Over HTTP, the SDK's session transport finds the POST an answer goes to by the request's id
 * alone, and ends a POST's stream once every id it routed there has its answer: two requests
 * of a session with one id in progress at once share that one route. In one batch, the first
 * answer ended the stream and the other request's answer was dropped; in two POSTs, the later
 * one took the route, the earlier one's answer ended the later one's stream, and the earlier
 * POST was never answered (its client waited for good, its session busy).
 * Over stdio, both requests ran and both answers carried the id: the client could not tell
 * which was which, and the SDK kept one cancel handle per id, so a cancel reached only the later.
 */
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

/** Why ids cannot be taken: 'batch' (a batch repeats one) or 'held' (a request in progress has it), and what the error says. */
export interface IdRefusal {
  why: 'batch' | 'held';
  message: string;
}

const UNIQUE = 'each request in progress needs an id of its own';

/** The longest string id a refusal repeats: ids are the client's to make long. */
const ID_CHARS = 64;

/** An id as the refusal names it: a string quoted (and cut), a number as it is. */
function named(id: RequestId): string {
  return typeof id === 'number' ? String(id) : JSON.stringify(id.length > ID_CHARS ? `${id.slice(0, ID_CHARS)}…` : id);
}

/** One connection's ids in progress: each taken by the request that carries it, until it is answered (or cancelled). */
export class IdsInProgress {
  private readonly held = new Set<RequestId>();
  /** What the connection is, as a refusal names it ("this session"). */
  private readonly of: string;

  constructor(of: string) {
    this.of = of;
  }

  /** Takes `ids` (a message's, or a batch's); or, taking none, the refusal: an id they repeat, or one a request still in progress has. */
  take(ids: readonly RequestId[]): IdRefusal | undefined {
    const seen = new Set<RequestId>();
    for (const id of ids) {
      if (seen.has(id)) return { why: 'batch', message: `Invalid Request: the batch has two requests with id ${named(id)}; ${UNIQUE}` };
      if (this.held.has(id)) return { why: 'held', message: `Invalid Request: id ${named(id)} is the id of a request of ${this.of} still in progress; ${UNIQUE}` };
      seen.add(id);
    }
    for (const id of ids) this.held.add(id);
    return undefined;
  }

  /** Frees ids once their requests are answered, or cancelled (then no answer comes). */
  release(ids: readonly RequestId[]): void {
    for (const id of ids) this.held.delete(id);
  }
}
