/**
 * An append-only table of strings in a SharedArrayBuffer: every thread can look a string up
 * without a lock and get the same dense index, and any thread can add one under a short
 * spin lock. Entries are never removed, so a reader can trust an index once it saw it.
 *
 * Part of the capacity (entries and arena bytes) can be held back for one class of caller
 * (`reserved` entries: the monitor's own series), so that the other callers filling the
 * table never starve it. Several entries can be added at once, all or none (appendMany).
 *
 * The header is TABLE_HEADER below; after it come the hash slots (SLOTS × i32: entry index
 * + 1, 0 = empty, linear probing), the entries (CAP × (offset, length, hash, EXTRA caller
 * ints) i32) and the arena (the strings' UTF-8).
 *
 * The arena may grow (`maxArenaBytes`): the buffer is then a growable SharedArrayBuffer whose
 * address space is reserved up to that bound and whose memory is taken as it grows, the
 * holder of the lock doubling it (at least) when a batch does not fit. Every thread's view of
 * it tracks the buffer's length, and an entry is published after the growth that holds it.
 *
 * Publication order: arena bytes, then the entry, then its slot (Atomics.store), then COUNT.
 * A reader sees a complete entry at any index below COUNT, and trusts a slot only when its
 * index is below COUNT: a thread that dies holding the lock may have stored the slot of its
 * entry and not COUNT, and the next append, once the lock is freed (releaseStale, or taken
 * over: lock()), gives that index to another key. Until then the slot leads to the dead
 * key's entry at an uncounted index, where a reader would find (and cache) the key at an
 * index about to be another's, or a half-rewritten entry. After, it leads to the other key's
 * entry, where the probe compares the key itself; it stays taken (one slot per death, of at
 * least 2 × CAP).
 */
import { CapacityError, PerfwatchError } from '../errors.js';
import { defineLayout } from './layout.js';
import { currentOsThread, osThreadEnded } from './os-thread.js';

export const TABLE_HEADER = defineLayout({
  name: 'shared table header',
  bytes: 64,
  oneWriterPerLine: false,
  cells: {
    LOCK: { offset: 0, type: 'i32', writer: 'any thread (CAS)', meaning: "0 free, else the holder's lock tag (a waiter swaps in its own for one whose thread ended)" },
    COUNT: { offset: 4, type: 'i32', writer: 'lock holder', meaning: 'entries published' },
    USED: { offset: 8, type: 'i32', writer: 'lock holder', meaning: 'arena bytes used' },
    CAP: { offset: 12, type: 'i32', writer: 'creator', meaning: 'entry capacity' },
    SLOTS: { offset: 16, type: 'i32', writer: 'creator', meaning: 'hash slots (a power of two, at least 2 × CAP)' },
    ARENA: { offset: 20, type: 'i32', writer: ['creator', 'lock holder'], meaning: 'arena bytes now (the lock holder grows a growable arena)' },
    EXTRA: { offset: 24, type: 'i32', writer: 'creator', meaning: 'ints of caller data per entry' },
    RES_CAP: { offset: 28, type: 'i32', writer: 'creator', meaning: 'entries held back for reserved callers' },
    RES_N: { offset: 32, type: 'i32', writer: 'lock holder', meaning: 'reserved entries added' },
    RES_ARENA: { offset: 36, type: 'i32', writer: 'creator', meaning: 'arena bytes held back for reserved callers' },
    RES_USED: { offset: 40, type: 'i32', writer: 'lock holder', meaning: 'arena bytes used by reserved entries' },
    OWNER_TAG: { offset: 44, type: 'i32', writer: 'lock holder', meaning: 'the lock tag OWNER_TID and OWNER_START describe (set after them; 0 once released)' },
    OWNER_TID: { offset: 48, type: 'i32', writer: 'lock holder', meaning: "the holder's OS thread id (Linux; 0 unknown): a waiter takes over a lock whose thread ended" },
    TAKEOVERS: { offset: 52, type: 'i32', writer: 'lock holder', meaning: 'locks taken over from a holder whose thread had ended' },
    OWNER_START: { offset: 56, type: 'f64', writer: 'lock holder', meaning: 'when that thread started (clock ticks since boot)' },
  },
});

