/**
 * One circular sketch log (the closed buckets' runs, or the rollups') and the writer's cursor
 * in it. The log's reservation cell in the meta buffer is the bound readers check what they
 * copied against (reader.ts): a record is written only after a reservation that covers it is
 * published, so a reader that copied a record whose space was since reserved again drops it.
 */
import { LOG_BLOCK } from './layout.js';

/** One circular sketch log and the writer's cursor in it. */
export class LogCursor {
  readonly data: Int32Array;
  readonly size: number;
  private readonly metaBig: BigInt64Array;
  private readonly cell: number;
  pos: number;
  reservedTo: number;

  constructor(data: Int32Array, metaBig: BigInt64Array, cell: number) {
    this.data = data;
    this.size = data.length;
    this.metaBig = metaBig;
    this.cell = cell;
    // Resume after everything a previous writer may have touched.
    this.reservedTo = Number(Atomics.load(metaBig, cell));
    this.pos = this.reservedTo;
  }

  /**
   * Returns the absolute position for a record of `len` i32, publishing a new reservation
   * (the bound readers check against) before any of its space is overwritten.
   */
  reserve(len: number): number {
    let pos = this.pos;
    const offset = pos % this.size;
    if (offset + len > this.size) pos += this.size - offset;
    if (pos + len > this.reservedTo) {
      this.reservedTo = Math.ceil((pos + len) / LOG_BLOCK) * LOG_BLOCK;
      Atomics.store(this.metaBig, this.cell, BigInt(this.reservedTo));
    }
    this.pos = pos + len;
    return pos;
  }

  /** True while a record written at `pos` has not been overwritten. */
  holds(pos: number): boolean {
    return pos >= this.reservedTo - this.size;
  }
}
