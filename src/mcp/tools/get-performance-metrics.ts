/**
 * get_performance_metrics: each series' value now and its summary over a recent window,
 * as many series as fit in the answer budget unless a limit is given.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { InvalidArgumentError } from '../../errors.js';
import type { Front } from '../front.js';
import { ANSWER_BYTES } from '../budget.js';
import { metricsText, seriesLabel } from '../format.js';
import { sampledFirst } from '../metrics-page.js';
import { DEFAULT_WINDOW_SECONDS, MetricSummary, intRange, metricName, perLimits, tagsFor, type TagLimits } from '../schemas.js';
import { READ, asArgument, defineTool, type ToolAnswer } from './define.js';

/**
 * The series summarised for an answer without a limit: more than ever fit in its budget (a
 * series' summary and line take over 100 bytes), so the budget, not this, cuts the answer.
 */
const FIRST_PAGE = 200;

export const metricsInputFor = perLimits((l: TagLimits) =>
  z.strictObject({
    metric_types: z
      .array(metricName, { error: 'must be an array of metric names' })
      .max(256, { error: 'must list at most 256 metric names' })
      .optional()
      .describe('Default: all'),
    tags: tagsFor(l).optional().describe('Series with these tags'),
    window: z
      .number({ error: 'must be a number of seconds from 1 to 86400' })
      .min(1, { error: 'must be a number of seconds from 1 to 86400' })
      .max(86_400, { error: 'must be a number of seconds from 1 to 86400' })
      .default(DEFAULT_WINDOW_SECONDS)
      .describe('Seconds'),
    limit: intRange(1, 1000).optional().describe('Default: fits 8 KB'),
    offset: intRange(0, 10_000_000).optional(),
  }),
);

export const MetricsOutput = z.object({
  window_seconds: z.number(),
  /** Present when the monitor watched less of the window (its first minutes, or after a restart). */
  covered_seconds: z.number().optional(),
  metrics: z.array(MetricSummary),
  total: z.number(),
  /** Present when some of total had no sample in the window: how many, listed after the others. */
  idle: z.number().optional(),
  truncated: z.boolean(),
  next_offset: z.number().optional(),
  at: z.string(),
  /** The tags a typo in the filter most likely meant, when it matched no series. */
  did_you_mean: z.record(z.string(), z.unknown()).optional(),
});

/** Where a metric recorded only before a restart is: this answer's series are those with samples since. */
const STORED_BEFORE = 'samples from before this monitor started are in get_metric_history when storage kept them';

/**
 * A filter that matched no series: not the same as a monitor without data, which an agent
 * would take it for; with the tags a typo in it most likely meant. With storage, the series
 * answered are those with samples since the start: after a restart, a metric recorded only
 * before it matched none, and the answer did not say its stored history was in
 * get_metric_history, as the covered seconds of a series that exists say.
 */
function noneMatch(names: readonly string[] | undefined, tags: Record<string, string> | undefined, meant: Record<string, string> | undefined, stored: boolean): string {
  const label = (t: Record<string, string>): string => (names ? names.map((n) => seriesLabel(n, t)).join(', ') : seriesLabel('', t));
  return `no series matches ${label(tags ?? {})} yet: leave out ${names && tags ? 'tags (or metric_types)' : names ? 'metric_types' : 'tags'} for the series there are${meant ? `; did you mean ${label(meant)}?` : ''}${stored ? `; ${STORED_BEFORE}` : ''}`;
}

export default function register(server: McpServer, front: Front): void {
  const host = front.host;
  defineTool(
    server,
    front,
    'get_performance_metrics',
    {
      title: 'Current metrics',
      // Short: tools/list is at its 20 KB, and did_you_mean took 33 bytes of it (the window's unit is in its own schema).
      // Not "and its count ... over the last window": room for idle, an output field (tools/list at 20 KB).
      description: "Each series' value now, count, mean, min, max, p50-p99 in the window.",
      input: metricsInputFor(front.tagLimits),
      output: MetricsOutput,
      annotations: READ,
      // Most series answer with the summary they had last time (MetricSummaries).
      checkedOutputItems: { key: 'metrics', seen: front.checkedSummaries },
    },
    (args) => {
      const answer = (): ToolAnswer<z.output<typeof MetricsOutput>> => {
        const offset = args.offset ?? 0;
        // Checked here, not in the schema: tools/list is at its 20 KB.
        if (args.metric_types?.length === 0) throw new InvalidArgumentError('metric_types', 'must list at least one metric name (leave it out for every metric)', { value: [] });
        const query = { ...(args.metric_types ? { names: args.metric_types } : {}), ...(args.tags ? { tags: args.tags } : {}) };
        let total: number;
        let idle: number;
        let page;
        try {
          // Only the series the answer can show are summarised (tens of µs each): at 20,000
          // series all of them held the host's event loop for about a second.
          ({ page, total, idle } = sampledFirst(host.monitor, query, args.window, offset, args.limit ?? FIRST_PAGE));
        } catch (error) {
          throw asArgument(error, 'names', 'metric_types');
        }
        // Without a limit, as many series as fit in the answer budget.
        const { metrics, lines } = args.limit !== undefined ? front.summaries.of(page) : front.summaries.of(page, ANSWER_BYTES - 512);
        const truncated = offset + metrics.length < total;
        // The part of the window the figures stand for: the part this monitor watched, the
        // same for every series, less for a series whose memory dropped the window's oldest
        // part (its rate is over what it holds); said for the answer when every series is.
        const covers = page.map((m) => m.window.coveredSeconds);
        const covered = covers.length === 0 || covers.includes(undefined) ? undefined : Math.max(...(covers as number[]));
        // A filter that matched nothing may hold a misspelt tag name or value (endpont).
        const meant = total === 0 && args.tags ? host.monitor.suggestTags(query) : undefined;
        return {
          structured: { window_seconds: args.window, ...(covered !== undefined ? { covered_seconds: covered } : {}), metrics, total, ...(idle > 0 ? { idle } : {}), truncated, ...(truncated ? { next_offset: offset + metrics.length } : {}), at: new Date().toISOString(), ...(meant ? { did_you_mean: meant } : {}) },
          text: total === 0 && (args.metric_types || args.tags) ? noneMatch(args.metric_types, args.tags, meant, host.monitor.options.storage === 'sqlite') : metricsText(metrics, total, truncated, args.window, lines, covered, offset, idle),
        };
      };
      // The common poll has nothing of its own to flush first: it answers in this turn.
      const flushing = host.readable();
      return flushing ? flushing.then(answer) : answer();
    },
  );
}
