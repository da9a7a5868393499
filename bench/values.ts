/**
 * The values the recording benchmarks record: 4,096 log-normal draws (median ~20, a latency's
 * shape) from a seeded generator, computed once, so that the generator is not measured.
 */
export const values = new Float64Array(4096);
{
  let seed = 42;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed + 0.5) / 4294967296;
  };
  for (let i = 0; i < values.length; i++) {
    const z = Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
    values[i] = Math.exp(3 + 0.8 * z);
  }
}

/**
 * A per-series sample lookup over 8,192 log-normal-ish draws (seed 11), the same for
 * perfwatch and its peer in a run: `value(series, i)` is the i-th sample of a series. `sigma`
 * sets the spread around e^3 (~20), `divisor` scales every value down (bench:http's are ms/10).
 */
export function seriesValues(sigma: number, divisor = 1): (series: number, i: number) => number {
  const table = new Float64Array(8192);
  let seed = 11;
  for (let i = 0; i < table.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    table[i] = Math.exp(3 + sigma * Math.sqrt(-2 * Math.log((seed + 0.5) / 4294967296)) * Math.cos(2 * Math.PI * ((i * 0.618) % 1))) / divisor;
  }
  return (series, i) => table[(i * 31 + series * 7) & 8191]!;
}
