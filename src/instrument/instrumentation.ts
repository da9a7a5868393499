/**
 * The sources monitor.instrument() turned on, as one unit: attached (subscribed) while the
 * monitor runs, detached when it stops or when the host calls uninstrument(). Nothing is
 * subscribed before instrument() or after uninstrument(), so a service that does not use it
 * pays nothing: node:http checks `hasSubscribers` before building a message.
 */
import { HttpClientSource, NODE_HTTP, UNDICI } from './http-client.js';
import { HttpServerSource } from './http-server.js';
import type { ResolvedInstrumentOptions } from './options.js';
import { PiscinaSource } from './piscina.js';
import type { Recorder, Source } from './recorder.js';

/**
 * status().instrument: what is instrumented, how much fell into `other` (past the cap), how
 * many routes or hosts the registry refused a series of (at maxSeries: their requests are
 * recorded under `other`), how many requests were recorded nowhere (the registry refused
 * `other`'s series too), and (httpServer) how many requests of paths not proven a route went
 * to `unmatched`.
 */
export interface InstrumentStatus {
  attached: boolean;
  sources: ('httpServer' | 'httpClient' | 'fetch' | 'piscina')[];
  httpServer?: { routes: number; maxRoutes: number; other: number; refused: number; notRecorded: number; unmatched: number; aborted: number };
  /** `truncated`: hosts longer than maxTagValueLength, tagged cut to it (one that shares its first characters shares the series). */
  httpClient?: { hosts: number; maxHosts: number; other: number; refused: number; notRecorded: number; untimed: number; truncated: number };
  fetch?: { hosts: number; maxHosts: number; other: number; refused: number; notRecorded: number; untimed: number; truncated: number };
  /**
   * `pools`: the pools read; `refused`: pools left out, the registry having refused their
   * series (maxSeries; a fault each); `ended`: pools found destroyed or closed, no longer read
   * (again once they have threads).
   */
  piscina?: { pools: number; refused: number; ended: number };
}

export class Instrumentation {
  private readonly server: HttpServerSource | undefined;
  private readonly client: HttpClientSource | undefined;
  private readonly fetch: HttpClientSource | undefined;
  private readonly piscina: PiscinaSource | undefined;
  private readonly sources: Source[];
  private attached = false;

  /**
   * `previous`: the instrumentation this one replaces (a later instrument()), detached by the
   * caller next: each HTTP source on in both takes over its predecessor's requests in flight,
   * tables and counts (HttpServerSource, HttpClientSource).
   */
  constructor(recorder: Recorder, options: ResolvedInstrumentOptions, intervalMs: number, previous?: Instrumentation) {
    const { httpServer, httpClient, fetch, piscina } = options;
    this.server = httpServer.enabled ? new HttpServerSource(recorder, httpServer, previous?.server) : undefined;
    this.client = httpClient.enabled ? new HttpClientSource(recorder, NODE_HTTP, httpClient, previous?.client) : undefined;
    this.fetch = fetch.enabled ? new HttpClientSource(recorder, UNDICI, fetch, previous?.fetch) : undefined;
    this.piscina = Object.keys(piscina).length > 0 ? new PiscinaSource(recorder, piscina, intervalMs) : undefined;
    this.sources = [this.server, this.client, this.fetch, this.piscina].filter((s): s is NonNullable<typeof s> => s !== undefined);
  }

  attach(): void {
    this.attached = true;
    for (const s of this.sources) s.attach();
  }

  detach(): void {
    this.attached = false;
    for (const s of this.sources) s.detach();
  }

  /** Reads the piscina pools now (they are read every collection interval by themselves). */
  samplePools(): void {
    this.piscina?.sample();
  }

  status(): InstrumentStatus {
    const hosts = (s: HttpClientSource) => ({ hosts: s.hosts.size, maxHosts: s.hosts.limit, other: s.hosts.overflowed, refused: s.hosts.refused, notRecorded: s.notRecorded, untimed: s.untimed, truncated: s.hosts.truncated });
    const sources: InstrumentStatus['sources'] = [];
    if (this.server) sources.push('httpServer');
    if (this.client) sources.push('httpClient');
    if (this.fetch) sources.push('fetch');
    if (this.piscina) sources.push('piscina');
    return {
      attached: this.attached,
      sources,
      ...(this.server ? { httpServer: { routes: this.server.routes.size, maxRoutes: this.server.routes.limit, other: this.server.routes.overflowed, refused: this.server.routes.refused, notRecorded: this.server.notRecorded, unmatched: this.server.unmatched, aborted: this.server.aborted } } : {}),
      ...(this.client ? { httpClient: hosts(this.client) } : {}),
      ...(this.fetch ? { fetch: hosts(this.fetch) } : {}),
      ...(this.piscina ? { piscina: { pools: this.piscina.size - this.piscina.ended, refused: this.piscina.refused, ended: this.piscina.ended } } : {}),
    };
  }
}
