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
