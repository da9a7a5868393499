/**
 * An append-only table of strings in a SharedArrayBuffer: every thread can look a string up
 * without a lock and get the same dense index, and any thread can add one under a short
 * spin lock. Entries are never removed, so a reader can trust an index once it saw it.
 *
 * | bytes                   | region   | type   | meaning                                          |
 * |-------------------------|----------|--------|--------------------------------------------------|
 * | 0                       | LOCK     | i32    | 0 free, else the holder's tag (CAS)              |
 * | 4                       | COUNT    | i32    | entries published                                 |
 * | 8                       | USED     | i32    | arena bytes used                                  |
 * | 12                      | CAP      | i32    | entry capacity                                    |
 * | 16                      | SLOTS    | i32    | hash slots (power of two, ≥ 2 × CAP)              |
 * | 20                      | ARENA    | i32    | arena bytes                                       |
 * | 24                      | EXTRA    | i32    | ints of caller data per entry                     |
 * | HEADER_BYTES            | slots    | i32[]  | entry index + 1, 0 = empty (linear probing)      |
 * | + 4 × SLOTS             | entries  | i32[]  | per entry: offset, length, hash, extra…          |
 * | + 4 × CAP × (3 + EXTRA) | arena    | u8[]   | UTF-8 of the strings                             |
 *
 * Publication order: arena bytes, then the entry, then its slot (Atomics.store), then COUNT.
 * A reader that finds the slot, or an index below COUNT, sees a complete entry.
 */
import { CapacityError, PerfwatchError } from './errors.js';

const LOCK = 0;
const COUNT = 1;
const USED = 2;
const CAP = 3;
const SLOTS = 4;
const ARENA = 5;
const EXTRA = 6;
const HEADER_BYTES = 64;
const ENTRY_FIXED = 3;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface SharedTableSizes {
  capacity: number;
  arenaBytes: number;
  extraInts: number;
}

function sharedTableBytes(sizes: SharedTableSizes): number {
  const slots = slotCount(sizes.capacity);
  return HEADER_BYTES + 4 * slots + 4 * sizes.capacity * (ENTRY_FIXED + sizes.extraInts) + sizes.arenaBytes;
}

function slotCount(capacity: number): number {
  let n = 16;
  while (n < capacity * 2) n *= 2;
  return n;
}

export function createSharedTable(sizes: SharedTableSizes): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(sharedTableBytes(sizes));
  const hdr = new Int32Array(sab, 0, HEADER_BYTES / 4);
  hdr[CAP] = sizes.capacity;
  hdr[SLOTS] = slotCount(sizes.capacity);
  hdr[ARENA] = sizes.arenaBytes;
  hdr[EXTRA] = sizes.extraInts;
  return sab;
}

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** Thread-local view of a shared table, with a local cache of strings already resolved. */
export class SharedTable {
  readonly sab: SharedArrayBuffer;
  private readonly hdr: Int32Array;
  private readonly slots: Int32Array;
  private readonly entries: Int32Array;
  private readonly arena: Uint8Array;
  private readonly capacity: number;
  private readonly slotMask: number;
  private readonly stride: number;
  private readonly cache = new Map<string, number>();
  private readonly tag: number;

  constructor(sab: SharedArrayBuffer, lockTag: number) {
    this.sab = sab;
    this.hdr = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.capacity = this.hdr[CAP]!;
    const slots = this.hdr[SLOTS]!;
    this.slotMask = slots - 1;
    this.stride = ENTRY_FIXED + this.hdr[EXTRA]!;
    this.slots = new Int32Array(sab, HEADER_BYTES, slots);
    this.entries = new Int32Array(sab, HEADER_BYTES + 4 * slots, this.capacity * this.stride);
    this.arena = new Uint8Array(sab, HEADER_BYTES + 4 * slots + 4 * this.capacity * this.stride, this.hdr[ARENA]!);
    this.tag = lockTag | 0 || 1;
  }

