/**
 * A share of a whole (0 to 1) in words: the one way perfwatch writes one, so that a figure reads
 * the same wherever it is shown (a capture's headline, its text, the alert's note, a report's
 * diagnosis). Until 2026-12-05 each place rounded its own way: an idle share of 0.9969 read
 * "99.7%" in a capture's headline and "100%" in the report's sentence after it.
 */

/** Significant digits of a percent: 71.3%, 5.68%, 0.123%. */
const DIGITS = 3;
/** Digits a share near 100% may take to be told from it (99.996%), past which it says so. */
const MOST_DIGITS = 6;

/**
 * `71.3%`, `97%`, `0.2%`: three significant digits, and more near 100%, since a share below 1
 * never reads 100% (`99.96%`: a thread idle in 99.96% of the samples was not idle in all of
 * them), nor one above 0 0% (`0.0833%`, or `<0.001%`).
 */
export function percent(share: number): string {
  const p = share * 100;
  if (p > 0 && p < 0.001) return '<0.001%';
  for (let digits = DIGITS; digits <= MOST_DIGITS; digits++) {
    const shown = Number(p.toPrecision(digits));
    if (shown < 100 || share >= 1) return `${shown}%`;
  }
  return '>99.9999%';
}
