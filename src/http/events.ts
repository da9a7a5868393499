/**
 * GET /api/events: a Server-Sent Events stream of a metric's history and new buckets, and of
 * alert transitions (`event: alert`). First `event: history`, one per series: the history
 * since `from` (default 5 minutes) at the library's resolution (raw samples while the raw
 * ring reaches back that far), at most max_points, up to the buckets the collector may
 * still take samples into when the stream begins; then `event: buckets` with each bucket once
 * it has closed, whole, from those on: each sample once.
 *
 * Memory is bounded per stream and in all: streams are capped (maxEventStreams, then 503);
 * a stream with more than eventStreamBufferBytes unsent when it has an event to write, or
 * whose client leaves a write unread for eventStreamStallMs, is dropped (the connection
 * closed and counted), never buffered further. So a stream holds at most that plus one
 * event, and an event at most one series' max_points (10,000) points. A comment line every 15 s keeps proxies from closing an idle stream and
 * finds dead clients. A stream ends after eventStreamMaxAgeMs, its client told to come back
 * at once: a stopped client, which neither reads nor closes, holds its place no longer.
 */
import type { ServerResponse } from 'node:http';
import type { PerformanceMonitor } from '../monitor/monitor.js';
import type { MetricHistory } from '../monitor/history.js';
import type { AlertTransition } from '../alerts/schema.js';
import { MAX_TIME_MS } from '../analysis/time-arg.js';
import type { EventStreamStats } from './types.js';
import { HttpError, checkAnswerPoints, intParam, queryParams, sendError, tagsParam, timeParam, type Route } from './router.js';
import { clearInterval, clearTimeout, setInterval, setTimeout } from '../engine/real-timers.js';

const HEARTBEAT_MS = 15_000;
const DEFAULT_BACKFILL_MS = 5 * 60_000;

/** How far ahead of now a `from` is still taken as now (a client reckoning this clock from its answers). */
const FUTURE_FROM_SLACK_MS = 60_000;

export interface EventStreamLimits {
  maxEventStreams: number;
  eventStreamBufferBytes: number;
  eventStreamStallMs: number;
  eventStreamMaxAgeMs: number;
}


/** One stream's writes, under its bounds. */
class Stream {
  private stall: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly limits: EventStreamLimits,
    private readonly onDrop: (why: 'buffer' | 'stalled') => void,
  ) {
    res.on('drain', () => {
      clearTimeout(this.stall);
      this.stall = undefined;
    });
  }

  send(text: string): void {
    if (this.ended) return;
    if (this.res.writableLength > this.limits.eventStreamBufferBytes) return this.drop('buffer');
    if (!this.res.write(text) && this.stall === undefined) {
      this.stall = setTimeout(() => this.drop('stalled'), this.limits.eventStreamStallMs);
      this.stall.unref();
    }
  }

  /** An event; `id` sets the stream's last event id, which a reconnecting EventSource sends back. */
  event(name: string, data: unknown, id?: number): void {
    this.send(`event: ${name}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`);
  }

  close(): void {
    this.ended = true;
    clearTimeout(this.stall);
  }

  /**
   * Ends the stream, telling its client to reconnect at once: a live one is back within
   * milliseconds and resumes from its last event id; a stopped one is not, and its place is
   * free. The end waits on a client that has left written bytes unread, so one that reads
   * nothing more for eventStreamStallMs is cut.
   */
  retire(): void {
    if (this.ended) return;
    this.close();
    this.res.end('retry: 0\n\n');
    const cut = setTimeout(() => this.res.destroy(), this.limits.eventStreamStallMs);
    cut.unref();
    this.res.once('close', () => clearTimeout(cut));
  }

  private drop(why: 'buffer' | 'stalled'): void {
    if (this.ended) return;
    this.close();
    this.onDrop(why);
    this.res.destroy();
  }
}

/**
 * Where the buckets a poll may send end: those that ended an interval ago or more. The
 * collector closes a bucket at its first pass after the bucket's end, and until then takes
 * samples into it from the rings; one read while still open went out with part of its
 * samples, and the next read, starting after it, never sent the rest.
 */
function endedBuckets(now: number, interval: number): number {
  return Math.floor(now / interval) * interval - interval;
}

