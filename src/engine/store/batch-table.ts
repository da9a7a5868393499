/**
 * The hub's member batches whose progress the store keeps (StoreWriter.beginBatch), in the
 * meta buffer from HUB_BATCHES_BYTE: per entry the batch's key (the hub's number for a member
 * epoch, 0 for a free entry), its seq, its rows applied and when it was begun (a count). One
 * entry a member epoch: the hub applies a member's batches in order, so a new seq of a key
 * supersedes its entry (the batch before was applied whole, or will never come again). When
 * every entry is taken, the least recently begun one is replaced; a batch of that member cut
 * by a kill and resent after HUB_BATCH_ENTRIES other member epochs began one would then be
 * applied whole again.
 */
import { HUB_BATCHES_BYTE, HUB_BATCH_ENTRIES } from './layout.js';

const KEY = 0;
const SEQ = 1;
const DONE = 2;
const BEGUN = 3;
const FIELDS = 4;

export class BatchTable {
  private readonly f64: Float64Array;
  /** The entry of the batch begun last. */
  entry = 0;

  constructor(meta: SharedArrayBuffer) {
    this.f64 = new Float64Array(meta, HUB_BATCHES_BYTE, HUB_BATCH_ENTRIES * FIELDS);
  }

  /** The index of `entry`'s rows applied in a Float64Array over the whole meta buffer. */
  doneCell(entry: number): number {
    return HUB_BATCHES_BYTE / 8 + entry * FIELDS + DONE;
  }

  /** Selects the entry of batch `seq` of `key` (entry) and returns its rows applied: 0 for a batch not begun before. */
  begin(key: number, seq: number): number {
    const f = this.f64;
    let found = -1;
    let free = -1;
    let oldest = -1;
    let clock = 0;
    for (let e = 0; e < HUB_BATCH_ENTRIES; e++) {
      const at = e * FIELDS;
      clock = Math.max(clock, f[at + BEGUN]!);
      if (f[at + KEY] === key) found = e;
      else if (f[at + KEY] === 0) free = free < 0 ? e : free;
      else if (oldest < 0 || f[at + BEGUN]! < f[oldest * FIELDS + BEGUN]!) oldest = e;
    }
    const e = found >= 0 ? found : free >= 0 ? free : oldest;
    const at = e * FIELDS;
    this.entry = e;
    f[at + BEGUN] = clock + 1;
    if (found >= 0 && f[at + SEQ] === seq) return f[at + DONE]!;
    // Straight-line stores: a writer killed here leaves the old batch or the new one, never a mix.
    f[at + KEY] = key;
    f[at + SEQ] = seq;
    f[at + DONE] = 0;
    return 0;
  }
}
