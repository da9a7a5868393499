/**
 * A transition's value from the evaluator's: NaN, its "no value" (an empty window, a series
 * gone), is null. Apart from schema.ts, as deleted-reason.ts is: the alert actor's thread
 * loads no schema library.
 */
export function judgedValue(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}
