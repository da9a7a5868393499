/**
 * get_metric_history: how a metric changed, per series, in columns. Raw samples are two
 * columns (seconds after the series' start, and the value); points that stand for several
 * samples (a bucket, a rollup, a group of raw samples) add count, min and max, and p50, p90
 * and p99 for distributions. Objects per point repeating their field names cost an agent
 * 192 KB for ten series of 256 samples.
 *
 * Without max_points the answer is downsampled to fit the read budget (ANSWER_BYTES), and
 * says so and how to get more; with it, every series gets that many points at most.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { MetricHistory, SeriesHistory } from '../../monitor/history.js';
import { KINDS } from '../../engine/metrics.js';
import { InvalidArgumentError } from '../../errors.js';
import { ANSWER_BYTES, jsonBytes, textBytes } from '../budget.js';
import { exact, iso, num, seriesLabel, stat } from '../format.js';
import { intRange, isoTime, metricName, parseTimeRange, perLimits, tagsFor, timeRange, type TagLimits } from '../schemas.js';
import type { Front } from '../front.js';
import { heldHistory } from '../held.js';
import { READ, asArgument, defineTool } from './define.js';

/** Points per series when nothing smaller is needed to fit the budget. */
const MAX_DEFAULT_POINTS = 500;
/** Series a page when no limit is asked for (fewer when they do not fit the budget). */
const DEFAULT_SERIES = 10;
/** What the structured answer and the text may take: the budget less room for the result's envelope and the text's escapes in JSON. */
const FIT_BYTES = ANSWER_BYTES - 512;

export const historyInputFor = perLimits((l: TagLimits) =>
  z
  .strictObject({
    metric_type: metricName,
    tags: tagsFor(l).optional(),
    time_range: timeRange.optional(),
    start: isoTime.optional(),
    end: isoTime.optional(),
    max_points: intRange(1, 10_000).optional().describe('Per series (default: fits 8 KB)'),
    limit: intRange(1, 100).optional().describe('default 10 (fewer to fit)'),
    offset: intRange(0, 10_000_000).optional(),
  })
  .superRefine((args, ctx) => {
    if (args.time_range !== undefined && (args.start !== undefined || args.end !== undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'time_range must not be given with start or end: pass one or the other' });
    }
    if (args.start !== undefined && args.end !== undefined && Date.parse(args.start) > Date.parse(args.end)) {
      ctx.addIssue({ code: 'custom', path: [], message: `start (${args.start}) must not be after end (${args.end})` });
    }
  }),
);

const column = z.array(z.number());

export const HistoryOutput = z.object({
  metric: z.string(),
  kind: z.enum(KINDS),
  unit: z.string(),
  from: z.string().nullable(),
  to: z.string(),
  series: z.array(
    z.object({
      tags: z.record(z.string(), z.string()),
      resolution: z.enum(['raw', 'bucket', 'rollup']),
      step_seconds: z.number(),
      source_points: z.number(),
      start: z.string().nullable(),
      t: column.describe('seconds after start'),
      value: column,
      count: column.optional().describe('and min..p99: multi-sample points'),
      min: column.optional(),
      max: column.optional(),
      p50: z.array(z.number().nullable()).optional(),
      p90: z.array(z.number().nullable()).optional(),
      p99: z.array(z.number().nullable()).optional(),
    }),
  ),
  total_series: z.number(),
  truncated: z.boolean(),
  next_offset: z.number().optional(),
  points_per_series: z.number(),
  downsampled: z.boolean(),
});

type Out = z.output<typeof HistoryOutput>;

/** An answer, its size, and the history and points it was made of. */
interface Fitted {
  structured: Out;
  text: string;
  bytes: number;
  history: MetricHistory;
  points: number;
}
type SeriesOut = Out['series'][number];

function seriesOut(s: SeriesHistory, kind: (typeof KINDS)[number]): SeriesOut {
  const pts = s.points;
  const t0 = pts[0]?.t ?? Number.NaN;
  const out: SeriesOut = {
    tags: s.tags,
    resolution: s.resolution,
    step_seconds: s.stepMs / 1000,
    source_points: s.sourcePoints,
    start: iso(t0),
    t: pts.map((p) => (p.t - t0) / 1000),
    value: [],
  };
  // Points of one raw sample each are the sample: time and value say it all.
  if (pts.every((p) => p.count === 1) && s.resolution === 'raw') {
    out.value = pts.map((p) => p.value);
    return out;
  }
  out.value = pts.map((p) => (kind === 'gauge' ? p.value : stat(p.value)));
  out.count = pts.map((p) => p.count);
  out.min = pts.map((p) => p.min);
  out.max = pts.map((p) => p.max);
  if (kind === 'distribution') {
    out.p50 = pts.map((p) => (p.p50 === undefined ? null : stat(p.p50)));
    out.p90 = pts.map((p) => (p.p90 === undefined ? null : stat(p.p90)));
    out.p99 = pts.map((p) => (p.p99 === undefined ? null : stat(p.p99)));
  }
  return out;
}

