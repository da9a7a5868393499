/** The options of profile captures (monitor options' `profiling`). */
import { z } from 'zod';

const MiB = 1024 * 1024;

const intIn = (min: number, max: number, def: number, what = '') => {
  const range = `must be an integer from ${min} to ${max}${what}`;
  return z.number({ error: range }).int({ error: range }).min(min, { error: range }).max(max, { error: range }).default(def);
};

export const ProfilingOptionsSchema = z.strictObject({
  /**
   * Where the .cpuprofile and .heapprofile files go. Default: `<dataDir>/profiles` with
   * storage 'sqlite' while the monitor holds the dataDir's lock, else a directory of this
   * process under the system's temporary directory.
   */
  dir: z.string({ error: 'must be a directory path' }).min(1, { error: 'must be a directory path' }).max(4096, { error: 'must be at most 4096 characters' }).optional(),
  /** Profile files kept; the oldest go first. */
  maxFiles: intIn(1, 10_000, 20),
  /** Bytes of profile files kept; the oldest go first (a single profile larger than this is not written). */
  maxBytes: intIn(MiB, 1024 * 1024 * MiB, 256 * MiB, ' bytes'),
  /** A rule with `capture` starts at most one capture per this many ms (its other firings meanwhile say why they have none). */
  ruleIntervalMs: intIn(0, 7 * 86_400_000, 600_000, ' ms'),
  /** Functions, allocation sites and stacks kept in a summary. */
  summaryTop: intIn(1, 100, 20),
  /** Recent captures kept in memory (their summaries, for the MCP tool and the next reports). */
  keep: intIn(1, 1000, 20),
});

export type ProfilingOptions = z.output<typeof ProfilingOptionsSchema>;
