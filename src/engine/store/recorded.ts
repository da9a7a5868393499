/**
 * Whether a series has had data in the store, from its hot line alone (64 bytes a series, one
 * after another): every way in (a sample, a hub's bucket row or closed record) writes a raw
 * slot (RAW_WRITTEN), and a sample's bucket opens with its start (OPEN_START, which stays).
 * False means the series has no samples, buckets or rollups, so a walk over every series
 * need not read its slot, a page apart from the next one's. A catalog restored from a dataDir
 * holds many series not recorded since (100,000 in one): reading each one's slot cost the
 * walk 13–90 ms (touchedBytes, on the host's thread) or 1.7–2.1 s (the collector's first
 * rollup pass, in start()), and brought a page of each into memory.
 */
import { HOT_F64, OPEN_START, RAW_WRITTEN } from './layout.js';

export function everRecorded(hot: Float64Array, hotI32: Int32Array, id: number): boolean {
  const hb = id * HOT_F64;
  return hotI32[hb * 2 + RAW_WRITTEN] !== 0 || hot[hb + OPEN_START] !== 0;
}