const { LOCK, COUNT, USED, CAP, SLOTS, ARENA, EXTRA, RES_CAP, RES_N, RES_ARENA, RES_USED, OWNER_TAG, OWNER_TID, TAKEOVERS, OWNER_START } = TABLE_HEADER.index;
const HEADER_BYTES = TABLE_HEADER.bytes;
const ENTRY_FIXED = 3;
/** How long a waiter lets the lock be held before it asks whether its holder's thread still runs (see lock()). */
const TAKEOVER_AFTER_MS = 100;
/** How long it lets it be held at all. */
const LOCK_TIMEOUT_MS = 2000;

const encoder = new TextEncoder();

/**
 * Keys longer than this (in UTF-16 units) stay out of a thread's cache of the keys it looked
 * up: the cache held a second copy of each, 512 KB a series at the tag limits (64 values of
 * 4,096 two-byte characters) and 200 MB of the host's heap at 400 such series, where the
 * producer's trie already maps each tag set it met to its handle. Such a key is encoded and
 * probed again when it is looked up again (3 ms at 786 KB), which a thread does for a tag set
 * its trie has not met.
 */
const CACHED_KEY_MOST = 1024;

export interface SharedTableSizes {
  /** Entries in all, reserved ones included. */
  capacity: number;
  arenaBytes: number;
  /** The most the arena may grow to (at least arenaBytes): address space reserved, memory taken as it grows. */
  maxArenaBytes?: number;
  extraInts: number;
  /** Entries and arena bytes (within the totals) held back for reserved callers. */
  reserved?: number;
  reservedArenaBytes?: number;
}

/** Why appendMany refused: the class's entries or arena bytes ran out. */
export interface TableFull {
  full: 'entries' | 'arena';
  /** Entries of the batch that were new (not added by another thread meanwhile). */
  fresh: number;
  /** Entries of the class free before the batch. */
  free: number;
  /** For a full arena: its bytes now, the most it may grow to, and the bytes the batch needed beyond those free. */
  arenaBytes?: number;
  maxArenaBytes?: number;
  short?: number;
  /** Why it could not grow when the bound allowed it: the allocation's error (the memory could not be had). */
  growError?: string;
}

/** A key in UTF-8 with its hash. */
interface Missed {
  readonly key: string;
  readonly bytes: Uint8Array;
  readonly hash: number;
}

/** What planLocked found: the indices of present keys (-1 for new ones) and how to add the rest. */
export interface AppendPlan {
  readonly keys: readonly string[];
  readonly encoded: Uint8Array[];
  readonly hashes: number[];
  readonly indices: number[];
  readonly firstOf: Map<string, number>;
  readonly fresh: number;
  readonly reserved: boolean;
  /** The index the first new key will get (the others follow in order). */
  readonly firstIndex: number;
}

export function sharedTableBytes(sizes: SharedTableSizes): number {
  const slots = slotCount(sizes.capacity);
  return HEADER_BYTES + 4 * slots + 4 * sizes.capacity * (ENTRY_FIXED + sizes.extraInts) + sizes.arenaBytes;
}

function slotCount(capacity: number): number {
  let n = 16;
  while (n < capacity * 2) n *= 2;
  return n;
}