  count(): number {
    return Atomics.load(this.hdr, COUNT);
  }

  arenaUsed(): number {
    return Atomics.load(this.hdr, USED);
  }

  /** The index of `key`, or -1. Lock-free. */
  lookup(key: string): number {
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const bytes = encoder.encode(key);
    const index = this.probe(bytes, fnv1a(bytes));
    if (index >= 0) this.cache.set(key, index);
    return index;
  }

  /**
   * The index of `key`, adding it with `extra` when absent. `onFull` builds the error for a
   * table at capacity. Returns [index, added].
   */
  intern(key: string, extra: readonly number[], onFull: () => PerfwatchError): [number, boolean] {
    const found = this.lookup(key);
    if (found >= 0) return [found, false];
    const bytes = encoder.encode(key);
    const hash = fnv1a(bytes);
    this.lock();
    try {
      const again = this.probe(bytes, hash);
      if (again >= 0) {
        this.cache.set(key, again);
        return [again, false];
      }
      const index = this.hdr[COUNT]!;
      if (index >= this.capacity) throw onFull();
      const used = this.hdr[USED]!;
      if (used + bytes.length > this.arena.length) {
        throw new CapacityError('registry', `string arena is full (${this.arena.length} bytes); raise maxSeries or shorten tags`);
      }
      this.arena.set(bytes, used);
      this.hdr[USED] = used + bytes.length;
      const e = index * this.stride;
      this.entries[e] = used;
      this.entries[e + 1] = bytes.length;
      this.entries[e + 2] = hash;
      for (let i = 0; i < extra.length; i++) this.entries[e + ENTRY_FIXED + i] = extra[i]!;
      let slot = hash & this.slotMask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.slotMask;
      Atomics.store(this.slots, slot, index + 1);
      Atomics.store(this.hdr, COUNT, index + 1);
      this.cache.set(key, index);
      return [index, true];
    } finally {
      this.unlock();
    }
  }

  /** The string of an entry. */
  keyAt(index: number): string {
    const e = index * this.stride;
    const offset = this.entries[e]!;
    const length = this.entries[e + 1]!;
    // TextDecoder refuses views on shared memory: copy the few bytes out.
    return decoder.decode(this.arena.slice(offset, offset + length));
  }

  extraAt(index: number, i: number): number {
    return this.entries[index * this.stride + ENTRY_FIXED + i]!;
  }

  private probe(bytes: Uint8Array, hash: number): number {
    let slot = hash & this.slotMask;
    for (;;) {
      const v = Atomics.load(this.slots, slot);
      if (v === 0) return -1;
      const index = v - 1;
      const e = index * this.stride;
      if (this.entries[e + 2] === hash && this.entries[e + 1] === bytes.length) {
        const offset = this.entries[e]!;
        let same = true;
        for (let i = 0; i < bytes.length; i++) {
          if (this.arena[offset + i] !== bytes[i]) {
            same = false;
            break;
          }
        }
        if (same) return index;
      }
      slot = (slot + 1) & this.slotMask;
    }
  }

  /**
   * A spin lock held for a few microseconds while one entry is appended. Another thread that
   * finds it taken waits on the lock word; the timeout turns a holder that died mid-append
   * (a terminated worker) into a clear error instead of a hang.
   */
  private lock(): void {
    const deadline = Date.now() + 2000;
    for (;;) {
      const holder = Atomics.compareExchange(this.hdr, LOCK, 0, this.tag);
      if (holder === 0) return;
      if (Date.now() > deadline) {
        throw new CapacityError('registry', `lock held for over 2 s by thread tag ${holder}; a thread died while adding a series`);
      }
      Atomics.wait(this.hdr, LOCK, holder, 5);
    }
  }

  private unlock(): void {
    Atomics.store(this.hdr, LOCK, 0);
    Atomics.notify(this.hdr, LOCK, 1);
  }
}
