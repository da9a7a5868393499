/**
 * The errors of profile captures: one running already (PW_ERR_BUSY, as optimisation runs
 * answer), and a capture the inspector could not take (PW_ERR_PROFILE).
 */
import { PerfwatchError, brandError } from '../errors.js';

/** A capture was asked for while another runs: one at a time, so that neither skews the other. */
export class ProfileBusyError extends PerfwatchError {
  /** The capture running. */
  readonly captureId: number;
  constructor(captureId: number, kind: string, endsAt: number) {
    super('PW_ERR_BUSY', { rule: `profile capture ${captureId} (${kind}) is running until ${new Date(endsAt).toISOString()}: one capture runs at a time; ask again after it ends` });
    this.captureId = captureId;
  }
}

/** The inspector could not take the profile (not available in this build, a session refused, a domain error). */
export class ProfileError extends PerfwatchError {
  constructor(rule: string) {
    super('PW_ERR_PROFILE', { field: 'inspector', rule, named: false });
  }
}

brandError(ProfileBusyError, 'ProfileBusyError');
brandError(ProfileError, 'ProfileError');