export function createSharedTable(sizes: SharedTableSizes): SharedArrayBuffer {
  const bytes = sharedTableBytes(sizes);
  const maxArena = Math.max(sizes.arenaBytes, sizes.maxArenaBytes ?? 0);
  const sab = maxArena > sizes.arenaBytes ? new SharedArrayBuffer(bytes, { maxByteLength: bytes - sizes.arenaBytes + maxArena }) : new SharedArrayBuffer(bytes);
  const hdr = new Int32Array(sab, 0, HEADER_BYTES / 4);
  hdr[CAP] = sizes.capacity;
  hdr[SLOTS] = slotCount(sizes.capacity);
  hdr[ARENA] = sizes.arenaBytes;
  hdr[EXTRA] = sizes.extraInts;
  hdr[RES_CAP] = sizes.reserved ?? 0;
  hdr[RES_ARENA] = sizes.reservedArenaBytes ?? 0;
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
  private readonly hdrF64: Float64Array;
  private readonly slots: Int32Array;
  private readonly entries: Int32Array;
  private readonly arena: Uint8Array;
  /** Where the arena starts in the buffer. */
  private readonly arenaAt: number;
  private readonly capacity: number;
  private readonly slotMask: number;
  private readonly stride: number;
  private readonly cache = new Map<string, number>();
  /**
   * The key lookup() missed last, encoded and hashed: registering a series looks it up, then
   * plans its append under the lock, and encoding and hashing it twice took a host thread
   * 5 ms more at the tag limits (64 values of 4,096 characters, a 786 KB key).
   */
  private missed: Missed | undefined;
  private readonly tag: number;

  constructor(sab: SharedArrayBuffer, lockTag: number) {
    this.sab = sab;
    this.hdr = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.hdrF64 = new Float64Array(sab, 0, HEADER_BYTES / 8);
    this.capacity = this.hdr[CAP]!;
    const slots = this.hdr[SLOTS]!;
    this.slotMask = slots - 1;
    this.stride = ENTRY_FIXED + this.hdr[EXTRA]!;
    this.slots = new Int32Array(sab, HEADER_BYTES, slots);
    this.entries = new Int32Array(sab, HEADER_BYTES + 4 * slots, this.capacity * this.stride);
    this.arenaAt = HEADER_BYTES + 4 * slots + 4 * this.capacity * this.stride;
    // On a growable buffer, a view that tracks its length: another thread's growth shows in it.
    this.arena = sab.growable ? new Uint8Array(sab, this.arenaAt) : new Uint8Array(sab, this.arenaAt, this.hdr[ARENA]!);
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
    const hash = fnv1a(bytes);
    const index = this.probe(bytes, hash);
    if (index < 0) this.missed = { key, bytes, hash };
    else if (key.length <= CACHED_KEY_MOST) this.cache.set(key, index);
    return index;
  }

  /** `key` in UTF-8 and its hash: the miss's when lookup() has just missed it (see missed). */
  private encoded(key: string): Missed {
    const missed = this.missed;
    if (missed !== undefined && missed.key === key) return missed;
    const bytes = encoder.encode(key);
    return { key, bytes, hash: fnv1a(bytes) };
  }

  /**
   * `length` bytes of the arena at `offset` as a view of fixed length: on a growable buffer
   * the arena's own view tracks the buffer's length, and V8 reads its elements one by one
   * about ten times slower (a 786 KB key compared in 30 ms against 3); a Buffer compares and
   * searches them with memcmp and memmem (0.06 ms).
   */
  private bytesAt(offset: number, length: number): Buffer {
    return Buffer.from(this.sab, this.arenaAt + offset, length);
  }

  /** Locks taken over from a thread that ended holding one (see lock()), since the table was made. */
  takeovers(): number {
    return Atomics.load(this.hdr, TAKEOVERS);
  }

  /** Entries added by unreserved callers. */
  unreservedCount(): number {
    return Atomics.load(this.hdr, COUNT) - Atomics.load(this.hdr, RES_N);
  }

  /** Entries added by reserved callers. */
  reservedCount(): number {
    return Atomics.load(this.hdr, RES_N);
  }

  /**
   * The index of `key`, adding it with `extra` when absent (in the reserved share when
   * `reserved`). `onFull` builds the error for a class at capacity. Returns [index, added].
   */
  intern(key: string, extra: readonly number[], onFull: () => PerfwatchError, reserved = false): [number, boolean] {
    const found = this.lookup(key);
    if (found >= 0) return [found, false];
    const result = this.appendMany([key], [extra], reserved);
    if ('full' in result) {
      if (result.full === 'entries') throw onFull();
      throw new CapacityError('registry', `its ${arenaFullWords(result)}; shorten the names or tags`);
    }
    return [result.indices[0]!, result.added > 0];
  }

  /**
   * Indices of `keys`, adding those absent, all or none: under the lock, keys that another
   * thread added meanwhile are found again, and the batch is added only when every new key
   * fits the class's entries and arena; else nothing is added and the reason is returned.
   * `extras[i]` goes with `keys[i]`. Duplicate keys get one entry. `added` counts the
   * entries this call appended.
   */
  appendMany(keys: readonly string[], extras: readonly (readonly number[])[], reserved = false): { indices: number[]; added: number } | TableFull {
    return this.withLock(() => {
      const plan = this.planLocked(keys, reserved);
      return 'full' in plan ? plan : { indices: this.applyLocked(plan, extras), added: plan.fresh };
    });
  }

  /** Runs `fn` holding the table's lock (for a change spanning two tables: take them in a fixed order). */
  withLock<T>(fn: () => T): T {
    this.lock();
    try {
      return fn();
    } finally {
      this.unlock();
    }
  }

  /**
   * With the lock held: which of `keys` are present, and whether the absent ones fit. New
   * keys get the next indices in the order of their first appearance.
   */
  planLocked(keys: readonly string[], reserved: boolean): AppendPlan | TableFull {
    const found = keys.map((k) => this.encoded(k));
    const encoded = found.map((f) => f.bytes);
    const hashes = found.map((f) => f.hash);
    const indices = new Array<number>(keys.length).fill(-1);
    const firstOf = new Map<string, number>();
    let fresh = 0;
    let bytes = 0;
    for (let i = 0; i < keys.length; i++) {
      const at = this.probe(encoded[i]!, hashes[i]!);
      if (at >= 0) indices[i] = at;
      else if (!firstOf.has(keys[i]!)) {
        firstOf.set(keys[i]!, i);
        fresh++;
        bytes += encoded[i]!.length;
      }
    }
    const count = this.hdr[COUNT]!;
    const resN = this.hdr[RES_N]!;
    const resCap = this.hdr[RES_CAP]!;
    const free = reserved ? resCap - resN : this.capacity - resCap - (count - resN);
    if (fresh > free) return { full: 'entries', fresh, free };
    const used = this.hdr[USED]!;
    const resUsed = this.hdr[RES_USED]!;
    const resArena = this.hdr[RES_ARENA]!;
    const arenaFree = reserved ? resArena - resUsed : this.arena.length - resArena - (used - resUsed);
    if (bytes > arenaFree) {
      // The reserved share does not grow: it is sized for what its callers register.
      const grown = reserved ? undefined : this.growArena(bytes - arenaFree);
      if (grown !== true) return { full: 'arena', fresh, free, arenaBytes: this.arena.length, maxArenaBytes: this.maxArenaBytes(), short: bytes - arenaFree, ...(grown ? { growError: grown } : {}) };
    }
    return { keys, encoded, hashes, indices, firstOf, fresh, reserved, firstIndex: count };
  }

  /** The most the arena may grow to. */
  maxArenaBytes(): number {
    return this.sab.growable ? this.sab.maxByteLength - this.arenaAt : this.arena.length;
  }

  /**
   * With the lock held: grows the arena by `more` bytes at least (doubling it, within its
   * bound). True once grown; undefined when the bound does not allow it; the allocation's
   * error when the memory could not be had.
   */
  private growArena(more: number): true | string | undefined {
    const now = this.arena.length;
    const max = this.maxArenaBytes();
    if (now + more > max) return undefined;
    const next = Math.min(max, Math.max(now * 2, now + more));
    try {
      this.sab.grow(this.arenaAt + next);
    } catch (error) {
      if (error instanceof RangeError) return error.message;
      throw error;
    }
    Atomics.store(this.hdr, ARENA, next);
    return true;
  }

  /** With the lock held, after planLocked: appends the plan's new keys; returns every key's index. */
  applyLocked(plan: AppendPlan, extras: readonly (readonly number[])[]): number[] {
    const out = plan.indices;
    for (let i = 0; i < plan.keys.length; i++) {
      if (out[i]! >= 0) continue;
      const first = plan.firstOf.get(plan.keys[i]!)!;
      out[i] = first === i ? this.appendLocked(plan.encoded[i]!, plan.hashes[i]!, extras[i] ?? [], plan.reserved) : out[first]!;
    }
    for (let i = 0; i < plan.keys.length; i++) if (plan.keys[i]!.length <= CACHED_KEY_MOST) this.cache.set(plan.keys[i]!, out[i]!);
    this.missed = undefined;
    return out;
  }

  /** The string of an entry. */
  keyAt(index: number): string {
    const e = index * this.stride;
    const offset = this.entries[e]!;
    const length = this.entries[e + 1]!;
    return this.bytesAt(offset, length).toString('utf8');
  }

  /**
   * Whether entry `index`'s string holds `needle` (UTF-8) followed by the byte `end` or by its
   * own end, read in the arena: no string is decoded or allocated.
   */
  keyHolds(index: number, needle: Uint8Array, end: number): boolean {
    const e = index * this.stride;
    const length = this.entries[e + 1]!;
    const key = this.bytesAt(this.entries[e]!, length);
    for (let at = key.indexOf(needle); at >= 0; at = key.indexOf(needle, at + 1)) {
      const after = at + needle.length;
      if (after === length || key[after] === end) return true;
    }
    return false;
  }

  extraAt(index: number, i: number): number {
    return this.entries[index * this.stride + ENTRY_FIXED + i]!;
  }

  /**
   * Sets (`on`) or clears `bits` of an entry's caller int, atomically: the bits a caller
   * flips after an entry is published (a series retired), beside the ones written with it.
   */
  flagExtra(index: number, i: number, bits: number, on: boolean): void {
    const at = index * this.stride + ENTRY_FIXED + i;
    if (on) Atomics.or(this.entries, at, bits);
    else Atomics.and(this.entries, at, ~bits);
  }

  /** Sets an entry's caller int `i` to `value`, published to the threads that read it after an Atomics read of the entry. */
  setExtra(index: number, i: number, value: number): void {
    Atomics.store(this.entries, index * this.stride + ENTRY_FIXED + i, value);
  }

  /** Adds one entry; the caller holds the lock and checked the room. */
  private appendLocked(bytes: Uint8Array, hash: number, extra: readonly number[], reserved: boolean): number {
    const index = this.hdr[COUNT]!;
    const used = this.hdr[USED]!;
    this.bytesAt(used, bytes.length).set(bytes);
    this.hdr[USED] = used + bytes.length;
    if (reserved) {
      this.hdr[RES_N]! += 1;
      this.hdr[RES_USED]! += bytes.length;
    }
    const e = index * this.stride;
    this.entries[e] = used;
    this.entries[e + 1] = bytes.length;
    this.entries[e + 2] = hash;
    for (let i = 0; i < extra.length; i++) this.entries[e + ENTRY_FIXED + i] = extra[i]!;
    let slot = hash & this.slotMask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.slotMask;
    Atomics.store(this.slots, slot, index + 1);
    Atomics.store(this.hdr, COUNT, index + 1);
    return index;
  }

  private probe(bytes: Uint8Array, hash: number): number {
    // Slots of indices not yet counted are passed over (see the publication order above): a
    // key being added right now is found again under the lock.
    const count = Atomics.load(this.hdr, COUNT);
    let slot = hash & this.slotMask;
    for (;;) {
      const v = Atomics.load(this.slots, slot);
      if (v === 0) return -1;
      const index = v - 1;
      const e = index * this.stride;
      if (index < count && this.entries[e + 2] === hash && this.entries[e + 1] === bytes.length) {
        if (this.bytesAt(this.entries[e]!, bytes.length).equals(bytes)) return index;
      }
      slot = (slot + 1) & this.slotMask;
    }
  }

  /**
   * A spin lock held for a few microseconds while one entry is appended. Another thread that
   * finds it taken waits on the lock word. The holder records its OS thread (OWNER_*, written
   * before OWNER_TAG names the hold they describe), and a waiter kept for TAKEOVER_AFTER_MS
   * asks /proc whether that thread still runs, and again at each 5 ms wake: the lock of one
   * that ended (a worker terminated while it added a series) is taken over; a live one's
   * never is. 100 ms: a hold lasts microseconds (a batch, a few milliseconds), so a wait that
   * long means a holder descheduled or gone; a host thread adding a series waits that long
   * per table a dead thread held, once; a shorter wait would read /proc on ordinary
   * contention. The timeout turns a holder that stays (a live thread stuck, or a dead one
   * where /proc cannot tell) into a clear error instead of a hang. A thread that ends between
   * its compareExchange and its OWNER_TAG leaves a hold no waiter can judge, and the timeout
   * again: a window of a few instructions.
   */
  private lock(): void {
    const self = currentOsThread();
    const start = Date.now();
    for (;;) {
      const holder = Atomics.compareExchange(this.hdr, LOCK, 0, this.tag);
      if (holder === 0) break;
      const waited = Date.now() - start;
      if (waited >= TAKEOVER_AFTER_MS && this.takeOver(holder)) break;
      if (waited > LOCK_TIMEOUT_MS) {
        throw new CapacityError('registry', `lock held for over ${LOCK_TIMEOUT_MS / 1000} s by thread tag ${holder}, whose thread still runs or cannot be told ended; no new series can be added`);
      }
      Atomics.wait(this.hdr, LOCK, holder, 5);
    }
    this.hdrF64[OWNER_START] = self?.start ?? 0;
    Atomics.store(this.hdr, OWNER_TID, self?.tid ?? 0);
    Atomics.store(this.hdr, OWNER_TAG, this.tag);
  }

  /**
   * Takes the lock from `holder` when the OS thread its hold recorded has ended, and says
   * whether this view holds it now. The compareExchange from the dead holder's tag lets one
   * waiter of several have it. What the dead holder left half done needs no repair: its entry
   * was never counted (COUNT moves last), so the next append writes over it, and its slot, if
   * stored, is passed over (see the publication order above). A registry commit that died
   * holding both tables' locks leaves both to be taken over this way, each by its first waiter.
   * A hold is judged only by a record that names it (OWNER_TAG): just after a takeover, until
   * the new holder records itself, the cells still describe the dead thread. The count
   * (TAKEOVERS) is status().series.lockTakeovers.
   */
  private takeOver(holder: number): boolean {
    if (Atomics.load(this.hdr, OWNER_TAG) !== holder) return false;
    const tid = Atomics.load(this.hdr, OWNER_TID);
    const start = this.hdrF64[OWNER_START]!;
    if (tid === 0 || !osThreadEnded(tid, start)) return false;
    // The record must still be that hold's after the /proc read.
    if (Atomics.load(this.hdr, OWNER_TID) !== tid || this.hdrF64[OWNER_START] !== start || Atomics.load(this.hdr, OWNER_TAG) !== holder) return false;
    if (Atomics.compareExchange(this.hdr, LOCK, holder, this.tag) !== holder) return false;
    Atomics.add(this.hdr, TAKEOVERS, 1);
    return true;
  }

  /**
   * Frees the lock if this view's tag holds it, and says whether it did. Only for a thread
   * whose tag no other live thread has, at its start: the lock it finds under its own tag was
   * left by a predecessor that died holding it (an actor's thread replaced by the watchdog).
   * The entry it was appending was never counted (COUNT moves last), so the next append
   * writes over it. The predecessor's record goes first, or a waiter could judge the next
   * holder by it.
   */
  releaseStale(): boolean {
    if (Atomics.load(this.hdr, LOCK) !== this.tag) return false;
    Atomics.compareExchange(this.hdr, OWNER_TAG, this.tag, 0);
    if (Atomics.compareExchange(this.hdr, LOCK, this.tag, 0) !== this.tag) return false;
    Atomics.notify(this.hdr, LOCK);
    return true;
  }

  private unlock(): void {
    Atomics.store(this.hdr, OWNER_TAG, 0);
    Atomics.store(this.hdr, LOCK, 0);
    Atomics.notify(this.hdr, LOCK, 1);
  }
}

const MiB = 1024 * 1024;

/** A full arena as an error says it, after whose it is: its bytes, its bound, and what the batch lacked. */
export function arenaFullWords(full: TableFull): string {
  const mib = (bytes: number): string => (bytes < MiB ? `${bytes.toLocaleString('en-US')} bytes` : `${(bytes / MiB).toFixed(1)} MiB`);
  const size = full.arenaBytes ?? 0;
  const max = full.maxArenaBytes ?? size;
  if (full.growError !== undefined) return `string arena could not grow past ${mib(size)} (of at most ${mib(max)}): the memory could not be had (${full.growError})`;
  return `string arena, which holds the names and tags (UTF-8), is at its most, ${mib(max)}, and ${(full.short ?? 0).toLocaleString('en-US')} bytes more were needed`;
}
