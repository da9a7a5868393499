/**
 * The registry: metric name + sorted tags → a dense series id, shared by every thread.
 *
 * Two shared tables (see shared-table.ts): names, with each name's kind and unit, and series,
 * whose key is the name followed by the sorted tags, separated by control characters that tag
 * values may not contain. Any thread resolves a series without a message round trip; ids are
 * dense from 0, so the store can index its slots by id.
 *
 * The cardinality limit `maxSeries` is the application's: OWN_SERIES more entries of each
 * table are held back for the monitor's own readings (runtime, system, monitor_*) and the
 * names it defines, so an application at its limit, of series or of names, never starves them,
 * and they never take one of its series or names. A series is registered whole or not at all,
 * with its new name, and a batch of new series all or none (prepare, then commit), even while
 * other threads register series of their own.
 */
import {
  CapacityError,
  CardinalityError,
  InvalidArgumentError,
  keyField,
  KindMismatchError,
  type PerfwatchError,
} from '../errors.js';
import { BUILTIN_METRICS, KINDS, UNITS, kindCode, unitCode, type MetricKind, type MetricUnit } from './metrics.js';
import { SharedTable, arenaFullWords, createSharedTable, sharedTableBytes, type SharedTableSizes, type TableFull } from './shared-table.js';

export type Tags = Record<string, string | number | boolean | undefined>;
export type CanonicalTags = Readonly<Record<string, string>>;

export const NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const TAG_KEY_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const MAX_NAME_LENGTH = 200;
export const MAX_TAG_KEY_LENGTH = 100;
/** What a tag name must be, as canonicalTags says it (the MCP front says it of `__proto__` too). */
export const TAG_NAME_RULE = `is not a valid tag name: it must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __, and be at most ${MAX_TAG_KEY_LENGTH} characters`;
/** Series held back for the monitor's own readings, beyond maxSeries. */
export const OWN_SERIES = 128;
/** The highest maxSeries a monitor takes: no registry numbers a series past it and OWN_SERIES. */
export const MAX_SERIES_LIMIT = 1_000_000;
/**
 * The tag a hub adds to each of its members' series, naming the member. A member may give a
 * series maxTags tags of its own, so on the hub this one is allowed beyond them (`hubTagged`):
 * counted, it made the hub refuse, silently for the application, every series a member could
 * record with maxTags tags.
 */
export const INSTANCE_TAG = 'instance';
/** Marks a series of the monitor's own in its entry's name index (isOwn; storage keeps it). */
const OWN_BIT = 1 << 30;
/**
 * Marks a retired series in its entry's name index (retire): a hub's member series whose
 * member was forgotten, which the answers of now (getMetrics, /metrics, the exporters) leave
 * out. An entry's name index is below maxSeries and OWN_SERIES (at most 1,000,128), under the three bits.
 */
const RETIRED_BIT = 1 << 29;
/**
 * Marks a hub's member series (markMember): fed closed buckets that arrive after the hub's own
 * bucket closed, so its window rules are judged when they arrive (AlertEvaluator).
 */
const MEMBER_BIT = 1 << 28;
const NAME_INDEX = MEMBER_BIT - 1;
/**
 * A hub's cluster-wide series (markCluster), in its entry's second extra, which only a member
 * series uses otherwise (its start, markMember): its window rules are judged where its newest
 * record ends, as a bucket of it may be held open for a late member (AlertEvaluator).
 */
const CLUSTER_MARK = 0x636c7573;
/** A member series' start (markMember) as the two i32 it is kept in. */
const F64 = new Float64Array(1);
const I32 = new Int32Array(F64.buffer);

/** A hub mark's extra cells after the name index: a member's start as two i32, or CLUSTER_MARK. */
function markCells(mark: HubMark | undefined): number[] {
  if (mark === undefined) return [];
  if ('cluster' in mark) return [CLUSTER_MARK];
  F64[0] = mark.member;
  return [I32[0]!, I32[1]!];
}

/**
 * String arena bytes per series key and per name the registry starts with; its arenas grow
 * (shared-table.ts) as longer ones come, up to what the limits allow (keyBytesMost), within
 * ARENA_MOST_BYTES. Sized at 256 bytes a key for good, 16 tags of 128 characters (within
 * the default limits) filled it at 1,206 series of maxSeries 10,000.
 */
const SERIES_KEY_BYTES = 256;
const NAME_BYTES = 48;
/**
 * Arena bytes held back per name of the monitor's own share (which does not grow): its names
 * are short, the longest 26 bytes (monitor_export_queue_depth), the 49 it defines at
 * construction 798 bytes of the 6 KB, which leaves 67 bytes each to the 79 names after them.
 */
