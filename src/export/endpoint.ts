/**
 * One export endpoint's queue and sender. Batches wait in a bounded FIFO and go out one at a
 * time, in order (so the samples of a series arrive in time order). A 2xx sends the batch;
 * a status the protocol retries (remote_write: a 5xx or a 429; OTLP: a 429, 502, 503 or 504)
 * or a network error (timeouts included) keeps it at the head and retries it
 * after a delay that doubles from retryBaseMs up to retryMaxMs, or after the wait a 429's or
 * 503's Retry-After asks for when that is longer (up to RETRY_AFTER_MAX_MS, src/retry-after.ts;
 * drain() does not cut such a wait short); any other 4xx or 5xx drops it
 * (the receiver will never take it) and counts its samples as failed. A full queue drops its
 * oldest batches to take the newest export, counting their samples as dropped: memory stays
 * bounded however long the endpoint is away, and the freshest data goes first when it comes
 * back.
 *
 * Never throws: every failure ends up in the status (the monitor logs a 4xx and an encoding
 * failure as faults when it sees their counts grow); the last error stays there until a
 * request is taken whole.
 */
import { answerStart } from '../answer-start.js';
import { redirectNote } from '../redirect.js';
import { credentialsOf, withUrlCredentials, withoutCredentials, type CredentialedTarget } from '../url-credentials.js';
import { MIN_SAMPLES_PER_REQUEST, type Batch } from './batch.js';
import { idleStatus, type ExporterKind, type ExporterStatus } from './exporter-status.js';
import { partialSuccess } from './otlp-answer.js';
import { RETRY_AFTER_MAX_MS, retryAfterMs } from '../retry-after.js';
import { wallNow } from '../engine/real-timers.js';

export type { ExporterKind, ExporterStatus } from './exporter-status.js';

export interface EndpointConfig {
  kind: ExporterKind;
  url: string;
  /** Headers of every request: the protocol's, then the user's. */
  headers: Record<string, string>;
  timeoutMs: number;
  queueLimit: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** export.maxSamplesPerRequest, which a 413's error names as the way to smaller requests. */
  maxSamplesPerRequest: number;
  /** The monitor's clock, which status' other times are in (lastError.at, lastSuccessAt); the wall clock without it. */
  now?: () => number;
}


/** What a send leaves to do: nothing, or a retry, with the wait the receiver asked for (Retry-After, ms) if it did. */
type Outcome = { retry: false } | { retry: true; askedMs: number | undefined };
const DONE: Outcome = { retry: false };
const RETRY: Outcome = { retry: true, askedMs: undefined };

/**
 * The statuses OTLP/HTTP retries: the specification says a client must not retry any other
 * 4xx or 5xx, and the OpenTelemetry collector answers 500 for a request it will never take (a
 * permanent error down its pipeline). Retried as remote_write retries every 5xx, such a
 * request held the queue's head for good: every export behind it was dropped as the queue
 * filled, until the process restarted (until 2026-12-07).
 */
const OTLP_RETRIED = new Set([429, 502, 503, 504]);

/** Statuses whose Retry-After is read: 429 (RFC 6585) and 503 (RFC 9110). */
const RETRY_AFTER_STATUSES = new Set([429, 503]);

/** ms as seconds for a message: `2 s`, `2.5 s`. */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

export class Endpoint {
  private readonly config: EndpointConfig;
  /** The URL fetched (its user info moved into an Authorization header) and the headers sent. */
  private readonly target: CredentialedTarget;
  /**
   * The URL's and headers' credentials, cut out of a receiver's reason before it is kept: a
   * receiver that echoes its request (the URL with its api_key, an Authorization it refused)
   * put them into status, the MCP answers and the process warning that status hides them from.
   */
  private readonly credentials: string[];
  private readonly queue: Batch[] = [];
  private readonly st: ExporterStatus;
  private sending = false;
  private inFlight: Batch | undefined;
  /** drain() callers, told when the queue empties or its head waits for a retry. */
  private waiters: (() => void)[] = [];
  private closed = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** True while the head waits as long as the receiver asked (Retry-After): drain() does not cut that short. */
  private receiverWait = false;
  private wake: (() => void) | undefined;
  private readonly abort = new AbortController();
  /** When the series of the export being encoded were read, if one is. */
  private encodingAt: number | undefined;

