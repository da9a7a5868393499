/**
 * Rounding to significant digits, for numbers perfwatch derives itself: its own
 * measurements (a CPU share from 100 Hz jiffies, a memory share, an event-loop delay) and
 * the statistics it reports (means, rates, quantiles). Their digits past the sixth are
 * rounding noise, and they cost bytes and time in every answer that carries them (a
 * 17-digit double takes longer to print and to parse than a 6-digit one). Values a caller
 * recorded are never rounded.
 */

/** Significant digits kept of perfwatch's own measurements and derived statistics. */
export const MEASURED_DIGITS = 6;

/**
 * v to `digits` significant digits, by arithmetic (toPrecision and back costs several times
 * more). An integer multiplied or divided by an exact power of ten (10^0 to 10^22) gives the
 * double nearest the rounded decimal. Integers, zero and non-finite values pass unchanged.
 */
export function significant(v: number, digits: number): number {
  if (v === 0 || !Number.isFinite(v) || Number.isInteger(v)) return v;
  const k = digits - 1 - Math.floor(Math.log10(Math.abs(v)));
  if (k > 22 || k < -22) return v;
  return k >= 0 ? Math.round(v * 10 ** k) / 10 ** k : Math.round(v / 10 ** -k) * 10 ** -k;
}

/** One of perfwatch's own measurements, as it is stored and shown: 6 significant digits. */
export function measured(v: number): number {
  return significant(v, MEASURED_DIGITS);
}
