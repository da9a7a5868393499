/**
 * Where what the store still holds of a series begins, for a window from `from`: every reading
 * of a window (getMetrics, alert rules) takes its count, sum and rate over that part and says
 * its seconds. Counted over what is held and divided by the whole window, a counter's rate
 * over a day was a quarter of the true one after 24 hours at the default 6 hours of rollups,
 * and over 10 minutes up to a tenth low (the first, partial minute's buckets gone from the
 * 5-minute ring): an alert rule `rate < 19` fired on a steady 20/s. A window that ends in the
 * past ends, likewise, where what is held of it ends (heldTo).
 */
import type { StoreReader } from './reader.js';

/**
 * `from`, or later where the store dropped the window's oldest part of series `id`. Once the
 * bucket ring (bucketCapacity) no longer reaches back to `from`, the window's first, partial
 * minute is held from the ring's oldest bucket on, or not at all (its rollup covers time
 * before the window), and the window starts at the next whole minute, which the rollups hold;
 * they (rollupCapacity) hold the newest minutes only, once a series had more. The oldest
 * record of a ring is left out (the collector writes the next one over it). So too where that
 * minute is held in a row stored on disk that starts before `from` (after a restart, the
 * ring holding only the new process's buckets): over the seconds from `from`, a steady 20/s
 * read 18.0 from 20 s into a stored minute.
 */
export function heldFrom(reader: StoreReader, id: number, from: number): number {
  const L = reader.layout;
  let start = from;
  const oldest = reader.oldestBucket(id, 1);
  if (!(oldest <= from) && (reader.bucketCount(id, 1) > L.t1Cap || storedBefore(reader, id, from))) {
    const minute = Math.ceil(from / L.rollupMs) * L.rollupMs;
    start = oldest < minute ? oldest : minute;
  }
  if (reader.bucketCount(id, 2) > L.t2Cap) start = Math.max(start, reader.oldestBucket(id, 2));
  return start;
}

/**
 * Whether a row stored on disk (SpanReader) starts in `from`'s minute before it: a window's
 * aggregate takes it whole or not at all, and leaves it out.
 */
function storedBefore(reader: StoreReader, id: number, from: number): boolean {
  if (!(reader.oldestStored(id) < from)) return false;
  const minute = Math.floor(from / reader.layout.rollupMs) * reader.layout.rollupMs;
  for (const r of reader.buckets(id, 2, minute, from)) if (reader.isStored(r)) return true;
  return false;
}

/**
 * `to`, or the start of its minute when the window's last, partial minute is held only in a
 * record that may hold samples after `to`: the bucket ring wrapped and no longer reaches back
 * to that minute's start (its rollup is whole), or a row stored on disk of that minute was
 * written by a run that went on past `to` (SpanReader). A window's aggregate takes a rollup
 * whole or not at all: a memory's rollup of that minute was left out while its seconds counted
 * (a steady 20/s read 17.1 from 600 s to 330 s ago), and a stored row was counted whole over
 * part of its minute (21). Before the oldest bucket of a ring that never wrapped, the memory
 * has no sample. `from` is where the part held begins (heldFrom): one that begins in that
 * minute keeps what the ring holds of it, as nothing whole lies before it to end at.
 */
export function heldTo(reader: StoreReader, id: number, from: number, to: number): number {
  const L = reader.layout;
  const minute = Math.floor(to / L.rollupMs) * L.rollupMs;
  if (!(minute < to) || from >= minute) return to;
  const oldest = reader.oldestBucket(id, 1);
  if (oldest <= minute) return to;
  if (reader.bucketCount(id, 1) > L.t1Cap) return minute;
  for (const r of reader.buckets(id, 2, minute, to)) if (reader.isStored(r) && reader.recordEnd(2, r) > to) return minute;
  return to;
}