  private readonly now: () => number;

  constructor(config: EndpointConfig) {
    this.config = config;
    this.now = config.now ?? wallNow;
    this.target = withUrlCredentials(config.url, config.headers);
    this.credentials = credentialsOf(config.url, this.target.headers);
    this.st = idleStatus(config.kind, config.url);
  }

  /**
   * Queues one export's requests. Beyond queueLimit the oldest of earlier exports go (never
   * the one in flight), and never one of this export: an export cut into more requests than
   * queueLimit dropped its own first ones as it was queued, the same series at every export,
   * to a receiver that took everything. The bound is then that one export.
   */
  enqueue(batches: readonly Batch[]): void {
    if (this.closed) return;
    const earlier = this.queue.length;
    this.queue.push(...batches);
    const oldest = this.queue[0] === this.inFlight ? 1 : 0;
    const excess = Math.min(this.queue.length - Math.max(this.config.queueLimit, batches.length), earlier - oldest);
    for (const b of excess > 0 ? this.queue.splice(oldest, excess) : []) this.st.dropped += b.samples;
    if (!this.sending) void this.pump();
  }

  status(now: number): ExporterStatus {
    let queued = 0;
    for (const b of this.queue) queued += b.samples;
    const oldest = this.queue[0];
    const since = oldest?.at ?? this.encodingAt;
    return { ...this.st, lastError: this.st.lastError && { ...this.st.lastError }, queueDepth: this.queue.length, queuedSamples: queued, lagMs: since === undefined ? 0 : Math.max(0, now - since) };
  }

  /**
   * An export of series read at `at` is being encoded (undefined: done): until it is queued,
   * the lag is its age when nothing older waits. An export that took longer to encode than its
   * interval (100,000 histograms on a busy machine) showed a lag of 0 and an empty queue, as
   * an endpoint keeping up would.
   */
  encoding(at: number | undefined): void {
    this.encodingAt = at;
  }

