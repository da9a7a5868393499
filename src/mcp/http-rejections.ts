/**
 * The errors the SDK's MCP handler reports (its onerror) are mostly a client's request
 * refused: a body that is no JSON-RPC message, an empty batch, a bad 2026-07-28 envelope.
 * Any local process can send those at request rate, and a line on the host's stderr for each
 * let it flood the service's logs (a trial: 500 bad bodies, 500 lines). Like the monitor's
 * faults (monitor/faults.ts), each kind is logged once, then counted in the endpoint's
 * status (EndpointStatus.rejected).
 */

/** Kinds held apart at most: past it, a new kind is counted under OTHER (the kinds are the SDK's, a few dozen). */
const MAX_KINDS = 64;
const OTHER = 'other';
/** A logged message is cut here: it can quote what a client sent. */
const MAX_LINE = 300;

export class HttpRejections {
  private readonly counts = new Map<string, number>();

  constructor(private readonly write: (line: string) => void = (line) => void process.stderr.write(line)) {}

  /** The SDK's onerror: counts `error` by kind, writing the first of its kind. */
  readonly report = (error: Error): void => {
    let kind = kindOf(error);
    if (!this.counts.has(kind) && this.counts.size >= MAX_KINDS) kind = OTHER;
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    if (n > 1) return;
    const message = error.message.length > MAX_LINE ? `${error.message.slice(0, MAX_LINE)}…` : error.message;
    this.write(`perfwatch http: ${message} (logged once per kind; counted in the MCP endpoint's status().rejected)\n`);
  };

  /** The counts by kind (`invalid-json-rpc-body`: 499, …). */
  get counted(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

/** The SDK names a refusal `Rejected inbound request (<kind>): …`; another error goes by its class. */
function kindOf(error: Error): string {
  return /^Rejected inbound request \(([\w-]{1,64})\)/.exec(error.message)?.[1] ?? (error.name || 'Error');
}