/** The answer for a page of series: `h` holds the page, which starts at `offset` of the matching series. */
export function historyOut(h: MetricHistory, pointsPerSeries: number, offset = 0): Out {
  return {
    metric: h.metric,
    kind: h.kind,
    unit: h.unit,
    from: iso(h.from),
    to: iso(h.to)!,
    series: h.series.map((s) => seriesOut(s, h.kind)),
    total_series: h.totalSeries,
    truncated: h.totalSeries > offset + h.series.length,
    ...(h.totalSeries > offset + h.series.length ? { next_offset: offset + h.series.length } : {}),
    points_per_series: pointsPerSeries,
    // Cut by the points cap: a rollup's minutes merging its rows and buckets have fewer points
    // than sources too, but max_points would not give more of them.
    downsampled: h.series.some((s) => s.points.length < s.sourcePoints && s.sourcePoints > pointsPerSeries),
  };
}

/**
 * Per series: its span, points and the shape of its values (not every point). `tags` is the
 * filter asked for: a filter that matched no series is said so, as get_performance_metrics
 * says it, and not as "no data in the range", which sends an agent to widen a range that is
 * not the cause (a series with data, in the range or not, is always listed). `meant`: the tags
 * a typo in the filter most likely meant (suggestTags), said as get_performance_metrics says them.
 */
export function historyText(h: Out, fitted: boolean, offset = 0, tags?: Record<string, string>, unread?: MetricHistory['unread'], source?: MetricHistory, meant?: Record<string, string>): string {
  // The answer's series miss what could not be read from disk: said first, before anything is read as all there was.
  const missing = unread ? `the stored history of ${unread.series} series could not be read (${unread.error}): they lack what is older than this process's data, or are left out; ` : '';
  if (h.series.length === 0) {
    if (offset > 0) return `${missing}${h.metric}: no series from offset ${offset}: there are ${h.total_series}`;
    if (tags !== undefined && Object.keys(tags).length > 0) return `${missing}no series matches ${seriesLabel(h.metric, tags)} yet: leave out tags for the series there are${meant ? `; did you mean ${seriesLabel(h.metric, meant)}?` : ''}`;
    return `${missing}${h.metric}: no data in the range`;
  }
  const lines = h.series.map((s, i) => {
    const n = s.value.length;
    if (n === 0) return `${seriesLabel(h.metric, s.tags)}: no points`;
    // A counter's values are rates a second, its points' min and max single samples: the line stays in one unit.
    const spread = h.kind === 'counter' ? s.value : undefined;
    const lo = Math.min(...(spread ?? s.min ?? s.value));
    const hi = Math.max(...(spread ?? s.max ?? s.value));
    const what = !s.count ? 'raw samples' : s.resolution === 'raw' ? `points from ${s.source_points} raw samples` : `points of ${s.step_seconds}s from ${s.source_points} ${s.resolution === 'rollup' ? 'stored rows, rollups and buckets' : 'buckets'}`;
    // A point of merged raw samples starts at its first: the range ends at its last sample.
    const lastAt = source?.series[i]?.points[n - 1]?.lastAt;
    const end = s.start === null ? '' : ` .. ${iso(lastAt ?? Date.parse(s.start) + 1000 * s.t[n - 1]!)}`;
    // Raw samples and the min and max of points are figures samples had: in full. A point's
    // value (a mean, a rate) and a counter's spread (rates) are rounded.
    const first = s.count ? num : exact;
    const spreadText = spread ? num : exact;
    return `${seriesLabel(h.metric, s.tags)}: ${n} ${what}, ${s.start}${end}; first ${first(s.value[0])} last ${first(s.value[n - 1])} min ${spreadText(lo)} max ${spreadText(hi)}`;
  });
  const notes: string[] = [];
  if (fitted && h.downsampled) notes.push(`downsampled to ${h.points_per_series} points per series to fit 8 KB: pass max_points (up to 10000) for more`);
  if (h.truncated) notes.push(`${h.total_series - offset - h.series.length} more series: pass offset ${offset + h.series.length} for the next page (limit: up to 100 a page), or filter by tags`);
  return `${missing}${h.metric} (${h.kind}${h.unit ? `, ${h.unit}` : ''}), columns t (s after start) and value${notes.length ? `; ${notes.join('; ')}` : ''}\n${lines.join('\n')}`;
}