  /**
   * Sends what is queued now, a retry wait cut short (not one the receiver asked for with
   * Retry-After); resolves once the queue is empty or its head failed again and waits for a
   * retry.
   */
  drain(): Promise<void> {
    if (!this.sending || this.closed || this.receiverWait) return Promise.resolve();
    const settled = new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.wake?.();
    }
    return settled;
  }

  /** An export that could not be encoded: nothing to queue, the error shown. */
  encodeFailed(message: string): void {
    this.st.encodeErrors++;
    this.st.lastError = { message: `encoding an export failed: ${message}`, status: null, at: this.now() };
  }

  /**
   * Stops sending for good (the monitor stopped). The requests still queued, the one in
   * flight included (an answer coming after this is not read), are dropped and counted, and
   * the last error says so: the status a stopped monitor keeps showed them waiting, as if
   * they might still go.
   * `unencoded`: an export was still being encoded, and is given up too.
   */
  close(unencoded = false): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.wake?.();
    this.abort.abort();
    const left = this.queue.splice(0);
    let samples = 0;
    for (const b of left) samples += b.samples;
    this.st.dropped += samples;
    if (left.length > 0 || unencoded) {
      const what = [left.length > 0 ? `${left.length} requests not delivered (${samples} samples dropped)` : '', unencoded ? 'an export not yet encoded' : ''].filter(Boolean).join(' and ');
      // The failure that kept them waiting (a receiver away, refusing) stays said: it is why.
      const before = this.st.lastError ? `; the last failure before it: ${this.st.lastError.message}` : '';
      this.st.lastError = { message: `${this.st.url}: the monitor stopped with ${what}${before}`, status: null, at: this.now() };
    }
    this.settle();
  }

  private settle(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async pump(): Promise<void> {
    this.sending = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const batch = this.queue[0]!;
        this.inFlight = batch;
        const outcome = await this.send(batch);
        this.inFlight = undefined;
        if (this.closed) return;
        if (outcome.retry) {
          this.st.retries++;
          const backoff = Math.min(this.config.retryMaxMs, this.config.retryBaseMs * 2 ** Math.min(this.attempt++, 30));
          const delay = this.retryDelay(backoff, outcome.askedMs);
          this.settle();
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            this.retryTimer = setTimeout(resolve, delay);
          });
          this.retryTimer = undefined;
          this.wake = undefined;
          this.receiverWait = false;
          continue;
        }
        this.attempt = 0;
        this.queue.shift();
      }
    } finally {
      this.sending = false;
      this.settle();
    }
  }

  /** The wait before the next attempt: the backoff, or the receiver's Retry-After (capped) when longer; said in lastError. */
  private retryDelay(backoff: number, askedMs: number | undefined): number {
    if (askedMs === undefined) return backoff;
    const asked = Math.min(askedMs, RETRY_AFTER_MAX_MS);
    const delay = Math.max(backoff, asked);
    this.receiverWait = asked > backoff;
    const capped = askedMs > RETRY_AFTER_MAX_MS ? ` (capped at ${seconds(RETRY_AFTER_MAX_MS)}, RETRY_AFTER_MAX_MS)` : asked < backoff ? ' (the backoff is longer)' : '';
    if (this.st.lastError) this.st.lastError.message += `: Retry-After ${seconds(askedMs)}, next attempt in ${seconds(delay)}${capped}`;
    return delay;
  }

  private async send(batch: Batch): Promise<Outcome> {
    const at = this.now();
    let response: Response;
    let answer: Uint8Array | undefined;
    // A timer of our own, not AbortSignal.timeout(): Node 20's AbortSignal.any() holds its
    // sources weakly, so a timeout signal nothing else held was collected at the thread's next
    // GC and never fired, and a receiver that never answered held the queue's head for good,
    // with no error said (until 2026-12-01).
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`no answer within ${this.config.timeoutMs} ms (timeoutMs)`)), this.config.timeoutMs);
    try {
      response = await fetch(this.target.url, {
        method: 'POST',
        headers: this.target.headers,
        body: batch.body,
        signal: AbortSignal.any([this.abort.signal, timeout.signal]),
        // Not followed: a 301 or 302 would be sent on as a GET without the batch (redirect.ts).
        redirect: 'manual',
      });
      // The start of the body: a refusal's first words say why (answer-start.ts).
      answer = await answerStart(response, ANSWER_BYTES);
    } catch (error) {
      // Aborted by close(), which counted the batch and said why.
      if (this.closed) return DONE;
      const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      // A port fetch never connects to is refused with the options (src/fetch-ports.ts).
      this.st.lastError = { message: `${this.st.url}: ${cause}`, status: null, at };
      return RETRY;
    } finally {
      clearTimeout(timer);
    }
    // An answer that came as close() gave up on the batch: counted there, as dropped.
    if (this.closed) return DONE;
    if (response.ok) {
      this.st.requests++;
      this.st.bytes += batch.body.byteLength;
      this.st.lastSuccessAt = this.now();
      // An OTLP receiver may take a request in part: the points it rejected failed (not retried).
      const partial = this.config.kind === 'otlp' ? partialSuccess(answer, (response.headers.get('content-type') ?? this.requestType()).includes('json')) : undefined;
      if (partial === undefined) {
        this.st.sent += batch.samples;
        // Recovered: an error kept past it read as an endpoint failing still. What failed stays
        // counted (retries, failed, dropped; a 4xx is a fault too), as storage keeps its failures.
        this.st.lastError = null;
        return DONE;
      }
      const rejected = Math.min(partial.rejected, batch.samples);
      this.st.sent += batch.samples - rejected;
      this.st.failed += rejected;
      const said = reasonText(partial.message, this.credentials);
      this.st.lastError = { message: `${this.st.url} took the request in part: ${rejected} of ${batch.samples} points rejected${said ? ` (${said})` : ''}, not retried (partial success)`, status: response.status, at };
      return DONE;
    }
    // A redirect's body says where it points again, whole ("Redirecting to …"): the note below
    // says it as status shows URLs.
    const moved = redirectNote(response, this.target.url, 'the samples');
    const said = moved ? '' : reason(answer, this.credentials);
    const message = `${this.st.url} answered ${response.status} ${response.statusText}${said ? ` (${said})` : ''}`;
    this.st.lastError = { message, status: response.status, at };
    if (this.retried(response.status)) {
      return RETRY_AFTER_STATUSES.has(response.status) ? { retry: true, askedMs: retryAfterMs(response.headers.get('retry-after'), Date.now()) } : RETRY;
    }
    // A 4xx, an OTLP 5xx not retried, or a redirect (a URL that moved does not come back by itself): final.
    this.st.failed += batch.samples;
    const final = moved ? 'a redirect is final' : response.status >= 500 ? 'OTLP retries a 5xx only when it is 502, 503 or 504' : 'a 4xx is final';
    this.st.lastError.message = `${message}${moved}${response.status === 413 ? this.tooLarge(batch) : ''}: ${batch.samples} ${this.config.kind === 'otlp' ? 'points' : 'samples'} failed, not retried (${final})`;
    return DONE;
  }

  /**
   * What a 413 (Content Too Large) asks of the user: the request's size is past the receiver's
   * limit, and the option that makes requests smaller. Said as a bare 413, it left them to
   * guess which side to change, and how.
   */
  private tooLarge(batch: Batch): string {
    const max = this.config.maxSamplesPerRequest;
    const what = this.config.kind === 'otlp' ? 'points' : 'samples';
    // Advice the option cannot follow (below its least) sent the reader to a refusal of it.
    const fewer =
      batch.samples > MIN_SAMPLES_PER_REQUEST
        ? `set export.maxSamplesPerRequest (${max} now) below ${batch.samples} to send smaller requests`
        : `export.maxSamplesPerRequest cannot make it smaller (it takes ${MIN_SAMPLES_PER_REQUEST} ${what} at least, and cuts by ${what}, not by bytes)`;
    return `; the request was ${batch.body.byteLength} bytes (${batch.samples} ${what}), over the receiver's limit on a request: ${fewer}, or raise that limit`;
  }

  /** Whether a request answered `status` is sent again: remote_write 1.0 retries every 5xx and a 429, OTLP only OTLP_RETRIED. */
  private retried(status: number): boolean {
    return this.config.kind === 'otlp' ? OTLP_RETRIED.has(status) : status >= 500 || status === 429;
  }

  /** The Content-Type this endpoint sends, whatever the case of its key. */
  private requestType(): string {
    for (const [k, v] of Object.entries(this.target.headers)) if (k.toLowerCase() === 'content-type') return v;
    return '';
  }
}

/** Characters of a receiver's refusal kept in the error: Prometheus and Mimir say there why ("out of order sample"). */
export const REASON_CHARS = 200;

/** Bytes of an answer read before the rest is cancelled: a short answer frees its connection for reuse. */
const ANSWER_BYTES = 64 * 1024;

/** The start of an answer's body as one line, or '' when it has none. */
function reason(body: Uint8Array | undefined, credentials: readonly string[]): string {
  if (body === undefined || body.byteLength === 0) return '';
  return reasonText(Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, REASON_CHARS * 4)).toString('utf8'), credentials);
}

/** A receiver's words on one line without the endpoint's credentials (cut out before the line is cut short, so none is left in part), at most REASON_CHARS of them. */
function reasonText(words: string, credentials: readonly string[]): string {
  const text = withoutCredentials(words, credentials).replace(/\s+/g, ' ').trim();
  return text.length > REASON_CHARS ? `${text.slice(0, REASON_CHARS - 1)}…` : text;
}
