/**
 * The MCP fast lane, for the one message that carries 100,000 values: a
 * record_performance_metric batch. Two shortcuts, behind the one interface below:
 * - on stdio, a batch is read from the line's bytes into columns (batch-wire.ts) instead of
 *   JSON.parse building an object per sample, and the SDK then validates one object where
 *   the array was;
 * - on any transport, a batch in its common shape is accepted as it is instead of zod
 *   building a copy of it (accept.ts).
 * Each is an optimisation, never a second judge: it takes only what it reads exactly and the
 * schema accepts unchanged, and leaves anything else to JSON.parse and the schema, which give
 * their usual answer (test/mcp-batch-wire.test.ts and test/mcp-schemas.test.ts hold it to
 * that). The rest of MCP knows the lane by this interface only: a front built with
 * `fastLane: false` (`perfwatch mcp --no-fast-lane`) takes the ordinary path for every
 * message, and bench:mcp measures the two (docs/benchmarks.md).
 */
import { acceptsBatch } from './accept.js';
import { PackedSamples, SamplesDecoder } from './batch-wire.js';

/** Reads the lines of one stdio connection, keeping its state while a line arrives. */
export interface LineReader {
  /** Lines shorter than this are parsed the ordinary way. */
  readonly minBytes: number;
  /** A new line has started arriving. */
  begin(): void;
  /** The first `bytes` of the line have arrived in `line`: read ahead in them. */
  progress(line: Buffer, bytes: number): void;
  /**
   * The message of a whole line, with a batch read into columns, or undefined: parse it the
   * ordinary way. `line` holds a byte to spare after `end`.
   */
  decode(line: Buffer, end: number, continued: boolean): unknown;
}

export interface FastLane {
  readonly enabled: boolean;
  /** A reader for one stdio connection's lines; undefined: JSON.parse reads every line. */
  lineReader(): LineReader | undefined;
  /** Whether record_performance_metric's arguments are taken as they are, without the schema's copy. */
  acceptsRecord(input: unknown): boolean;
  /** The columns of a batch a line reader read, or undefined for samples given as objects. */
  columns(samples: unknown): PackedSamples | undefined;
}

/** `{ samples: PackedSamples }`, as a line reader delivers a batch. */
function isPackedBatch(input: unknown): boolean {
  if (input === null || typeof input !== 'object') return false;
  const keys = Object.keys(input);
  return keys.length === 1 && keys[0] === 'samples' && (input as { samples: unknown }).samples instanceof PackedSamples;
}

const ON: FastLane = {
  enabled: true,
  lineReader: () => new SamplesDecoder(),
  acceptsRecord: (input) => isPackedBatch(input) || acceptsBatch(input),
  columns: (samples) => (samples instanceof PackedSamples ? samples : undefined),
};

const OFF: FastLane = {
  enabled: false,
  lineReader: () => undefined,
  acceptsRecord: () => false,
  columns: () => undefined,
};

export function fastLane(enabled = true): FastLane {
  return enabled ? ON : OFF;
}

export type { PackedSamples };