export default function register(server: McpServer, front: Front): void {
  const host = front.host;
  defineTool(
    server,
    front,
    'get_metric_history',
    {
      title: 'Metric history',
      description:
        'A metric over time_range or start/end: columns of times and values per series.',
      input: historyInputFor(front.tagLimits),
      output: HistoryOutput,
      annotations: READ,
      onDeadline: 'ask for a shorter time_range, fewer series (tags, limit) or fewer max_points',
    },
    async (args, _ctx, work) => {
      await host.readable();
      // The monitor's clock: a time_range ends at its newest bucket, past a step back of the wall clock.
      const now = host.monitor.now();
      const asked = args.time_range !== undefined ? now - parseTimeRange(args.time_range) : args.start !== undefined ? Date.parse(args.start) : undefined;
      const to = args.end !== undefined ? Date.parse(args.end) : undefined;
      // As a start after an end is, whatever the end: nothing can have been recorded there yet.
      if (args.start !== undefined && asked! > now) throw new InvalidArgumentError('start', `(${args.start}) must not be after now (${new Date(now).toISOString()}): nothing is recorded there yet`);
      // A range reaching back past what the monitor holds is read from the oldest time it
      // holds, given by time_range or by start alike, and the answer says so.
      const held = heldHistory(host.monitor.options);
      const oldest = now - held.ms;
      const from = asked !== undefined && asked < oldest ? Math.min(oldest, to ?? oldest) : asked;
      const heldNote = from === asked ? '' : `\nthe range asked starts before the oldest history this monitor holds (${held.words}): ${to !== undefined && to < oldest ? 'it ends before that too, so nothing is read' : `read from ${iso(oldest)}`}`;
      const offset = args.offset ?? 0;
      const read = async (maxPoints: number): Promise<MetricHistory> => {
        try {
          const history = await host.monitor.getMetricHistory({
            metric: args.metric_type,
            maxPoints,
            limit: args.limit ?? DEFAULT_SERIES,
            offset,
            ...(args.tags ? { tags: args.tags } : {}),
            ...(from !== undefined ? { from } : {}),
            ...(to !== undefined ? { to } : {}),
            // Its waits for the storage actor give the request's place back (a large file's read).
          }, (w) => work.away(w));
          return history;
        } catch (error) {
          throw asArgument(error, 'metric', 'metric_type');
        }
      };
      const fitted = args.max_points === undefined;
      const answer = (history: MetricHistory, points: number): Fitted => {
        const structured = historyOut(history, points, offset);
        // A filter that matched no series may hold a misspelt tag name or value (endpont). Only
        // in the text: tools/list has no room for get_performance_metrics' did_you_mean here.
        const meant = history.totalSeries === 0 && args.tags ? host.monitor.suggestTags({ names: [args.metric_type], tags: args.tags }) : undefined;
        const text = `${historyText(structured, fitted, offset, args.tags, history.unread, history, meant)}${heldNote}`;
        return { structured, text, bytes: jsonBytes(structured) + textBytes(text), history, points };
      };
      let points = args.max_points ?? MAX_DEFAULT_POINTS;
      // Downsample until the answer fits. Bytes do not scale with points: a raw series cut
      // below its samples gains columns (count, min, max, quantiles), so a cut can grow the
      // answer (two series of 200 raw samples answered 9 KB after five rounds; one of 2 raw
      // samples and long tags, cut to a point, 8.6 KB against 8.5). The first round scales
      // the points by what is over; later ones at least halve them, so that a few more reach
      // an answer that fits (a point a series does, for the default limit, unless their tags
      // are long). The smallest answer is kept.
      let last = answer(await read(points), points);
      let smallest = last;
      for (let round = 0; fitted && smallest.bytes > FIT_BYTES && points > 1; round++) {
        const scaled = Math.floor(points * (FIT_BYTES / last.bytes) * 0.9);
        points = Math.max(1, round === 0 ? scaled : Math.min(scaled, Math.floor(points / 2)));
        last = answer(await read(points), points);
        if (last.bytes < smallest.bytes) smallest = last;
      }
      // Still over: fewer series (their tags are long), unless a limit was asked for; the
      // answer then says which offset has the next ones. One series at least.
      for (let n = smallest.history.series.length - 1; fitted && args.limit === undefined && smallest.bytes > FIT_BYTES && n >= 1; n--) {
        smallest = answer({ ...smallest.history, series: smallest.history.series.slice(0, n) }, smallest.points);
      }
      return { structured: smallest.structured, text: smallest.text };
    },
  );
}
