/**
 * A process's stored rows of one series (storage/rollups.ts' columns, as the span reader takes
 * them): a row a start, each of `count[i]` samples of `value`, no sketch, none hourly.
 */
export function storedRows(start: readonly number[], count: readonly number[], value: number) {
  return {
    start: Float64Array.from(start),
    count: Float64Array.from(count),
    sum: Float64Array.from(count, (c) => c * value),
    min: Float64Array.from(start, () => value),
    max: Float64Array.from(start, () => value),
    last: Float64Array.from(start, () => value),
    sketchAt: Float64Array.from(start, () => -1),
    sketches: new Int32Array(0),
    hourly: new Uint8Array(start.length),
  };
}