/** A reconnecting client's Last-Event-ID: one of this route's ids (ms of the monitor's clock), or a 400 naming it. */
function lastEventId(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const at = /^\d{1,16}$/.test(header) ? Number(header) : Number.NaN;
  if (!(at <= MAX_TIME_MS)) throw new HttpError(400, `Last-Event-ID must be the id of an event of this stream (ms since the epoch), got "${header.slice(0, 64)}"`, 'Last-Event-ID');
  return at;
}

export function eventRoutes(monitor: PerformanceMonitor, limits: EventStreamLimits): { route: Route; stats(): EventStreamStats } {
  let open = 0;
  let refused = 0;
  const dropped = { buffer: 0, stalled: 0 };
  // One 'alert' listener on the monitor for all of this front's streams, there while one
  // wants alerts: a listener per stream put maxEventStreams (32) on the monitor, past
  // EventEmitter's 10, and the 11th stream printed MaxListenersExceededWarning into the
  // host's stderr. Raising the monitor's limit instead would hide a real leak elsewhere.
  const alertStreams = new Set<Stream>();
  const fanOut = (t: AlertTransition): void => {
    for (const s of alertStreams) s.event('alert', t);
  };
  const wantAlerts = (stream: Stream): void => {
    if (alertStreams.size === 0) monitor.on('alert', fanOut);
    alertStreams.add(stream);
  };
  const leaveAlerts = (stream: Stream): void => {
    if (alertStreams.delete(stream) && alertStreams.size === 0) monitor.off('alert', fanOut);
  };
  const route: Route = {
    method: 'GET',
    path: '/api/events',
    handle: async ({ req, url, res }) => {
      const refuseIfFull = (): void => {
        if (open < limits.maxEventStreams) return;
        refused++;
        throw new HttpError(503, `${open} event streams are open, the limit (maxEventStreams): close one or retry later`, undefined, { 'Retry-After': '5' });
      };
      try {
        const p = queryParams(url, ['metric', 'tags', 'from', 'max_points', 'limit', 'alerts']);
        refuseIfFull();
        const metric = p.get('metric');
        const alerts = p.get('alerts') ?? 'true';
        if (alerts !== 'true' && alerts !== 'false') throw new HttpError(400, `alerts must be true or false, got "${alerts.slice(0, 64)}"`, 'alerts');
        if (metric === undefined && alerts === 'false') throw new HttpError(400, 'metric is required when alerts is false: the stream would carry nothing', 'metric');
        // Taken without a word, a misspelt or forgotten metric gave an alerts-only stream that
        // seemed to honour them.
        if (metric === undefined) {
          for (const name of ['tags', 'from', 'max_points', 'limit']) {
            if (p.has(name)) throw new HttpError(400, `${name} applies to a metric's stream: give metric, or leave ${name} out (without metric the stream carries alerts only)`, name);
          }
        }
        const tags = tagsParam(p);
        const limit = intParam(p, 'limit', 1, 100, 20);
        const maxPoints = intParam(p, 'max_points', 1, 10_000, 300);
        checkAnswerPoints(p, limit, maxPoints);
        const asked = timeParam(p, 'from');
        // Taken, a `from` well ahead of the clock read no history and streamed the buckets from
        // now on, each before the time asked: as if it had been left out, without a word. A
        // client's own reckoning of this clock (the dashboard's from, its now by the last
        // answer's X-Perfwatch-Now) may run a little ahead: FUTURE_FROM_SLACK_MS is taken as now.
        // Past a Date's range (±8.64e15 ms) the library's words say what is wrong.
        if (asked !== undefined && asked > monitor.now() + FUTURE_FROM_SLACK_MS && asked <= 8.64e15) {
          throw new HttpError(400, `from (${new Date(asked).toISOString()}) is after now (${new Date(monitor.now()).toISOString()}): the stream's history ends now and its live buckets begin there; give a time in the past, or leave from out for the last 5 minutes`, 'from');
        }
        const from = asked ?? monitor.now() - DEFAULT_BACKFILL_MS;
        const read = (since: number, resolution: 'auto' | 'bucket', to?: number): Promise<MetricHistory> =>
          monitor.getMetricHistory({ metric: metric!, resolution, from: since, ...(to !== undefined ? { to } : {}), maxPoints, limit, ...(tags ? { tags } : {}) });
        const interval = monitor.options.collectionIntervalMs;
        // A client that reconnects (an EventSource, by itself) sends the last id it had, where
        // the buckets it has not had begin: it gets those that closed meanwhile, not the
        // history again, which it had, nor a gap.
        // (Node joins a header it does not know, given twice, into one string.)
        const given = metric === undefined ? undefined : lastEventId(req.headers['last-event-id'] as string | undefined);
        const ended = endedBuckets(monitor.now(), interval);
        // An id past where this clock's buckets end is no id of this server's: another process's,
        // whose clock ran ahead of this one (a restart after the wall clock stepped back, a
        // replica behind the same proxy). Resumed there, the stream sent nothing until this
        // clock caught up, hours for a step of hours, while its client took it for live.
        const resumeAt = given !== undefined && given <= ended ? given : undefined;
        const resumeTo = resumeAt === undefined ? undefined : ended;
        // Where the buckets not yet sent begin: every bucket before it has been sent, whole. The
        // history ends there, at the buckets the collector may still take samples into (the
        // open one, and the one before it until its first pass after its end), which are sent
        // whole once they have closed: a history read to now held the open bucket's samples
        // too, and a sample recorded before a client connected reached it twice.
        let pollFrom = resumeTo ?? ended;
        // Read before the stream opens: a bad metric or tags is still a 400.
        const backfill = metric === undefined ? undefined : resumeAt === undefined ? await read(from, 'auto', Math.max(from, pollFrom)) : await read(resumeAt, 'bucket', resumeTo);
        // Checked again: other streams may have opened while the history was read.
        refuseIfFull();
        open++;
        res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
        const stream = new Stream(res, limits, (why) => dropped[why]++);
        const sendBuckets = (h: MetricHistory, to: number): void => {
          pollFrom = to;
          const series = h.series.filter((s) => s.points.length > 0).map((s) => ({ tags: s.tags, points: s.points }));
          if (series.length > 0) stream.event('buckets', { metric: h.metric, kind: h.kind, unit: h.unit, series }, pollFrom);
        };
        stream.send(`retry: 2000\n\n`);
        if (resumeTo !== undefined) sendBuckets(backfill!, resumeTo);
        else if (backfill !== undefined) {
          for (const s of backfill.series) {
            stream.event('history', { metric: backfill.metric, kind: backfill.kind, unit: backfill.unit, totalSeries: backfill.totalSeries, series: s });
          }
          // The id alone (no event): a client that reconnects before the first bucket resumes there.
          stream.send(`id: ${pollFrom}\n\n`);
        }
        // One read at a time: a slow one (stored history) makes the next tick skip, not pile up.
        let reading = false;
        const poll =
          metric === undefined
            ? undefined
            : setInterval(() => {
                const to = endedBuckets(monitor.now(), interval);
                if (reading || to <= pollFrom) return;
                reading = true;
                read(pollFrom, 'bucket', to)
                  .then((h) => sendBuckets(h, to), () => {
                    // the metric's series went away (a replaced monitor): the stream goes on with alerts
                  })
                  .finally(() => {
                    reading = false;
                  });
              }, interval);
        const heartbeat = setInterval(() => stream.send(': ping\n\n'), HEARTBEAT_MS);
        // Nothing else frees the place of a client that stopped without closing (SIGSTOP, a
        // debugger, a frozen VM): its kernel goes on taking what is written, a few hundred bytes
        // a second, so its stream neither fills nor stalls for hours, and one that carries alerts
        // only, never. A live client reconnects at once and misses nothing.
        const retire = setTimeout(() => stream.retire(), limits.eventStreamMaxAgeMs);
        // An open stream (a dashboard's tab) must not keep the host alive, nor its connection (http-listen.ts).
        heartbeat.unref();
        poll?.unref();
        retire.unref();
        if (alerts === 'true') wantAlerts(stream);
        res.once('close', () => {
          open--;
          stream.close();
          clearInterval(poll);
          clearInterval(heartbeat);
          clearTimeout(retire);
          leaveAlerts(stream);
        });
      } catch (error) {
        sendError(res, error, (f) => (f === 'maxPoints' ? 'max_points' : f));
      }
    },
  };
  return { route, stats: () => ({ open, limit: limits.maxEventStreams, refused, dropped: { ...dropped } }) };
}
