/** What an encoder hands the sender: one request's body, ready for the wire. */
export interface Batch {
  body: Uint8Array;
  /** Samples (remote_write) or data points (OTLP) it carries: what sent, failed and dropped count. */
  samples: number;
  /** When its series were read (ms): the lag of a batch still waiting is measured from it. */
  at: number;
}

/** The fewest samples or points export.maxSamplesPerRequest lets a request be cut to (monitor/options.ts takes no less). */
export const MIN_SAMPLES_PER_REQUEST = 100;
