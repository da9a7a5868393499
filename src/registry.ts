/**
 * The registry: metric name + sorted tags → a dense series id, shared by every thread.
 *
 * Two shared tables (see shared-table.ts): names, with each name's kind and unit, and series,
 * whose key is the name followed by the sorted tags, separated by control characters that tag
 * values may not contain. Any thread resolves a series without a message round trip; ids are
 * dense from 0, so the store can index its slots by id. The cardinality limit is the series
 * table's capacity.
 */
import {
  CardinalityError,
  InvalidArgumentError,
  KindMismatchError,
  describeValue,
} from './errors.js';
import { BUILTIN_METRICS, KINDS, UNITS, kindCode, unitCode, type MetricKind, type MetricUnit } from './metrics.js';
import { SharedTable, createSharedTable } from './shared-table.js';

export type Tags = Record<string, string | number | boolean | undefined>;
export type CanonicalTags = Readonly<Record<string, string>>;

export const NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const TAG_KEY_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const MAX_NAME_LENGTH = 200;
export const MAX_TAG_KEY_LENGTH = 100;
const TAG_SEP = '\x1f';
const VALUE_SEP = '\x1e';
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\x00-\x1f\x7f]/;

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

export function createRegistry(limits: RegistryLimits): RegistryBuffers {
  const names = createSharedTable({ capacity: limits.maxSeries + BUILTIN_METRICS.length, arenaBytes: (limits.maxSeries + 64) * 48, extraInts: 2 });
  const series = createSharedTable({ capacity: limits.maxSeries, arenaBytes: limits.maxSeries * 256, extraInts: 1 });
  const buffers = { names, series, limits };
  const registry = new Registry(buffers, 1);
  for (const m of BUILTIN_METRICS) registry.define(m.name, m.kind, m.unit);
  return buffers;
}

export function validateName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string') throw new InvalidArgumentError(field, `must be a string, got ${describeValue(name)}`);
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new InvalidArgumentError(field, `must be 1 to ${MAX_NAME_LENGTH} characters, got ${name.length}`);
  }
  if (!NAME_PATTERN.test(name)) throw new InvalidArgumentError(field, `${describeValue(name)} must match [a-zA-Z_:][a-zA-Z0-9_:]*`);
  return name;
}

/** Validates tags against the limits and returns them as sorted string pairs. */
export function canonicalTags(tags: unknown, limits: RegistryLimits, field = 'tags'): [string, string][] {
  if (tags === undefined || tags === null) return [];
  if (typeof tags !== 'object' || Array.isArray(tags)) {
    throw new InvalidArgumentError(field, `must be an object of tag names to values, got ${describeValue(tags)}`);
  }
  const pairs: [string, string][] = [];
  for (const key of Object.keys(tags)) {
    const raw = (tags as Record<string, unknown>)[key];
    if (raw === undefined) continue;
    if (key.length > MAX_TAG_KEY_LENGTH || !TAG_KEY_PATTERN.test(key) || key.startsWith('__')) {
      throw new InvalidArgumentError(`${field}.${key.slice(0, 40)}`, `is not a valid tag name: it must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __, and be at most ${MAX_TAG_KEY_LENGTH} characters`);
    }
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      throw new InvalidArgumentError(`${field}.${key}`, `must be a string, number or boolean, got ${describeValue(raw)}`);
    }
    const value = String(raw);
    if (value.length > limits.maxTagValueLength) {
      throw new InvalidArgumentError(`${field}.${key}`, `is ${value.length} characters long; the limit is maxTagValueLength ${limits.maxTagValueLength}`);
    }
    if (CONTROL_CHARS.test(value)) throw new InvalidArgumentError(`${field}.${key}`, 'must not contain control characters');
    pairs.push([key, value]);
  }
  if (pairs.length > limits.maxTags) {
    throw new InvalidArgumentError(field, `has ${pairs.length} tags; the limit is maxTags ${limits.maxTags}`);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs;
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

  constructor(buffers: RegistryBuffers, lockTag: number) {
    this.buffers = buffers;
    this.limits = buffers.limits;
    this.names = new SharedTable(buffers.names, lockTag);
    this.series = new SharedTable(buffers.series, lockTag);
  }

  /** Declares a metric name with its kind and unit; a later different declaration is an error. */
  define(name: string, kind: MetricKind = 'distribution', unit: MetricUnit = ''): NameInfo {
    validateName(name);
    if (!KINDS.includes(kind)) throw new InvalidArgumentError('kind', `must be one of ${KINDS.join(', ')}, got ${describeValue(kind)}`);
    if (!UNITS.includes(unit)) throw new InvalidArgumentError('unit', `must be one of ${UNITS.map((u) => u || '""').join(', ')}, got ${describeValue(unit)}`);
    const [index, added] = this.names.intern(name, [kindCode(kind), unitCode(unit)], () => new CardinalityError(`metric name limit reached (${this.limits.maxSeries} names)`));
    const existing = this.nameAt(index);
    if (!added && (existing.kind !== kind || existing.unit !== unit)) {
      throw new KindMismatchError(`metric "${name}" is a ${existing.kind}${existing.unit ? ` in ${existing.unit}` : ''}; it cannot be redefined as a ${kind}${unit ? ` in ${unit}` : ''}`);
    }
    return existing;
  }

  /** The definition of a known name, or undefined. */
  lookupName(name: string): NameInfo | undefined {
    const index = this.names.lookup(name);
    return index < 0 ? undefined : this.nameAt(index);
  }

  /**
   * The id of a series, created on first use. A name seen for the first time is defined
   * with `kind` (distribution when not given); a given kind must match the name's.
   */
  seriesId(name: string, tags: unknown, kind?: MetricKind): number {
    validateName(name);
    const pairs = canonicalTags(tags, this.limits);
    let def = this.lookupName(name);
    if (def === undefined) def = this.define(name, kind ?? 'distribution', '');
    else if (kind !== undefined && kind !== def.kind) {
      throw new KindMismatchError(`metric "${name}" is a ${def.kind}; it cannot be recorded as a ${kind}`);
    }
    let key = name;
    for (const [k, v] of pairs) key += TAG_SEP + k + VALUE_SEP + v;
    const nameIndex = this.names.lookup(name);
    const [id] = this.series.intern(key, [nameIndex], () => {
      const shown = formatSeries(name, Object.fromEntries(pairs));
      return new CardinalityError(`series limit reached: maxSeries is ${this.limits.maxSeries} and ${shown} would be one more; reduce tag values or raise maxSeries`);
    });
    return id;
  }

  seriesCount(): number {
    return this.series.count();
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
    const def = this.nameAt(this.series.extraAt(id, 0));
    // Frozen: every snapshot, summary and answer shares this object.
    const info: SeriesInfo = { id, name, tags: Object.freeze(tags), kind: def.kind, unit: def.unit };
    this.infos[id] = info;
    return info;
  }

  /** Ids of the series of `name` whose tags include every pair of `match`. */
  find(name: string, match?: Record<string, string>): number[] {
    const out: number[] = [];
    const n = this.series.count();
    for (let id = 0; id < n; id++) {
      const info = this.info(id);
      if (info.name !== name) continue;
      if (match && !Object.entries(match).every(([k, v]) => info.tags[k] === String(v))) continue;
      out.push(id);
    }
    return out;
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
