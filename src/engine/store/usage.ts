/**
 * Memory the store has touched: the pages written so far, which is what its buffers add to
 * the process's resident size. The buffers themselves are address space reserved by the
 * configuration (about 0.5 GB for 10,000 series by default); a page of it costs memory only
 * once written, and a series writes its slot from the front of each region (header, raw
 * ring, bucket ring, rollup ring) as its data grows. Counting whole slots per series, as
 * status() did, read 444 MB "in use" where the resident size grew by 155 MB.
 *
 * The series' part is kept by the writer as it writes (touched-pages.ts: a count in the
 * control block, STORE_PAGES) and read in O(1) by touchedBytesOf(); touchedBytes() walks
 * every series for the same figure (a new writer's start, and tests).
 */
import { HOT_F64, LOG_RESERVED, ROLLUP_LOG_RESERVED, BUCKET_F64, type StoreLayout } from './layout.js';
import type { StoreReader } from './reader.js';
import { PAGE_BINS } from '../sketch.js';

/** The memory page the kernel commits at a time. */
export const PAGE_BYTES = 4096;

const pagesOf = (bytes: number): number => Math.ceil(bytes / PAGE_BYTES) * PAGE_BYTES;

/**
 * The byte ranges a series' slot has written, in increasing address order, given its samples
 * ever (`total`, > 0) and its bucket and rollup records ever (`t1`, `t2`): each region (raw
 * ring, bucket ring, rollup ring) from its front, as far as its data reached.
 */
export function seriesRanges(L: StoreLayout, id: number, total: number, t1: number, t2: number, add: (from: number, length: number) => void): void {
  const base = id * L.slotBytes();
  const bucketBytes = BUCKET_F64 * 8;
  add(base, L.rawOffsetF64 * 8);
  add(base + L.rawOffsetF64 * 8, Math.min(total, L.rawCap) * 16);
  add(base + L.t1OffsetF64 * 8, Math.min(t1, L.t1Cap) * bucketBytes);
  add(base + L.t2OffsetF64 * 8, Math.min(t2, L.t2Cap) * bucketBytes);
}

/**
 * Bytes of the store's pages written so far, for the first `seriesCount` series: the meta
 * block, the hot lines, each series' slot up to what its data reached, the sketch logs up to
 * their write position, and `sketchPagesPeak` sketch pages of open buckets (the most in use
 * at once that the caller saw: a page freed stays resident, and freed pages are reused first).
 * Walks every series: touchedBytesOf() takes their pages from the writer's count.
 */
export function touchedBytes(reader: StoreReader, seriesCount: number, sketchPagesPeak: number): number {
  const L = reader.layout;
  let pages = 0;
  let lastPage = -1;
  // Ranges come in increasing address order, so a page shared by neighbours counts once.
  const add = (from: number, length: number): void => {
    if (length <= 0) return;
    const first = Math.max(Math.floor(from / PAGE_BYTES), lastPage + 1);
    const last = Math.floor((from + length - 1) / PAGE_BYTES);
    if (last >= first) pages += last - first + 1;
    if (last > lastPage) lastPage = last;
  };
  for (let id = 0; id < seriesCount; id++) {
    if (!reader.everRecorded(id)) continue;
    // An estimate: a bucket counted twice while it closes moves no page (roughCount).
    const total = reader.roughCount(id);
    if (total === 0) continue;
    seriesRanges(L, id, total, reader.bucketCount(id, 1), reader.bucketCount(id, 2), add);
  }
  return touchedBytesOf(reader, seriesCount, sketchPagesPeak, pages);
}

/**
 * touchedBytes() with the series slots' pages written given (`slotPages`: the writer's count,
 * touched-pages.ts): O(1), nothing of any series read.
 */
export function touchedBytesOf(reader: StoreReader, seriesCount: number, sketchPagesPeak: number, slotPages: number): number {
  const L = reader.layout;
  const meta = new BigInt64Array(reader.buffers.meta);
  const log = Math.min(Number(Atomics.load(meta, LOG_RESERVED)), L.logInts) * 4;
  const rollupLog = Math.min(Number(Atomics.load(meta, ROLLUP_LOG_RESERVED)), L.rollupLogInts) * 4;
  const sketchPages = pagesOf(L.poolPagesOffsetBytes) + pagesOf(sketchPagesPeak * PAGE_BINS * 4) + pagesOf(sketchPagesPeak * PAGE_BINS);
  // A series with data wrote at least its header's first page: none written, no hot line read.
  const hot = slotPages > 0 ? pagesOf(seriesCount * HOT_F64 * 8) : 0;
  return reader.buffers.meta.byteLength + hot + slotPages * PAGE_BYTES + pagesOf(log) + pagesOf(rollupLog) + sketchPages;
}
