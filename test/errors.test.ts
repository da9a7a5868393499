/**
 * Errors keep their field, rule and value apart and compose the message from them; an error
 * re-said under another field is composed again, never edited; instanceof holds across two
 * copies of the package.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as errors from '../dist/src/errors.js';
import { CardinalityError, ERROR_CODES, InvalidArgumentError, PerfwatchError, PerformanceMonitor } from '../dist/src/index.js';
import { caught } from './helpers.js';

const copyDir = mkdtempSync(join(tmpdir(), 'perfwatch-errors-'));
afterAll(() => rmSync(copyDir, { recursive: true, force: true }));

/** A second copy of the errors module, as a second install of the package would load. */
async function secondCopy(): Promise<typeof errors> {
  const file = join(copyDir, 'errors.js');
  copyFileSync(new URL('../dist/src/errors.js', import.meta.url), file);
  copyFileSync(new URL('../dist/src/errors.js.map', import.meta.url), `${file}.map`);
  return (await import(pathToFileURL(file).href)) as typeof errors;
}

describe('errors', () => {
  it('compose the message from the field, the rule and the value given', () => {
    const e = new InvalidArgumentError('window', 'must be a number of seconds from 1 to 86400', { value: 'x' });
    expect(e).toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'window', rule: 'must be a number of seconds from 1 to 86400', given: { value: 'x' } });
    expect(e.message).toBe('window must be a number of seconds from 1 to 86400, got "x"');
    expect(new InvalidArgumentError('name', 'must match [a-z]*', { value: 'a b', first: true }).message).toBe('name "a b" must match [a-z]*');
    expect(new CardinalityError('series limit reached').message).toBe('series limit reached');
  });

  it('re-root a sample error in its batch by composing, keeping class, rule and value', () => {
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    const e = caught<InvalidArgumentError>(() => m.recordBatch([{ name: 'a', value: 1 }, { name: 'b', value: 'x' as unknown as number }]));
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect(e).toMatchObject({ field: 'samples[1].value', rule: 'of b must be a finite number of magnitude under 2^333 (~1.7e100)', given: { value: 'x' } });
    expect(e.message).toBe('samples[1].value of b must be a finite number of magnitude under 2^333 (~1.7e100), got "x"');
    const again = e.withField('batch[1].value');
    expect(again).toBeInstanceOf(InvalidArgumentError);
    expect(again).toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'batch[1].value', rule: e.rule, given: e.given });
    expect(again.message).toBe('batch[1].value of b must be a finite number of magnitude under 2^333 (~1.7e100), got "x"');
  });

  it('carry codes of the exported union', () => {
    const thrown = [
      new errors.InvalidArgumentError('f', 'r'),
      new errors.CardinalityError('r'),
      new errors.KindMismatchError('r'),
      new errors.CapacityError('f', 'r'),
      new errors.MonitorStoppedError(),
      new errors.ActorError('collector', 'r'),
      new errors.ReportAbortedError(),
      new errors.ReportTimeoutError(1),
      new errors.ReportFailedError('r'),
      new errors.OptimizationBusyError(1),
    ];
    for (const e of thrown) expect(ERROR_CODES).toContain(e.code);
  });

  it('are instances of the classes of another copy of the package, and only of theirs', async () => {
    const other = await secondCopy();
    expect(other.InvalidArgumentError).not.toBe(InvalidArgumentError);
    const mine = new InvalidArgumentError('f', 'r');
    expect(mine instanceof other.InvalidArgumentError).toBe(true);
    expect(mine instanceof other.PerfwatchError).toBe(true);
    expect(mine instanceof other.CapacityError).toBe(false);
    const theirs = new other.CapacityError('f', 'r');
    expect(theirs instanceof errors.CapacityError).toBe(true);
    expect(theirs instanceof PerfwatchError).toBe(true);
    expect(theirs instanceof InvalidArgumentError).toBe(false);
    expect(new Error('x') instanceof PerfwatchError).toBe(false);
  });

  it('answer instanceof the ordinary way for a subclass without a brand of its own', () => {
    class Mine extends PerfwatchError {
      constructor() {
        super('PW_ERR_INVALID_ARG', { rule: 'r' });
      }
    }
    expect(new Mine() instanceof Mine).toBe(true);
    expect(new InvalidArgumentError('f', 'r') instanceof Mine).toBe(false);
  });
});
