/// <reference path="../src/export/snappyjs.d.ts" />
/**
 * An HTTP receiver for the export tests: it answers each request with the next status of a
 * script (200 once the script runs out), with headers when the script gives them, and keeps
 * every request with its headers, body and time of arrival.
 * It can be closed and listen again on the same port (an endpoint that goes away and comes
 * back).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import snappy from 'snappyjs';
import { WriteRequest, type TimeSeries } from '../dist/src/export/prompb.js';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The status it was answered with. */
  status: number;
  /** When it arrived (Date.now()). */
  at: number;
}

/** A scripted answer: a status, or a status with headers (`Retry-After`) and a body of its own (else 'no'). */
export type Scripted = number | { status: number; headers: Record<string, string>; body?: string };

export class Receiver {
  readonly requests: Received[] = [];
  /** Answers, in order; 200 once they run out. */
  readonly script: Scripted[] = [];
  private server: Server | undefined;
  private listeners: ((r: Received) => void)[] = [];
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/receive`;
  }

  async listen(port = this.port): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const next = this.script.shift() ?? 200;
        const { status, headers, body } = typeof next === 'number' ? { status: next, headers: {}, body: undefined } : next;
        const r: Received = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), status, at: Date.now() };
        this.requests.push(r);
        res.writeHead(status, { 'Content-Type': 'text/plain', ...headers }).end(body ?? (status === 200 ? '' : 'no'));
        for (const l of this.listeners.splice(0)) l(r);
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** A remote_write body, uncompressed and decoded. */
export function decodeWrite(body: Uint8Array): TimeSeries[] {
  const message = WriteRequest.decode(snappy.uncompress(body));
  return (WriteRequest.toObject(message, { longs: Number, defaults: true }) as { timeseries: TimeSeries[] }).timeseries;
}

/** The samples of a remote_write body (a series has one, a counter's first export two: its 0 first). */
export function sampleCount(body: Uint8Array): number {
  return decodeWrite(body).reduce((n, s) => n + s.samples.length, 0);
}

/** The series of a decoded request as `name{k="v",…}` → its newest value (labels in the order sent; a counter's first export has a 0 before it). */
export function seriesValues(series: readonly TimeSeries[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of series) {
    const name = s.labels.find((l) => l.name === '__name__')!.value;
    const rest = s.labels.filter((l) => l.name !== '__name__').map((l) => `${l.name}="${l.value}"`);
    out.set(`${name}{${rest.join(',')}}`, s.samples.at(-1)!.value);
  }
  return out;
}