export const OWN_NAME_BYTES = 48;
/**
 * The most a registry arena grows to: 1 GiB of names and tags (UTF-8) for every series, the
 * address space reserved no larger than the limits can need. Only limits whose every series
 * may hold more than 1 GiB / (maxSeries + 128) bytes of tags (maxSeries 1,000,000 with 16
 * tags of 128 characters: 8,462 bytes a key at most) reach it, and only with tags that long.
 */
const ARENA_MOST_GIB = 1;
export const ARENA_MOST_BYTES = ARENA_MOST_GIB * 1024 * 1024 * 1024;
/** UTF-8 bytes of one UTF-16 code unit at most (a surrogate pair, two units, is 4 bytes). */
const UTF8_PER_UNIT = 3;

/** The longest series key the limits allow, in bytes: the name, and maxTags tags (a hub's `instance` beside them) of the longest key and value. */
export function keyBytesMost(limits: RegistryLimits): number {
  return MAX_NAME_LENGTH + (limits.maxTags + 1) * (2 + MAX_TAG_KEY_LENGTH + UTF8_PER_UNIT * limits.maxTagValueLength);
}
/**
 * What lowering the limits does for a full arena: with maxSeries series of the longest tags
 * within ARENA_MOST_BYTES (keyBytesMost), it never fills, and a series too long is refused by
 * its length instead, in the caller's own error. Says the most maxTagValueLength that does it.
 */
export function arenaFitAdvice(limits: RegistryLimits): string {
  const perKey = ARENA_MOST_BYTES / (limits.maxSeries + OWN_SERIES);
  const length = Math.floor(((perKey - MAX_NAME_LENGTH) / (limits.maxTags + 1) - 2 - MAX_TAG_KEY_LENGTH) / UTF8_PER_UNIT);
  if (length >= 1) return `lower maxTagValueLength to ${length} (or maxTags) so that maxSeries series of the longest tags fit`;
  return `lower maxTags (or maxSeries) so that maxSeries series of the longest tags fit`;
}
const TAG_SEP = '\x1f';
const VALUE_SEP = '\x1e';
const TAG_SEP_BYTE = 0x1f;
const TAG_BYTES = new TextEncoder();
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\x00-\x1f\x7f]/;

/**
 * Lock tags: who holds a table's lock (shared-table.ts), named in the error when a live
 * holder keeps it. One per thread: a recording thread's is its threadId + 1 (the main thread's
 * is 1); the actors' sit in bits no threadId reaches.
 */
export const MAIN_LOCK_TAG = 1;
export const COLLECTOR_LOCK_TAG = 0x40000000;
export const ALERTS_LOCK_TAG = 0x20000000;
export const STORAGE_LOCK_TAG = 0x10000000;
/** A recording thread's tag (attachProducer). */
export const producerLockTag = (threadId: number): number => threadId + 1;
/** A report pool thread's tag. */
export const reportLockTag = (threadId: number): number => ALERTS_LOCK_TAG | threadId;

/** `registry` after releaseStaleLocks(): an actor's registry at its thread's start. */
export function withoutStaleLocks(registry: Registry): Registry {
  registry.releaseStaleLocks();
  return registry;
}

export interface RegistryLimits {
  maxSeries: number;
  maxTags: number;
  maxTagValueLength: number;
}

export interface RegistryBuffers {
  names: SharedArrayBuffer;
  series: SharedArrayBuffer;
  limits: RegistryLimits;
}

export interface SeriesInfo {
  id: number;
  name: string;
  tags: CanonicalTags;
  kind: MetricKind;
  unit: MetricUnit;
}

export interface NameInfo {
  name: string;
  kind: MetricKind;
  unit: MetricUnit;
}

/**
 * Why a new series of the application was refused: maxSeries reached, the series table's
 * string arena full below it (at its most, ARENA_MOST_BYTES, or the memory to grow it not had),
 * or the name table's share of the application full (nameCapacity names: define() declares a
 * name without a series, so the names can outgrow the series). A series refused at both is
 * refused at maxSeries.
 */
export type RefusalCause = 'maxSeries' | 'arena' | 'names';

/**
 * The metric names of the application's a registry of these limits holds: maxSeries. The
 * built-in names and the monitor's own are apart, in OWN_SERIES more held back for them.
 */
export function nameCapacity(maxSeries: number): number {
  return maxSeries;
}

/** What the application can do at a full name table, in the error, the fault and the notes. */
export const NAMES_ADVICE = 'record fewer distinct metric names (put the varying part in a tag) or raise maxSeries';

