/**
 * The main thread's side of the exposition worker (workers/exposition.ts): a scrape posts a
 * request and gets the rendered bytes back, transferred, not copied. The worker reads the
 * shared store in place, so the host's event loop spends nothing on a scrape but a message
 * and a write. A worker that dies fails the scrapes in flight (503) and is started again by
 * the next one, which takes up the histograms it folded (kept in shared memory: its
 * `_bucket` series never go down).
 *
 * Scrapes that arrive while a render of their format is in flight share it: one request to the
 * worker, its body sent to each. The worker renders one request at a time anyway, but each
 * request was its own body, held on the main thread until its client had read it: N scrapes
 * at once (several Prometheus replicas, a slow client, anyone within maxConnections) held N
 * bodies of up to maxMetricsBytes and rendered N times. Shared, a format holds one body in
 * flight, which every response's socket holds by reference (res.end copies no Buffer). A
 * scrape that arrives once the render is done gets a new one: nothing is kept past it. The
 * bodies held until their clients have read them are bounded in total by the front
 * (held-bodies.ts), which asks `shares` and `rendering` before it asks for a new render.
 */
import { Worker } from 'node:worker_threads';
import { foldShareBytes } from '../analysis/fold-share.js';
import type { RegistryBuffers } from '../engine/registry.js';
import { StoreLayout, type StoreBuffers } from '../engine/store/layout.js';
import { describeError } from '../actors/thread-error.js';
import { ensureRoomForThread, holdUntilOnline } from '../actors/thread-room.js';
import { hostThreadOptions, type ThreadPreloads } from '../actors/worker-argv.js';
import type { ExpositionStats } from './exposition.js';
import { isOutOfMemory, outOfMemoryMessage, resourceLimitsFor } from '../actors/thread-limits.js';
import type { ExpositionFormat } from './text-format.js';

export interface ExpositionData {
  /** The monitor's control block: the quantiles' window ends at its clock (engine/monitor-clock.ts). */
  control: SharedArrayBuffer;
  registry: RegistryBuffers;
  store: StoreBuffers;
  bounds: number[];
  quantiles: number[];
  quantileWindowMs: number;
  /** The most bytes a body takes (serveHttp's maxMetricsBytes). */
  maxBytes: number;
  /** The histograms folded so far, which every worker started takes up (analysis/fold-share.ts). */
  folds: SharedArrayBuffer;
}

export interface RenderRequest {
  id: number;
  format: ExpositionFormat;
  /** The monitor is stopped: histograms take in their open interval. */
  stopped: boolean;
}

export type RenderReply = { id: number; body: Uint8Array; stats: ExpositionStats } | { id: number; error: string };

export interface Rendered {
  body: Uint8Array;
  stats: ExpositionStats;
}

/** A render's key among those in flight: its format, and whether the monitor is stopped. */
function keyOf(format: ExpositionFormat, stopped: boolean): string {
  return `${format}${stopped ? ' stopped' : ''}`;
}

const WORKER_URL = new URL('../../workers/exposition.js', import.meta.url);

export class ExpositionWorker {
  private readonly data: ExpositionData;
  private readonly preloads: ThreadPreloads;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Rendered) => void; reject: (e: Error) => void }>();
  /** The render in flight of each format (and stopped state), which scrapes arriving meanwhile share. */
  private readonly inFlight = new Map<string, Promise<Rendered>>();
  private closed = false;
  /** Workers started, the first included (a restart shows as more than one). */
  starts = 0;
  /** Renders asked of the worker (fewer than the scrapes when some shared one). */
  renders = 0;

  /** Its thread's heap limit (MB; actors/thread-limits.ts), or undefined for V8's default. */
  private readonly heapMb: number | undefined;

  constructor(data: Omit<ExpositionData, 'folds'>, preloads: ThreadPreloads, heapMb?: number) {
    this.heapMb = heapMb;
    // The histograms outlive each worker: one started again takes them up where the one that
    // died left them, instead of folding anew from the bucket ring alone, which put the
    // samples older than the ring in +Inf only and took every other bucket down (a counter
    // reset to Prometheus).
    const seriesCapacity = new StoreLayout(new Int32Array(data.store.meta)).maxSeries;
    this.data = { ...data, folds: new SharedArrayBuffer(foldShareBytes(seriesCapacity, data.bounds.length)) };
    this.preloads = preloads;
  }

  /** Renders in flight (each a body of up to maxBytes to come). */
  get rendering(): number {
    return this.inFlight.size;
  }

  /** Whether a scrape of this format would share a render in flight (and so add no body). */
  shares(format: ExpositionFormat, stopped = false): boolean {
    return this.inFlight.has(keyOf(format, stopped));
  }

  /** The exposition now: the render of this format in flight, or a new one. */
  render(format: ExpositionFormat, stopped = false): Promise<Rendered> {
    const key = keyOf(format, stopped);
    const inFlight = this.inFlight.get(key);
    if (inFlight !== undefined) return inFlight;
    const rendering = this.request(format, stopped);
    this.inFlight.set(key, rendering);
    // Settled (a body or an error), it is no longer shared: a scrape after it gets a fresh render.
    const done = (): void => {
      if (this.inFlight.get(key) === rendering) this.inFlight.delete(key);
    };
    rendering.then(done, done);
    return rendering;
  }

  private request(format: ExpositionFormat, stopped: boolean): Promise<Rendered> {
    if (this.closed) return Promise.reject(new Error('the exposition worker is closed'));
    let worker: Worker;
    try {
      worker = this.started();
    } catch (error) {
      // No thread could be made (no room in the address space, the limit on threads): this scrape fails, the next tries again.
      return Promise.reject(error instanceof Error ? new Error(describeError(error)) : error);
    }
    const id = this.nextId++;
    this.renders++;
    return new Promise<Rendered>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, format, stopped } satisfies RenderRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error('the exposition worker is closed'));
    await worker?.terminate();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    ensureRoomForThread('exposition');
    const worker = new Worker(WORKER_URL, { workerData: this.data, name: 'perfwatch-exposition', ...hostThreadOptions(this.preloads), ...(this.heapMb === undefined ? {} : { resourceLimits: resourceLimitsFor('exposition', this.heapMb) }) });
    holdUntilOnline(worker);
    worker.on('message', (reply: RenderReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if ('error' in reply) waiting.reject(new Error(reply.error));
      else waiting.resolve({ body: reply.body, stats: reply.stats });
    });
    const gone = (error: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(error);
    };
    // It must not keep the host process alive, between scrapes or during one. After the
    // 'message' listener: adding one refs the worker's port, which unref() then lets go (before
    // it, the first scrape left the host running for good).
    worker.unref();
    // At its heap limit it ended alone: the scrapes in flight fail saying the limit and the option; the next starts another.
    worker.on('error', (error: Error) => gone(isOutOfMemory(error) && this.heapMb !== undefined ? Object.assign(new Error(outOfMemoryMessage('exposition', this.heapMb, 'the /metrics renderer (exposition) thread')), { code: 'ERR_WORKER_OUT_OF_MEMORY' }) : error));
    worker.on('exit', (code) => gone(new Error(`the exposition worker exited (code ${code})`)));
    this.worker = worker;
    this.starts++;
    return worker;
  }

  private failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}
