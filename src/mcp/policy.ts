/**
 * Who may change the monitor's state through a front. A stdio client spawned the server and
 * may; an HTTP client may when it sent the endpoint's token, or when the embedding code
 * allowed state changes without one (serveMcp's allowStateChanges). Otherwise the endpoint
 * is read-only: the tools that change state answer StateChangeRefusedError.
 *
 * A tool changes state unless its annotations say readOnlyHint, or its spec says which
 * calls do (optimize_performance: only those that apply changes).
 */
import { PerfwatchError, brandError } from '../errors.js';
import { TOKEN_ENV } from './token.js';

/** A tool call that would change state, on an endpoint that allows none without a token. */
export class StateChangeRefusedError extends PerfwatchError {
  constructor(tool: string) {
    super('PW_ERR_FORBIDDEN', {
      field: 'tool',
      rule: `${tool} changes the monitor's state, which this HTTP endpoint allows only to clients that send its token, and it has none: the reading tools (get_*, generate_performance_report, optimize_performance as a dry run) work. The service's operator can set a token (${TOKEN_ENV}) or allowStateChanges`,
      named: false,
    });
  }
}

brandError(StateChangeRefusedError, 'StateChangeRefusedError');
