/** What an encoder hands the sender: one request's body, ready for the wire. */
export interface Batch {
  body: Uint8Array;
  /** Samples (remote_write) or data points (OTLP) it carries: what sent, failed and dropped count. */
  samples: number;
  /** When its series were read (ms): the lag of a batch still waiting is measured from it. */
  at: number;
}