/** A series met for the first time, validated and keyed, to be added by Registry.commit. */
export interface PendingSeries {
  readonly name: string;
  readonly key: string;
  readonly pairs: readonly [string, string][];
  /** The kind and unit its name gets when the name is new too: added with its series, or neither. */
  readonly kind: MetricKind;
  readonly unit: MetricUnit;
  /**
   * The kind and unit the caller gave, if any: a name another thread defined between prepare()
   * and commit() must have them, as a name known at prepare() must (commitLocked).
   */
  readonly given?: { readonly kind?: MetricKind; readonly unit?: MetricUnit };
  /** A hub's series' mark (HubMark), written with the entry. */
  mark?: HubMark;
}

/**
 * A hub's member series, with when its member started watching (markMember), or its
 * cluster-wide series (markCluster): marked in the entry as it is created, before other
 * threads can see it. Marked just after, the alert actor bound a new member series at the
 * hub's close in between and judged it as a series of the hub's own, over the hub's bucket
 * just closed, where the member's bucket was not yet: `rate < 400` fired with 0 on a member
 * doing 500 a second, and resolved 7 ms later (CI, and 3 runs in 14 under CPU burners).
 */
export type HubMark = { member: number } | { cluster: true };

function tableSizes(limits: RegistryLimits): { names: SharedTableSizes; series: SharedTableSizes } {
  const total = limits.maxSeries + OWN_SERIES;
  return {
    names: {
      capacity: total,
      arenaBytes: total * NAME_BYTES,
      maxArenaBytes: total * MAX_NAME_LENGTH,
      extraInts: 2,
      reserved: OWN_SERIES,
      reservedArenaBytes: OWN_SERIES * OWN_NAME_BYTES,
    },
    series: {
      capacity: total,
      arenaBytes: total * SERIES_KEY_BYTES,
      maxArenaBytes: Math.max(total * SERIES_KEY_BYTES, Math.min(ARENA_MOST_BYTES, total * keyBytesMost(limits))),
      // The name index and its bits; a member series' start (markMember), an f64 in two.
      extraInts: 3,
      reserved: OWN_SERIES,
      reservedArenaBytes: OWN_SERIES * SERIES_KEY_BYTES,
    },
  };
}

/** Bytes of shared memory a registry of these limits takes. */
export function registryBytes(limits: RegistryLimits): number {
  const sizes = tableSizes(limits);
  return sharedTableBytes(sizes.names) + sharedTableBytes(sizes.series);
}

export function createRegistry(limits: RegistryLimits): RegistryBuffers {
  const sizes = tableSizes(limits);
  const names = createSharedTable(sizes.names);
  const series = createSharedTable(sizes.series);
  const buffers = { names, series, limits };
  const registry = new Registry(buffers, MAIN_LOCK_TAG);
  for (const m of BUILTIN_METRICS) registry.defineOwn(m.name, m.kind, m.unit);
  return buffers;
}

/**
 * Each pair of `match` as a series' key holds it, `TAG_SEP key VALUE_SEP value`, then TAG_SEP
 * or the key's end (names, tag keys and values hold no control characters, so the pair is
 * found only where it is one).
 */
function pairBytes(match: Record<string, string>): Uint8Array[] {
  return Object.entries(match).map(([k, v]) => TAG_BYTES.encode(TAG_SEP + k + VALUE_SEP + String(v)));
}

export function validateName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string') throw new InvalidArgumentError(field, 'must be a string', { value: name });
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new InvalidArgumentError(field, `must be 1 to ${MAX_NAME_LENGTH} characters, got ${name.length}`);
  }
  if (!NAME_PATTERN.test(name)) throw new InvalidArgumentError(field, 'must match [a-zA-Z_:][a-zA-Z0-9_:]*', { value: name, first: true });
  return name;
}

/**
 * How long a tag value is as maxTagValueLength counts it: in UTF-16 code units (the registry
 * sizes its arena at three UTF-8 bytes a unit, so a limit in characters would let 128 emoji
 * take 512 bytes). A value with a character outside the Basic Multilingual Plane says so: 128
 * rockets read "256 characters long" against a limit the docs gave in characters.
 */
function lengthText(value: string): string {
  if (!/[\uD800-\uDBFF][\uDC00-\uDFFF]/.test(value)) return `${value.length} characters long`;
  return `${value.length} UTF-16 code units long (a character outside the Basic Multilingual Plane, such as an emoji, counts 2)`;
}

/**
 * Validates tags against the limits and returns them as sorted string pairs. `hubTagged`: a
 * hub's member series, whose INSTANCE_TAG is allowed beyond maxTags.
 */
