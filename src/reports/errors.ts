/**
 * Errors of reports and of the optimisation engine, in the library's style (errors.ts): a
 * class per failure, a stable code, a message that says what happened.
 */
import { PerfwatchError } from '../errors.js';

/** A report or baseline task was cancelled through its AbortSignal. */
export class ReportAbortedError extends PerfwatchError {
  constructor(message = 'the report was cancelled: its AbortSignal was aborted') {
    super('PW_ERR_ABORTED', message, 'signal');
  }
}

/** A report or baseline task ran past reports.timeoutMs; its thread was replaced. */
export class ReportTimeoutError extends PerfwatchError {
  constructor(timeoutMs: number) {
    super('PW_ERR_REPORT_TIMEOUT', `the report task ran for more than reports.timeoutMs (${timeoutMs} ms): it was stopped and its thread replaced; raise reports.timeoutMs for reports over this much data`, 'reports.timeoutMs');
  }
}

/** A report task failed in the pool (a bug or an out-of-memory thread), not by bad input. */
export class ReportFailedError extends PerfwatchError {
  constructor(message: string) {
    super('PW_ERR_REPORT', `the report task failed: ${message}`);
  }
}

/** optimize() with dryRun false while another run is applying changes. */
export class OptimizationBusyError extends PerfwatchError {
  /** The run that is applying. */
  readonly runId: number;
  constructor(runId: number) {
    super('PW_ERR_BUSY', `optimisation run ${runId} is applying changes: wait for it to end or cancel it (one run applies at a time, so that each change is verified alone)`);
    this.runId = runId;
  }
}
