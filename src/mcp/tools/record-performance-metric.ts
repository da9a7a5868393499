/**
 * record_performance_metric: one sample, or a batch of up to MAX_BATCH samples recorded all
 * or nothing. A batch may arrive read into columns by the fast lane (fast-lane/index.ts),
 * which also accepts a plain batch in its common shape without the schema's copy.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Front } from '../front.js';
import { InvalidArgumentError, PerfwatchError } from '../../errors.js';
import type { BatchSample } from '../../engine/producer.js';
import { MAX_BATCH, MAX_TAG_LIMITS, isoTime, metricName, perLimits, tagsFor, type TagLimits } from '../schemas.js';
import { WRITE, defineTool, type ToolAnswer } from './define.js';

const finite = (what: string) => z.number({ error: `must be ${what}` });

export const recordInputFor = perLimits((l: TagLimits) => {
  const tags = tagsFor(l);
  const sample = z.strictObject({
    metric_type: metricName,
    value: finite('a finite number'),
    tags: tags.optional(),
    timestamp: z
      .union([finite('a time (ms since the epoch or ISO-8601)'), isoTime], { error: 'must be ms since the epoch or an ISO-8601 time' })
      .optional()
      .describe('ms since the epoch or ISO-8601, at most one interval ago'),
  });
  return z
    .strictObject({
      metric_type: metricName.optional(),
      value: finite('a finite number').optional(),
      tags: tags.optional(),
      samples: z
        .array(sample, { error: 'must be an array of samples' })
        .min(1, { error: 'must hold at least one sample' })
        .max(MAX_BATCH, { error: `must hold at most ${MAX_BATCH} samples per call` })
        .optional()
        .describe('A batch instead'),
    })
    .superRefine((args, ctx) => {
      if (args.samples !== undefined) {
        for (const key of ['metric_type', 'value', 'tags'] as const) {
          if (args[key] !== undefined) ctx.addIssue({ code: 'custom', path: [], message: `${key} must not be given with samples: pass either metric_type and value, or samples` });
        }
        return;
      }
      if (args.metric_type === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'metric_type is required (or samples)' });
      else if (args.value === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'value is required with metric_type' });
    });
});

/** The arguments of record_performance_metric at the largest limits: what the batch fast path must agree with. */
export const RecordInput = recordInputFor(MAX_TAG_LIMITS);

export const RecordOutput = z.object({
  recorded: z.number(),
  metrics: z.array(z.string()).describe('names written (first 20)'),
  truncated: z.boolean(),
});

/** Refuses a samples array over the limit by its length, before its elements are parsed. */
function batchPrecheck(input: unknown): InvalidArgumentError | undefined {
  const samples = (input as { samples?: unknown } | null)?.samples;
  if (Array.isArray(samples) && samples.length > MAX_BATCH) return new InvalidArgumentError('samples', `has ${samples.length} items; the limit is ${MAX_BATCH} per call`);
  return undefined;
}

/** The library's error about a sample's name, about the argument that carried it here (name → metric_type). */
function asToolField(error: unknown): unknown {
  if (!(error instanceof PerfwatchError) || error.field === undefined) return error;
  const field = error.field.replace(/(^|\.)name$/, '$1metric_type');
  return field === error.field ? error : error.withField(field);
}

/** The answer to a batch: how many were recorded, and the first 20 distinct metric names. */
function batchAnswer(recorded: number, names: Iterable<string>): ToolAnswer<z.output<typeof RecordOutput>> {
  const distinct = [...new Set(names)];
  const metrics = distinct.slice(0, 20);
  const truncated = distinct.length > 20;
  return { structured: { recorded, metrics, truncated }, text: `recorded ${recorded} samples (${metrics.join(', ')}${truncated ? ', …' : ''})` };
}

export default function register(server: McpServer, front: Front): void {
  const host = front.host;
  defineTool(
    server,
    front,
    'record_performance_metric',
    {
      title: 'Record metrics',
      description:
        "Record { metric_type, value, tags? } or a batch, all or nothing; any name but the monitor's own, e.g. response_time (ms).",
      input: recordInputFor(front.tagLimits),
      output: RecordOutput,
      annotations: WRITE,
      precheck: batchPrecheck,
      accepts: (input) => front.lane.acceptsRecord(input),
    },
    (args) => {
      try {
        return recordArgs(args);
      } catch (error) {
        throw asToolField(error);
      }
    },
  );

  function recordArgs(args: z.output<typeof RecordInput>): ToolAnswer<z.output<typeof RecordOutput>> {
    const m = host.monitor;
    const packed = front.lane.columns(args.samples);
    if (packed) {
      // A batch the fast lane read off the stdio wire into columns: validated there.
      const recorded = m.recordColumns(packed);
      host.wrote();
      return batchAnswer(recorded, packed.series.map((s) => s.name));
    }
    if (args.samples === undefined) {
      m.record(args.metric_type!, args.value!, args.tags);
      host.wrote();
      return { structured: { recorded: 1, metrics: [args.metric_type!], truncated: false }, text: `recorded 1 sample of ${args.metric_type}` };
    }
    const samples: BatchSample[] = new Array(args.samples.length);
    const names = new Set<string>();
    for (let i = 0; i < args.samples.length; i++) {
      const s = args.samples[i]!;
      const sample: BatchSample = { name: s.metric_type, value: s.value };
      if (s.tags !== undefined) sample.tags = s.tags;
      if (s.timestamp !== undefined) sample.timestamp = typeof s.timestamp === 'number' ? s.timestamp : Date.parse(s.timestamp);
      samples[i] = sample;
      if (names.size <= 20) names.add(s.metric_type);
    }
    const recorded = m.recordBatch(samples);
    host.wrote();
    return batchAnswer(recorded, names);
  }
}