export function canonicalTags(tags: unknown, limits: RegistryLimits, field = 'tags', hubTagged = false): [string, string][] {
  if (tags === undefined || tags === null) return [];
  if (typeof tags !== 'object' || Array.isArray(tags)) {
    throw new InvalidArgumentError(field, 'must be an object of tag names to values', { value: tags });
  }
  const pairs: [string, string][] = [];
  // Enumerable keys, inherited ones too (a tags object made with Object.create(defaults)
  // carries its defaults): the producer's trie walks tags with for...in, and the two must
  // agree, or an object with inherited tags and a plain one with the same keys would share
  // the trie's path and one series.
  for (const key in tags) {
    const raw = (tags as Record<string, unknown>)[key];
    if (raw === undefined) continue;
    if (key.length > MAX_TAG_KEY_LENGTH || !TAG_KEY_PATTERN.test(key) || key.startsWith('__')) {
      // An empty name would read `tags. is not a valid tag name`: said of the tags instead.
      if (key === '') throw new InvalidArgumentError(field, 'must not have an empty tag name');
      throw new InvalidArgumentError(keyField(field, key.slice(0, 40)), TAG_NAME_RULE);
    }
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      throw new InvalidArgumentError(`${field}.${key}`, 'must be a string, number or boolean', { value: raw });
    }
    const value = String(raw);
    if (value.length > limits.maxTagValueLength) throw new InvalidArgumentError(`${field}.${key}`, `is ${lengthText(value)}; the limit is maxTagValueLength ${limits.maxTagValueLength}`);
    if (CONTROL_CHARS.test(value)) throw new InvalidArgumentError(`${field}.${key}`, 'must not contain control characters');
    // A lone surrogate has no UTF-8 form: it would be stored as U+FFFD, so two different
    // values would share one series.
    if (!value.isWellFormed()) throw new InvalidArgumentError(`${field}.${key}`, 'must be well-formed Unicode: it holds a lone UTF-16 surrogate');
    pairs.push([key, value]);
  }
  const limit = hubTagged && pairs.some(([k]) => k === INSTANCE_TAG) ? limits.maxTags + 1 : limits.maxTags;
  if (pairs.length > limit) {
    throw new InvalidArgumentError(field, `has ${pairs.length} tags; the limit is maxTags ${limits.maxTags}${limit > limits.maxTags ? ` and the hub's ${INSTANCE_TAG}` : ''}`);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs;
}

/** Throws for a kind or unit that is none of KINDS or UNITS (undefined: not given). */
function checkDeclaration(kind: MetricKind | undefined, unit: MetricUnit | undefined): void {
  if (kind !== undefined && !KINDS.includes(kind)) throw new InvalidArgumentError('kind', `must be one of ${KINDS.join(', ')}`, { value: kind });
  if (unit !== undefined && !UNITS.includes(unit)) throw new InvalidArgumentError('unit', `must be one of ${UNITS.map((u) => u || '""').join(', ')}`, { value: unit });
}

/** Throws for a definition asked of a name defined otherwise (define(): both given). */
function checkDefined(def: NameInfo, kind: MetricKind, unit: MetricUnit): void {
  if (def.kind !== kind || def.unit !== unit) {
    throw new KindMismatchError(`metric "${def.name}" is already defined as ${kindWords(def.kind, def.unit)}; it cannot be redefined as ${kindWords(kind, unit)}`);
  }
}

/** Throws for a series of a defined name asked with another kind or unit (undefined: not given, any). */
function checkRecordedAs(def: NameInfo, kind: MetricKind | undefined, unit: MetricUnit | undefined): void {
  if (kind !== undefined && kind !== def.kind) throw new KindMismatchError(`metric "${def.name}" is a ${def.kind}; it cannot be recorded as a ${kind}`);
  if (unit !== undefined && unit !== def.unit) checkDefined(def, kind ?? def.kind, unit);
}

/** `a gauge (unit: count)`, `a counter (no unit)`: a kind and its unit as a message says them. */
function kindWords(kind: MetricKind, unit: MetricUnit): string {
  return `a ${kind}${unit ? ` (unit: ${unit})` : ' (no unit)'}`;
}

export function formatSeries(name: string, tags: CanonicalTags): string {
  const parts = Object.entries(tags).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

/** A thread's view of the shared registry. */
export class Registry {
  readonly buffers: RegistryBuffers;
  readonly limits: RegistryLimits;
  private readonly names: SharedTable;
  private readonly series: SharedTable;
  private readonly infos: (SeriesInfo | undefined)[] = [];
  /** Metric names by their index in the names table (nameOf's, cached per thread). */
  private readonly nameStrings: (string | undefined)[] = [];

  /**
   * Called with an application series refused (SeriesRefusals counts them) and why, once the
   * tables' locks are released: what it does may register a series of the monitor's own.
   */
  onRefused: ((refused: PendingSeries, cause: RefusalCause) => void) | undefined;
  /**
   * What an application series refused at maxSeries adds to its message, before what to do
   * (the monitor's: how many places series restored from a database hold), or undefined.
   */
  refusalNote: (() => string | undefined) | undefined;
  /** The series fullError refused and why, for onRefused after the locks. */
  private refused: { series: PendingSeries; cause: RefusalCause } | undefined;

  constructor(buffers: RegistryBuffers, lockTag: number) {
    this.buffers = buffers;
    this.limits = buffers.limits;
    this.names = new SharedTable(buffers.names, lockTag);
    this.series = new SharedTable(buffers.series, lockTag);
  }

  /**
   * For an actor's thread at its start (one thread at a time holds an actor's tag): frees the
   * tables' locks its dead predecessor held, which would otherwise refuse every new series of
   * every thread for the rest of the process. Says whether one was held.
   */
  releaseStaleLocks(): boolean {
    const names = this.names.releaseStale();
    return this.series.releaseStale() || names;
  }

  /** Locks of the two tables taken over from a thread that ended holding one (shared-table.ts lock()). */
  lockTakeovers(): number {
    return this.names.takeovers() + this.series.takeovers();
  }

  /** Declares a metric name with its kind and unit; a later different declaration is an error. */
  define(name: string, kind: MetricKind = 'distribution', unit: MetricUnit = ''): NameInfo {
    return this.declare(name, kind, unit, false);
  }

  /**
   * define() for a name of the monitor's (the built-in ones, its own metrics, its own series
   * restored), in the share of the name table held back for them: an application that filled
   * its names never makes the monitor's own series fail.
   */
  defineOwn(name: string, kind: MetricKind, unit: MetricUnit): NameInfo {
    return this.declare(name, kind, unit, true);
  }

  private declare(name: string, kind: MetricKind, unit: MetricUnit, own: boolean): NameInfo {
    validateName(name);
    checkDeclaration(kind, unit);
    let refused = false;
    let index: number;
    let added: boolean;
    try {
      [index, added] = this.names.intern(
        name,
        [kindCode(kind), unitCode(unit)],
        () => {
          refused = !own;
          return this.nameLimitError(name, 1, 0, undefined, own);
        },
        own,
      );
    } finally {
      // Counted as a series refused is (onRefused, the locks released): the name's every sample
      // is lost all the same, and a caller that swallowed this error left no trace of it.
      if (refused) this.onRefused?.({ name, key: name, pairs: [], kind, unit }, 'names');
    }
    const existing = this.nameAt(index);
    if (!added) checkDefined(existing, kind, unit);
    return existing;
  }

  /** The definition of a known name, or undefined. */
  lookupName(name: string): NameInfo | undefined {
    const index = this.names.lookup(name);
    return index < 0 ? undefined : this.nameAt(index);
  }

  /**
   * The id of a series, created on first use. A name seen for the first time is defined
   * with `kind` (distribution when not given) and `unit` (none when not given), with the
   * series or not at all; a given kind must match the name's.
   * `hubTagged`: a hub's member series (canonicalTags).
   */
  seriesId(name: string, tags: unknown, kind?: MetricKind, hubTagged = false, unit?: MetricUnit, mark?: HubMark): number {
    const found = this.prepare(name, tags, kind, hubTagged, unit);
    if (typeof found === 'number') return found;
    found.mark = mark;
    return this.commit([found])[0]!;
  }

  /**
   * The id of one of the monitor's own series (runtime, system, monitor_*), created in the
   * share held back for them (OWN_SERIES), so the application's series never crowd it out.
   */
  ownSeriesId(name: string, tags: unknown): number {
    const found = this.prepare(name, tags);
    return typeof found === 'number' ? found : this.commit([found], true)[0]!;
  }

  /**
   * Validates a series and finds its id without registering anything: the id when the
   * series exists, else what commit() needs to add it. Throws what seriesId() would for a
   * bad name, tag or kind.
   */
  prepare(name: string, tags: unknown, kind?: MetricKind, hubTagged = false, unit?: MetricUnit): number | PendingSeries {
    validateName(name);
    checkDeclaration(kind, unit);
    const pairs = canonicalTags(tags, this.limits, 'tags', hubTagged);
    const def = this.lookupName(name);
    if (def !== undefined) checkRecordedAs(def, kind, unit);
    let key = name;
    for (const [k, v] of pairs) key += TAG_SEP + k + VALUE_SEP + v;
    const id = this.series.lookup(key);
    if (id >= 0) return id;
    return { name, key, pairs, kind: kind ?? 'distribution', unit: unit ?? '', given: def === undefined && (kind !== undefined || unit !== undefined) ? { kind, unit } : undefined };
  }

  /**
   * Registers prepared series, all or none: holding the name table's lock, then the series
   * table's (always in that order), it finds again those another thread added meanwhile and
   * adds the rest (with their new names) only when all of them fit; else it adds nothing and
   * throws a CardinalityError naming the first one that does not fit (`where(i)` names the
   * i-th pending series for the message). Returns the ids in the order given. `own`: the
   * monitor's own series, their new names and series in the shares held back for them.
   */
  commit(pending: readonly PendingSeries[], own = false, where?: (i: number) => string): number[] {
    if (pending.length === 0) return [];
    const newNames = [...new Set(pending.filter((p) => this.names.lookup(p.name) < 0).map((p) => p.name))];
    const declared = new Map(pending.map((p) => [p.name, [kindCode(p.kind), unitCode(p.unit)]]));
    try {
      const ids = this.names.withLock(() => this.series.withLock(() => this.commitLocked(pending, own, newNames, declared, where)));
      for (let i = 0; i < ids.length; i++) if (this.infos[ids[i]!] === undefined) this.keep(ids[i]!, pending[i]!.name, Object.fromEntries(pending[i]!.pairs));
      return ids;
    } finally {
      const refused = this.refused;
      this.refused = undefined;
      if (refused !== undefined) this.onRefused?.(refused.series, refused.cause);
    }
  }

  private commitLocked(pending: readonly PendingSeries[], own: boolean, newNames: string[], declared: Map<string, number[]>, where?: (i: number) => string): number[] {
    const namePlan = this.names.planLocked(newNames, own);
    // The series first: one refused at both (a loop of new names at maxSeries) is refused at
    // maxSeries, what the application has to raise; planned, nothing is added yet.
    const seriesPlan = this.series.planLocked(pending.map((p) => p.key), own);
    if ('full' in seriesPlan) throw this.fullError(seriesPlan, pending, own, where);
    if ('full' in namePlan) {
      // The first new name past those that fit (newNames is in order of first appearance).
      const name = newNames[Math.min(namePlan.free, newNames.length - 1)]!;
      const at = Math.max(0, pending.findIndex((p) => p.name === name));
      if (!own) this.refused = { series: pending[at]!, cause: 'names' };
      throw this.nameLimitError(name, namePlan.fresh, namePlan.free, where?.(at), own);
    }
    // A name another thread defined since prepare() looked is held to what this caller gave, as a
    // name known then is: taken as it is, a metric({ kind: 'gauge' }) racing another thread's
    // counter got a counter's handle without a word.
    for (const p of pending) {
      if (p.given === undefined) continue;
      const at = newNames.indexOf(p.name);
      if (at >= 0 && namePlan.indices[at]! < 0) continue;
      checkRecordedAs(this.nameAt(this.names.lookup(p.name)), p.given.kind, p.given.unit);
    }
    this.names.applyLocked(namePlan, newNames.map((n) => declared.get(n)!));
    return this.series.applyLocked(seriesPlan, pending.map((p) => [this.names.lookup(p.name) | (own ? OWN_BIT : 0) | (p.mark && 'member' in p.mark ? MEMBER_BIT : 0), ...markCells(p.mark)]));
  }

  /** Metric names the application defined or recorded (the ones nameCapacity limits). */
  applicationNameCount(): number {
    return this.names.unreservedCount();
  }

  /** Series registered by the application (the ones maxSeries limits). */
  applicationSeriesCount(): number {
    return this.series.unreservedCount();
  }

  /** Whether a series is one of the monitor's own (registered by ownSeriesId). */
  isOwn(id: number): boolean {
    return (this.series.extraAt(id, 0) & OWN_BIT) !== 0;
  }

  /**
   * Retires a series (`retired`), or brings it back: a hub's member series whose member it
   * forgot. The answers of now leave a retired series out (isRetired), so a member that
   * restarts under a new name (a pid) leaves no series on the hub's /metrics for good; what
   * the store holds of it stays, for its history.
   */
  retire(id: number, retired: boolean): void {
    this.series.flagExtra(id, 0, RETIRED_BIT, retired);
  }

  isRetired(id: number): boolean {
    return (this.series.extraAt(id, 0) & RETIRED_BIT) !== 0;
  }

  /**
   * Marks series `id` as a hub's member series (see MEMBER_BIT), with `from`, when its member
   * started watching (-Infinity: unknown); for good, as its name: a member back under its
   * name goes on with its series from the first start.
   */
  markMember(id: number, from = -Infinity): void {
    if (this.isMember(id)) return;
    const [lo, hi] = markCells({ member: from });
    this.series.setExtra(id, 1, lo!);
    this.series.setExtra(id, 2, hi!);
    this.series.flagExtra(id, 0, MEMBER_BIT, true);
  }

  /**
   * When a hub's member series' member started watching (markMember): the time before it the
   * hub watched and the series holds nothing of (analysis/watched.ts, watchedOf). -Infinity
   * for any other series, or one whose member did not say (an older member).
   */
  memberFrom(id: number): number {
    if (!this.isMember(id)) return -Infinity;
    I32[0] = this.series.extraAt(id, 1);
    I32[1] = this.series.extraAt(id, 2);
    return F64[0]!;
  }

  /** Marks series `id` as a hub's cluster-wide series (CLUSTER_MARK); a member series stays one. */
  markCluster(id: number): void {
    if (this.isMember(id) || this.isCluster(id)) return;
    this.series.setExtra(id, 1, CLUSTER_MARK);
  }

  isCluster(id: number): boolean {
    return !this.isMember(id) && this.series.extraAt(id, 1) === CLUSTER_MARK;
  }

  isMember(id: number): boolean {
    return (this.series.extraAt(id, 0) & MEMBER_BIT) !== 0;
  }

  /** The monitor's own series registered (at most OWN_SERIES). */
  ownSeriesCount(): number {
    return this.series.reservedCount();
  }

  /** Every series registered, the application's and the monitor's own: ids are 0 to this - 1. */
  seriesCount(): number {
    return this.series.count();
  }

  private fullError(full: TableFull, pending: readonly PendingSeries[], own: boolean, where?: (i: number) => string): PerfwatchError {
    if (full.full === 'arena') {
      // Counted as a refusal at maxSeries is: the application's series is lost all the same,
      // and a caller that swallowed this error left no trace of it.
      if (!own) this.refused = { series: pending[this.firstPast(pending, 0)]!, cause: 'arena' };
      // Within the limits, only the arena's most (ARENA_MOST_BYTES, below what maxSeries series of the longest tags need) fills it.
      const what = full.growError === undefined ? `its ${ARENA_MOST_GIB} GiB hold every series' name and tags, and no option raises that: shorten the tags (fewer, or shorter values), record fewer series, or ${arenaFitAdvice(this.limits)}` : 'give the process more memory, or shorten the tags';
      return new CapacityError('registry', `the registry's ${arenaFullWords(full)}; nothing of the ${pending.length} series was registered; ${what}`);
    }
    const at = this.firstPast(pending, full.free);
    const p = pending[at]!;
    const shown = formatSeries(p.name, Object.fromEntries(p.pairs));
    if (!own) this.refused = { series: p, cause: 'maxSeries' };
    if (own) return new CardinalityError(`the ${OWN_SERIES} series held back for the monitor's own readings are all used; ${shown} was not added`);
    // A series of no tags is one more by its name: a field of tags it never had named the wrong one.
    const part = p.pairs.length > 0 ? 'tags' : 'name';
    const noted = this.refusalNote?.();
    const note = noted === undefined ? '' : `; ${noted}`;
    if (pending.length === 1) {
      return new CardinalityError(`series limit reached: maxSeries is ${this.limits.maxSeries} and ${shown} would be one more${note}; ${p.pairs.length > 0 ? 'reduce tag values' : 'record fewer metric names'} or raise maxSeries`, where ? `${where(at)}.${part}` : part);
    }
    const prefix = where ? `${where(at)} ` : '';
    return new CardinalityError(
      `${prefix}series limit reached: maxSeries is ${this.limits.maxSeries}, ${full.free} more fit, and the batch has ${full.fresh} new series (${shown} is the first that does not fit)${note}; nothing of the batch was recorded or registered`,
      where ? `${where(at)}.${part}` : part,
    );
  }

  /**
   * The name table's share full (`own`: the monitor's): `name` the first of `fresh` new names
   * past the `free` more that fit (`where`: the batch entry that has it). Said with the limit
   * and what to do.
   */
  private nameLimitError(name: string, fresh: number, free: number, where?: string, own = false): CardinalityError {
    if (own) return new CardinalityError(`the ${OWN_SERIES} metric names held back for the built-in and the monitor's own metrics are all used; "${name}" was not added`, 'name');
    const batch = fresh > 1 ? `, ${free} more fit and the batch has ${fresh} new names; nothing of the batch was recorded or registered` : '';
    return new CardinalityError(
      `${where ? `${where} ` : ''}metric name limit reached: the registry holds ${nameCapacity(this.limits.maxSeries).toLocaleString('en-US')} metric names of the application's (as many as maxSeries; the built-in names and the monitor's own are apart) and "${name}" would be one more${batch}; ${NAMES_ADVICE}`,
      where ? `${where}.name` : 'name',
    );
  }

  /** The index of the first new series of `pending` past `free` more (in order of appearance, duplicates once). */
  private firstPast(pending: readonly PendingSeries[], free: number): number {
    const seen = new Set<string>();
    for (let i = 0; i < pending.length; i++) {
      const key = pending[i]!.key;
      if (this.series.lookup(key) >= 0 || seen.has(key)) continue;
      seen.add(key);
      if (seen.size > free) return i;
    }
    return 0;
  }

  /** Name, tags, kind and unit of a series id (cached per thread). */
  info(id: number): SeriesInfo {
    const cached = this.infos[id];
    if (cached !== undefined) return cached;
    if (id < 0 || id >= this.series.count()) throw new InvalidArgumentError('series', `id ${id} is not registered`);
    const key = this.series.keyAt(id);
    const parts = key.split(TAG_SEP);
    const name = parts[0]!;
    const tags: Record<string, string> = {};
    for (let i = 1; i < parts.length; i++) {
      const pair = parts[i]!;
      const at = pair.indexOf(VALUE_SEP);
      tags[pair.slice(0, at)] = pair.slice(at + 1);
    }
    return this.keep(id, name, tags);
  }

  /**
   * Caches the info of a series. commit() keeps those it adds from what prepare() found: the
   * thread that adds a series (a host thread, for its handle) would otherwise decode the key
   * it has just encoded, 7 ms at the tag limits (64 values of 4,096 characters).
   */
  private keep(id: number, name: string, tags: Record<string, string>): SeriesInfo {
    const index = this.series.extraAt(id, 0) & NAME_INDEX;
    // Frozen: every snapshot, summary and answer shares this object.
    const info: SeriesInfo = { id, name, tags: Object.freeze(tags), kind: KINDS[this.names.extraAt(index, 0)]!, unit: UNITS[this.names.extraAt(index, 1)]! };
    this.infos[id] = info;
    return info;
  }

  /**
   * The metric name of a series id, its tags not decoded: a thread that only sorts series by
   * name (the alert actor, for the rules of each) decoded and kept every series' tags, up to
   * 786 KB each at the tag limits, and held its thread 7-8 ms a series doing it.
   */
  nameOf(id: number): string {
    if (id < 0 || id >= this.series.count()) throw new InvalidArgumentError('series', `id ${id} is not registered`);
    const index = this.series.extraAt(id, 0) & NAME_INDEX;
    return (this.nameStrings[index] ??= this.names.keyAt(index));
  }

  /** Ids of the series of `name` whose tags include every pair of `match`. */
  find(name: string, match?: Record<string, string>): number[] {
    const out: number[] = [];
    const index = this.names.lookup(name);
    if (index < 0) return out;
    const pairs = match ? pairBytes(match) : [];
    const n = this.series.count();
    // By the name's index each entry keeps and the pairs' bytes in its key, no key decoded:
    // decoding every series' key (the first call on a thread that did not register them: a
    // worker's series, a restored catalog's) held the host's thread 350-430 ms at 100,000.
    series: for (let id = 0; id < n; id++) {
      if ((this.series.extraAt(id, 0) & NAME_INDEX) !== index) continue;
      for (const pair of pairs) if (!this.series.keyHolds(id, pair, TAG_SEP_BYTE)) continue series;
      out.push(id);
    }
    return out;
  }

  /**
   * Whether series `id`'s tags include every pair of `match`, read in its key as find() reads
   * them, no tag decoded: the alert actor decoded each new series of a ruled metric to compare
   * the rule's tags, 7 ms a series at the tag limits, the many series the rule leaves out too.
   */
  holds(id: number, match: Record<string, string>): boolean {
    for (const pair of pairBytes(match)) if (!this.series.keyHolds(id, pair, TAG_SEP_BYTE)) return false;
    return true;
  }

  /** Every defined metric name. */
  listNames(): NameInfo[] {
    const out: NameInfo[] = [];
    const n = this.names.count();
    for (let i = 0; i < n; i++) out.push(this.nameAt(i));
    return out;
  }

  /** Bytes of shared memory the registry holds. */
  bytes(): number {
    return this.buffers.names.byteLength + this.buffers.series.byteLength;
  }

  private nameAt(index: number): NameInfo {
    return {
      name: this.names.keyAt(index),
      kind: KINDS[this.names.extraAt(index, 0)]!,
      unit: UNITS[this.names.extraAt(index, 1)]!,
    };
  }
}
