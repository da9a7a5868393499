/**
 * The recording API of one thread: bound metric handles over the thread's own ring.
 *
 * `metric(name, tags)` resolves the series once (shared registry, no message) and returns a
 * handle whose record(v) is a type check and a ring push. `record(name, v, tags)` finds the
 * handle through a per-thread trie keyed by name, then by each tag key and value in the
 * order the caller wrote them, so a repeated call costs a lookup per tag and allocates
 * nothing; the first call of a shape validates and registers it.
 *
 * A producer belongs to one thread. Worker threads get theirs with attachProducer(handle),
 * where the handle comes from monitor.producer() on the main thread.
 */
import { isMainThread, threadId } from 'node:worker_threads';
import { InvalidArgumentError, CapacityError, CardinalityError, MonitorStoppedError, unknownKeyRule } from '../errors.js';
import { Registry, producerLockTag, type CanonicalTags, type PendingSeries, type RegistryBuffers, type Tags } from './registry.js';
import { RingWriter, TIME_MARK, claimRing, countAttach, isRingBuffer, ringClosedForGood, type OverflowPolicy } from './ring.js';
import { CONTROL_BYTES, THREAD_ARENA_REFUSED, THREAD_NAMES_REFUSED, THREAD_REFUSED } from './control.js';
import { currentOsThread } from './os-thread.js';
import { childOf, newNode, nextNode, type TrieNode } from './tag-trie.js';
import { builtinRange, type MetricKind, type MetricUnit, type ValueRange } from './metrics.js';
import { ReservedNames, type SampledName } from './reserved.js';
import { VERSION } from '../version.js';
import { wallNow } from './real-timers.js';

/**
 * Samples must be smaller in magnitude than 2^333 (about 1.7e100): sums of up to 2^53 of
 * them, and the sums of squared deviations that reports take, then stay finite (a value near
 * Number.MAX_VALUE made a series' sum Infinity for good, and its quantiles unreadable).
 */
export const MAX_MAGNITUDE = 2 ** 333;
/** v × 2^691 overflows to ±Infinity exactly when |v| ≥ 2^333 (2^1024 is past the doubles). */
const OVERFLOW_SCALE = 2 ** (1024 - 333);

// The value rules, shared by record() and check() (small enough for V8 to inline). x - x is
// 0 for a finite x and NaN otherwise, so one multiply refuses NaN, ±Infinity and the huge
// values at the cost of the old finiteness test (two comparisons measured 10-20% slower on
// handle.record in paired runs).
const FINITE = 'a finite number of magnitude under 2^333 (~1.7e100)';
const NOT_NEGATIVE = 'a finite number from 0 to under 2^333 (~1.7e100)';
const INCREMENT = `${NOT_NEGATIVE}: counters only go up`;
function isSampleValue(value: unknown): value is number {
  if (typeof value !== 'number') return false;
  const x = value * OVERFLOW_SCALE;
  return x - x === 0;
}
function isIncrement(value: unknown): value is number {
  if (typeof value !== 'number' || !(value >= 0)) return false;
  const x = value * OVERFLOW_SCALE;
  return x - x === 0;
}

/** Throws what a handle of `kind` (and of `range`, a built-in's: builtinRange(name)) would throw for `value`. */
function checkValue(name: string, kind: MetricKind, range: ValueRange | undefined, value: unknown): void {
  if (range !== undefined) {
    if (!inRange(value, range)) throw new InvalidArgumentError('value', `of ${name} must be ${range.rule}`, { value });
    return;
  }
  const ok = kind === 'counter' ? isIncrement(value) : isSampleValue(value);
  if (!ok) throw new InvalidArgumentError('value', `of ${name} must be ${kind === 'counter' ? INCREMENT : FINITE}`, { value });
}

/** Whether `value` is a number in `range` (NaN is in none; the range's ends are under 2^333). */
function inRange(value: unknown, range: ValueRange): value is number {
  return typeof value === 'number' && value >= range.min && value <= range.max;
}

/** A series bound to a ring: the hot path. */
export class MetricHandle {
  readonly id: number;
  readonly name: string;
  readonly tags: Readonly<CanonicalTags>;
  readonly kind: MetricKind;
  protected readonly ring: RingWriter;

  constructor(ring: RingWriter, id: number, name: string, tags: CanonicalTags, kind: MetricKind) {
    this.ring = ring;
    this.id = id;
    this.name = name;
    this.tags = tags;
    this.kind = kind;
  }

  /** Records one sample. Throws on a value that is not a finite number under 2^333 in magnitude, and when the monitor is stopped. */
  record(value: number): void {
    if (!isSampleValue(value)) throw this.invalid(value, FINITE);
    this.ring.push(this.id, value);
  }

  /** Throws what record(value) would throw for a bad value, without recording. */
  check(value: unknown): void {
    if (!isSampleValue(value)) throw this.invalid(value, FINITE);
  }

  /**
   * The ring record() pushes to, for a caller on this handle's thread that pushes `id` there
   * itself with values it knows valid (finite, under 2^333, and not negative for a counter),
   * so that a sample does not read the handle: instrument()'s request samples
   * (src/instrument/http-server.ts), where each object read is a cache miss in a loaded server.
   * Not in the package's types (`@internal`, tsconfig's stripInternal): the ring is the engine's.
   * @internal
   */
  get sink(): RingWriter {
    return this.ring;
  }

  protected invalid(value: unknown, expected: string): InvalidArgumentError {
    return new InvalidArgumentError('value', `of ${this.name} must be ${expected}`, { value });
  }

  /** What JSON.stringify() makes of a handle: its series. Walked whole, its ring's views wrote 1.3 MB into a log line. */
  toJSON(): { id: number; name: string; tags: Readonly<CanonicalTags>; kind: MetricKind } {
    return { id: this.id, name: this.name, tags: this.tags, kind: this.kind };
  }
}

/** A built-in metric whose unit bounds its samples (builtinRange: a time is not negative, a ratio is 0 to 1). */
export class RangedHandle extends MetricHandle {
  private readonly range: ValueRange;

  constructor(ring: RingWriter, id: number, name: string, tags: CanonicalTags, kind: MetricKind, range: ValueRange) {
    super(ring, id, name, tags, kind);
    this.range = range;
  }

  override record(value: number): void {
    if (!inRange(value, this.range)) throw this.invalid(value, this.range.rule);
    this.ring.push(this.id, value);
  }

  override check(value: unknown): void {
    if (!inRange(value, this.range)) throw this.invalid(value, this.range.rule);
  }
}

/** A counter's samples are increments: finite and not negative. */
export class CounterHandle extends MetricHandle {
  override record(value: number): void {
    if (!isIncrement(value)) throw this.invalid(value, INCREMENT);
    this.ring.push(this.id, value);
  }

  override check(value: unknown): void {
    if (!isIncrement(value)) throw this.invalid(value, INCREMENT);
  }
}

/**
 * A handle of one of the monitor's own series (Producer.ownMetric): its reading never waits
 * on a full ring, whatever the overflow policy. The monitor must not hold its host's thread
 * for a sample the host never asked for (a fault's, the runtime's, a report's time): with no
 * room, the reading is dropped and counted. Its values are the kind's, as any handle's.
 */
class OwnHandle extends MetricHandle {
  override record(value: number): void {
    this.offer(value);
  }

  /** record() that says whether the reading went in: false when it was dropped for want of room. */
  offer(value: number): boolean {
    checkValue(this.name, this.kind, undefined, value);
    return this.ring.pushOrDrop(this.id, value);
  }

  override check(value: unknown): void {
    checkValue(this.name, this.kind, undefined, value);
  }
}

export interface BatchSample {
  name: string;
  value: number;
  tags?: Tags;
  /** When the sample was taken (ms since the epoch, or a Date); default: when it is applied. */
  timestamp?: number | Date;
}

/** How far ahead of the clock a sample's timestamp may be (clock skew between hosts). */
const FUTURE_MS = 5_000;

/** The same error with its field placed under `prefix` (`samples[3].value`). */
function prefixField(error: unknown, prefix: string): unknown {
  if (!(error instanceof InvalidArgumentError) || error.field === undefined) return error;
  return error.withField(`${prefix}.${error.field}`);
}

/** The largest distance from the epoch a Date holds, in ms. */
const DATE_RANGE_MS = 8.64e15;

/**
 * Refuses a timestamp outside the live window: at most `pastMs` ago and FUTURE_MS ahead. The
 * error shows it as a time where a Date holds it, and as the number given past a Date's range
 * (where toISOString throws a RangeError, which reached the caller instead of this error).
 */
function checkStamp(t: number, i: number, pastMs: number, now: number): void {
  if (t < now - pastMs || t > now + FUTURE_MS) {
    const rule = `is out of range: perfwatch records live data, so a timestamp may be at most ${pastMs} ms in the past (one collection interval) and ${FUTURE_MS} ms ahead`;
    if (Math.abs(t) > DATE_RANGE_MS) throw new InvalidArgumentError(`samples[${i}].timestamp`, rule, { value: t });
    throw new InvalidArgumentError(`samples[${i}].timestamp`, `(${new Date(t).toISOString()}) ${rule}`);
  }
}

function newPendingBatch(): PendingBatch {
  return { series: [], tags: [], firstSample: [], byKey: new Map() };
}

/** A batch in columns: see Producer.recordColumns. */
export interface SampleColumns {
  /** The distinct series the samples fall in. */
  series: readonly { name: string; tags?: Tags }[];
  /** Per sample, its index in `series`. */
  seriesIndex: Uint32Array;
  values: Float64Array;
  /** Per sample, ms since the epoch, or NaN for "when it is applied"; absent when none has one. */
  timestamps?: Float64Array | undefined;
  /** Samples in the batch (the columns may be longer). */
  length: number;
}

export interface MetricOptions {
  kind?: MetricKind;
  unit?: MetricUnit;
}

/** One handled request: `success`, or a `statusCode` that says it (under 500), or both. */
export type RequestSample = {
  /** Route or operation name; becomes the `endpoint` tag. */
  endpoint?: string;
  responseTimeMs: number;
} & ({ success: boolean; statusCode?: number } | { success?: boolean; statusCode: number });

/** The fields of a RequestSample: any other is refused, as createAlertRule refuses a field it does not know. */
const REQUEST_FIELDS = ['responseTimeMs', 'success', 'statusCode', 'endpoint'];
/** The fields of SampleColumns. */
const COLUMN_FIELDS = ['series', 'seriesIndex', 'values', 'timestamps', 'length'];

/**
 * The series a batch meets that are not registered yet: validated and keyed by
 * Registry.prepare, registered together by Registry.commit once the whole batch is valid.
 */
interface PendingBatch {
  series: PendingSeries[];
  /** The caller's tags object of each, for the trie. */
  tags: (Tags | undefined)[];
  /** The first sample of each, for error messages. */
  firstSample: number[];
  byKey: Map<string, number>;
}

/** What a batch sample's series resolved to: a handle, or the index of a pending series. */
type BatchTarget = MetricHandle | number;

interface RequestHandles {
  responseTime: MetricHandle;
  throughput: MetricHandle;
  errors: MetricHandle;
}

export class Producer {
  private readonly registry: Registry;
  private readonly ring: RingWriter;
  private readonly byName = new Map<string, TrieNode<MetricHandle>>();
  /** The name looked up last and its trie root (a root never changes once made). */
  private lastName: string | undefined = undefined;
  private lastNode: TrieNode<MetricHandle> | undefined = undefined;
  private readonly byEndpoint = new Map<string | undefined, RequestHandles>();
  private readonly own = new Map<string, OwnHandle>();
  /** The monitor's own names, refused to the application (engine/reserved.ts). */
  private readonly reserved: ReservedNames;

  constructor(ring: RingWriter, registry: Registry, reserved: ReservedNames = new ReservedNames()) {
    this.ring = ring;
    this.registry = registry;
    this.reserved = reserved;
  }

  /** A bound handle for a series; call once, then handle.record(v) on the hot path. */
  metric(name: string, tags?: Tags, options: MetricOptions = {}): MetricHandle {
    // From JavaScript, metric('jobs', {}, 'counter') made a distribution without a word.
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new InvalidArgumentError('options', "must be an object { kind?, unit? } (metric(name, tags, { kind: 'counter' }))", { value: options });
    for (const key in options) if (key !== 'kind' && key !== 'unit') throw new InvalidArgumentError(`options.${key}`, `${unknownKeyRule('metric option')} (the options: kind, unit)`);
    this.reserved.check(name, 'name');
    // A known name's declaration is checked against the one made first. A new name is declared
    // by seriesId, with its series or not at all: defined first, it stayed when the series was
    // refused, and a loop of new names at maxSeries filled the name table.
    const known = options.unit !== undefined || options.kind !== undefined ? this.registry.lookupName(name) : undefined;
    if (known !== undefined) this.registry.define(name, options.kind ?? known.kind, options.unit ?? known.unit);
    return this.handleOf(this.registry.seriesId(name, tags, options.kind, false, options.unit));
  }

  /**
   * A handle for one of the monitor's own series (runtime, system, monitor_*): registered in
   * the share of the registry held back for them, so an application at its series limit
   * never makes the monitor's own readings fail, and never waiting on a full ring (OwnHandle).
   * It takes the runtime's values as they come (no built-in range). Cached per name and tags.
   */
  ownMetric(name: string, tags?: Record<string, string>): MetricHandle {
    return this.ownHandle(name, tags);
  }

  /**
   * Records one of the monitor's own readings (ownMetric's series); false when it was dropped
   * for want of room, so that a caller who adds up what was recorded (a counter's increments)
   * gives it again with the next reading instead of losing it.
   */
  recordOwn(name: string, value: number, tags?: Record<string, string>): boolean {
    return this.ownHandle(name, tags).offer(value);
  }

  private ownHandle(name: string, tags?: Record<string, string>): OwnHandle {
    const key = tags === undefined ? name : `${name}\u0000${JSON.stringify(tags)}`;
    let handle = this.own.get(key);
    if (handle === undefined) {
      const id = this.registry.ownSeriesId(name, tags);
      const info = this.registry.info(id);
      handle = new OwnHandle(this.ring, id, info.name, info.tags, info.kind);
      this.own.set(key, handle);
    }
    return handle;
  }

  /** The handle of a series: its kind's, or its built-in range's. */
  private handleOf(id: number): MetricHandle {
    const info = this.registry.info(id);
    if (info.kind === 'counter') return new CounterHandle(this.ring, id, info.name, info.tags, info.kind);
    const range = builtinRange(info.name);
    return range !== undefined ? new RangedHandle(this.ring, id, info.name, info.tags, info.kind, range) : new MetricHandle(this.ring, id, info.name, info.tags, info.kind);
  }

  /** Records a sample by name; repeated shapes cost a lookup per tag. */
  record(name: string, value: number, tags?: Tags): void {
    this.handleFor(name, tags).record(value);
  }

  /** The handle of a (name, tags) shape, through the trie; the first call of a shape learns it. */
  handleFor(name: string, tags: Tags | undefined): MetricHandle {
    return this.known(name, tags) ?? this.learn(name, tags, this.metric(name, tags));
  }

  /**
   * The handle of a shape the trie learned, or undefined. Kept small so that V8 inlines it
   * into record(): the name seen last skips its Map lookup; each tag is a step of nextNode
   * (src/engine/tag-trie.ts).
   */
  private known(name: string, tags: Tags | undefined): MetricHandle | undefined {
    let node = name === this.lastName ? this.lastNode : this.nameNode(name);
    if (node === undefined) return undefined;
    if (tags != null) {
      for (const key in tags) {
        node = nextNode(node, key, tags[key]);
        if (node === undefined) return undefined;
      }
    }
    return node.handle;
  }

  /** The trie root of a name, remembered as the name seen last. */
  private nameNode(name: string): TrieNode<MetricHandle> | undefined {
    const node = this.byName.get(name);
    if (node !== undefined) {
      this.lastName = name;
      this.lastNode = node;
    }
    return node;
  }

  /** Records one handled request: response_time, throughput and error_rate, by endpoint. */
  recordRequest(sample: RequestSample): void {
    if (sample === null || typeof sample !== 'object') throw new InvalidArgumentError('request', 'must be an object', { value: sample });
    for (const key in sample) {
      if (!REQUEST_FIELDS.includes(key)) throw new InvalidArgumentError(key, `${unknownKeyRule('request field')} (the fields: ${REQUEST_FIELDS.join(', ')})`);
    }
    const { endpoint, responseTimeMs, statusCode } = sample;
    if (!isIncrement(responseTimeMs)) {
      throw new InvalidArgumentError('responseTimeMs', `must be ${NOT_NEGATIVE}`, { value: responseTimeMs });
    }
    if (statusCode !== undefined && (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599)) {
      throw new InvalidArgumentError('statusCode', 'must be an integer from 100 to 599', { value: statusCode });
    }
    const success = sample.success ?? (statusCode !== undefined ? statusCode < 500 : undefined);
    if (typeof success !== 'boolean') {
      // Optional only beside a statusCode: a request with neither said "must be a boolean" of a
      // field the reference marks optional, and left the caller to guess what was missing.
      const rule = sample.success == null && statusCode === undefined ? 'must be a boolean when statusCode is not given (it decides error_rate)' : 'must be a boolean';
      throw new InvalidArgumentError('success', rule, { value: success });
    }
    if (endpoint !== undefined && typeof endpoint !== 'string') throw new InvalidArgumentError('endpoint', 'must be a string', { value: endpoint });
    let h = this.byEndpoint.get(endpoint);
    if (h === undefined) {
      const tags = endpoint === undefined ? undefined : { endpoint };
      try {
        // All three or none: made one by one, the two that fit took the last places of
        // maxSeries and the third was refused, the request unrecorded and those two never written.
        const [responseTime, throughput, errors] = this.metrics([
          { name: 'response_time', tags },
          { name: 'throughput', tags },
          { name: 'error_rate', tags },
        ]);
        h = { responseTime: responseTime!, throughput: throughput!, errors: errors! };
      } catch (error) {
        throw this.endpointError(error, endpoint);
      }
      this.byEndpoint.set(endpoint, h);
    }
    h.responseTime.record(responseTimeMs);
    h.throughput.record(1);
    h.errors.record(success ? 0 : 1);
  }

  /**
   * An error of recordRequest's series said of its endpoint, the field the caller gave: the
   * tags were the monitor's making (`tags has 1 tags; the limit is maxTags 0`, `tags.endpoint
   * is 1000 characters long`, and the series limit, whose error named `tags`).
   */
  private endpointError(error: unknown, endpoint: string | undefined): unknown {
    if (error instanceof CardinalityError && endpoint !== undefined) {
      const shown = JSON.stringify(endpoint.length > 40 ? `${endpoint.slice(0, 40)}…` : endpoint);
      if (!error.rule.startsWith('series limit reached')) return error.withField('endpoint');
      return new CardinalityError(
        `series limit reached: maxSeries is ${this.registry.limits.maxSeries}, and the series of endpoint ${shown} (response_time, throughput and error_rate) do not all fit; none was registered and the request was not recorded: reduce endpoint values or raise maxSeries`,
        'endpoint',
      );
    }
    if (!(error instanceof InvalidArgumentError)) return error;
    if (error.field === 'tags.endpoint') return error.withField('endpoint');
    if (error.field === 'tags') {
      return new InvalidArgumentError('endpoint', `is recorded as the tag endpoint of response_time, throughput and error_rate, and maxTags is ${this.registry.limits.maxTags}: raise maxTags, or leave endpoint out`);
    }
    return error;
  }

  /**
   * Records many samples in one call, all or nothing: every sample is validated (and its
   * series resolved) before the first is written, and errors name the sample by index. A
   * `timestamp` (ms or Date) stamps the sample with the time it was taken; perfwatch keeps
   * live data, so it may lie at most `pastMs` in the past (the open bucket) and 5 s ahead.
   * The call waits for ring space whatever the overflow policy; a chunk (half the ring) that
   * finds none within the stall bound (a dead or hung collector) is dropped whole and counted.
   */
  recordBatch(samples: readonly BatchSample[], pastMs: number, now: number = wallNow()): number {
    if (!Array.isArray(samples)) throw new InvalidArgumentError('samples', 'must be an array', { value: samples });
    const targets: BatchTarget[] = new Array(samples.length);
    const batch = newPendingBatch();
    const values = new Float64Array(samples.length);
    const stamps = new Float64Array(samples.length).fill(Number.NaN);
    let stamped = false;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      if (s === null || typeof s !== 'object') throw new InvalidArgumentError(`samples[${i}]`, 'must be an object', { value: s });
      for (const key in s) {
        if (key !== 'name' && key !== 'value' && key !== 'tags' && key !== 'timestamp') throw new InvalidArgumentError(`samples[${i}].${key}`, `${unknownKeyRule('sample field')} (the fields: name, value, tags, timestamp)`);
      }
      try {
        const target = this.resolveForBatch(s.name, s.tags, i, batch);
        checkValue(s.name, this.kindOf(target, batch), builtinRange(s.name), s.value);
        targets[i] = target;
      } catch (error) {
        throw prefixField(error, `samples[${i}]`);
      }
      values[i] = s.value;
      if (s.timestamp !== undefined) {
        const t = s.timestamp instanceof Date ? s.timestamp.getTime() : s.timestamp;
        if (typeof t !== 'number' || !Number.isFinite(t)) {
          throw new InvalidArgumentError(`samples[${i}].timestamp`, 'must be a Date or ms since the epoch', { value: s.timestamp });
        }
        checkStamp(t, i, pastMs, now);
        stamps[i] = t;
        stamped = true;
      }
    }
    this.writeBatch(this.commitBatch(targets, batch), values, stamped ? stamps : undefined);
    return samples.length;
  }

  /**
   * recordBatch for samples already in columns (a decoder's output): the distinct series
   * once, then per sample an index into them, a value and an optional timestamp (NaN for
   * none). Same rules, same all-or-nothing, same error fields; no object per sample.
   */
  recordColumns(columns: SampleColumns, pastMs: number, now: number = wallNow()): number {
    if (columns === null || typeof columns !== 'object') throw new InvalidArgumentError('columns', 'must be an object', { value: columns });
    for (const key in columns) {
      if (!COLUMN_FIELDS.includes(key)) throw new InvalidArgumentError(`columns.${key}`, `${unknownKeyRule('column')} (the columns: ${COLUMN_FIELDS.join(', ')})`);
    }
    const { series, seriesIndex, values, timestamps, length } = columns;
    if (!Array.isArray(series)) throw new InvalidArgumentError('columns.series', 'must be an array of { name, tags? }', { value: series });
    for (let k = 0; k < series.length; k++) {
      const s = series[k];
      if (s === null || typeof s !== 'object') throw new InvalidArgumentError(`columns.series[${k}]`, 'must be an object { name, tags? }', { value: s });
      for (const key in s) if (key !== 'name' && key !== 'tags') throw new InvalidArgumentError(`columns.series[${k}].${key}`, `${unknownKeyRule('series field')} (the fields: name, tags)`);
    }
    if (!(seriesIndex instanceof Uint32Array) || !(values instanceof Float64Array) || (timestamps !== undefined && !(timestamps instanceof Float64Array))) {
      throw new InvalidArgumentError('columns', 'must hold seriesIndex as a Uint32Array and values (and timestamps, if any) as Float64Arrays');
    }
    if (!Number.isInteger(length) || length < 0 || length > seriesIndex.length || length > values.length || (timestamps !== undefined && length > timestamps.length)) {
      throw new InvalidArgumentError('columns.length', 'must be an integer from 0 to the length of the columns', { value: length });
    }
    const resolved: (BatchTarget | undefined)[] = new Array(series.length);
    const kinds: MetricKind[] = new Array(series.length);
    // A series' range once, not a lookup a sample.
    const ranges: (ValueRange | undefined)[] = new Array(series.length);
    const targets: BatchTarget[] = new Array(length);
    const batch = newPendingBatch();
    let stamped = false;
    for (let i = 0; i < length; i++) {
      const k = seriesIndex[i]!;
      let target = resolved[k];
      try {
        if (target === undefined) {
          const s = series[k];
          if (s === undefined) throw new InvalidArgumentError('series', `index ${k} is past the ${series.length} series of the batch`);
          target = resolved[k] = this.resolveForBatch(s.name, s.tags, i, batch);
          kinds[k] = this.kindOf(target, batch);
          ranges[k] = builtinRange(s.name);
        }
        checkValue(series[k]!.name, kinds[k]!, ranges[k], values[i]);
      } catch (error) {
        throw prefixField(error, `samples[${i}]`);
      }
      targets[i] = target;
      if (timestamps !== undefined) {
        const t = timestamps[i]!;
        if (t === t) {
          if (t - t !== 0) throw new InvalidArgumentError(`samples[${i}].timestamp`, 'must be ms since the epoch', { value: t });
          checkStamp(t, i, pastMs, now);
          stamped = true;
        }
      }
    }
    this.writeBatch(this.commitBatch(targets, batch), values, stamped ? timestamps : undefined);
    return length;
  }

  /**
   * A batch sample's series without registering it: a handle when the trie or the registry
   * knows it, else the index of a pending series (one per distinct series of the batch).
   */
  private resolveForBatch(name: string, tags: Tags | undefined, sample: number, batch: PendingBatch): BatchTarget {
    const known = this.known(name, tags);
    if (known !== undefined) return known;
    this.reserved.check(name, 'name');
    const found = this.registry.prepare(name, tags);
    if (typeof found === 'number') return this.learn(name, tags, this.handleOf(found));
    let at = batch.byKey.get(found.key);
    if (at === undefined) {
      at = batch.series.length;
      batch.series.push(found);
      batch.tags.push(tags);
      batch.firstSample.push(sample);
      batch.byKey.set(found.key, at);
    }
    return at;
  }

  private kindOf(target: BatchTarget, batch: PendingBatch): MetricKind {
    if (typeof target !== 'number') return target.kind;
    const pending = batch.series[target]!;
    return this.registry.lookupName(pending.name)?.kind ?? pending.kind;
  }

  /**
   * Handles of several series, registered all or none, as a batch's series are (the series
   * that exist are found, the new ones added in one Registry.commit, or none when they do not
   * all fit): recordRequest's three of an endpoint, instrument()'s of a route. Throws what
   * metric() would, the series limit's error naming the first series that does not fit.
   */
  metrics(series: readonly { name: string; tags?: Tags | undefined }[]): MetricHandle[] {
    const batch = newPendingBatch();
    const targets = series.map((s, i) => this.resolveForBatch(s.name, s.tags, i, batch));
    return this.commitPending(targets, batch);
  }

  /** Registers the batch's new series, all or none, and returns every sample's handle. */
  private commitBatch(targets: readonly BatchTarget[], batch: PendingBatch): MetricHandle[] {
    return this.commitPending(targets, batch, (i) => `samples[${batch.firstSample[i]}]`);
  }

  /** Registers the pending series, all or none (`where` names the i-th in an error), and returns every target's handle. */
  private commitPending(targets: readonly BatchTarget[], batch: PendingBatch, where?: (i: number) => string): MetricHandle[] {
    const ids = this.registry.commit(batch.series, false, where);
    const fresh = ids.map((id, i) => this.learn(batch.series[i]!.name, batch.tags[i], this.handleOf(id)));
    return targets.map((t) => (typeof t === 'number' ? fresh[t]! : t));
  }

  /**
   * Writes a validated batch: chunks of half the ring, each waiting for room, with time
   * marks. A stamped chunk ends with the mark back to drain time, so a chunk that finds no
   * room (a dead or stalled collector) is dropped whole and counted, never half stamped.
   */
  private writeBatch(handles: readonly MetricHandle[], values: Float64Array, stamps: Float64Array | undefined): void {
    const ring = this.ring;
    const chunk = Math.max(1, stamps !== undefined ? (ring.capacity - 1) >> 1 : ring.capacity >> 1);
    for (let start = 0; start < handles.length; start += chunk) {
      const end = Math.min(handles.length, start + chunk);
      // Room for the chunk and its time marks (at most one mark per sample, plus the reset).
      if (!ring.waitForRoom(stamps !== undefined ? 2 * (end - start) + 1 : end - start)) {
        ring.countDropped(end - start);
        continue;
      }
      let current = Number.NaN;
      // A timestamp is the wall clock's; the store keeps the monitor's (engine/monitor-clock.ts).
      const ahead = ring.clockOffset();
      for (let i = start; i < end; i++) {
        if (stamps !== undefined) {
          const t = stamps[i]!;
          if (t !== current && !(t !== t && current !== current)) {
            ring.push(TIME_MARK, t + ahead);
            current = t;
          }
        }
        // Checked in recordBatch/recordColumns; every handle of this producer writes to its ring.
        ring.push(handles[i]!.id, values[i]!);
      }
      if (current === current) ring.push(TIME_MARK, Number.NaN);
    }
  }

  /**
   * Publishes this thread's pending samples now (they publish by themselves at the end of the
   * event-loop turn). Throws MonitorStoppedError when samples it would publish were taken
   * while the monitor was stopped: they are dropped (counted), as a record() is refused.
   */
  flush(): void {
    this.ring.flush();
  }

  /** flush() at the thread's exit: samples taken while the monitor was stopped are dropped (counted) without a throw. @internal */
  flushAtExit(): void {
    this.ring.publish();
  }

  /** Remembers the handle of a (name, tags) shape seen for the first time. */
  private learn(name: string, tags: Tags | undefined, handle: MetricHandle): MetricHandle {
    let node = this.byName.get(name);
    if (node === undefined) {
      node = newNode();
      this.byName.set(name, node);
    }
    if (tags != null) {
      for (const key in tags) node = childOf(node, key, tags[key]);
    }
    node.handle = handle;
    return handle;
  }
}

/**
 * What monitor.producer() returns: plain data (shared buffers and numbers), so it can be
 * posted to a worker thread or passed in a piscina task.
 */
export interface ProducerHandle {
  readonly type: 'perfwatch.producer';
  /** The perfwatch release that laid out its shared memory: only that release's attachProducer() reads it (sameRelease). */
  readonly version: string;
  /** The monitor's: a thread keeps one producer, on one ring, whichever of the monitor's handles it attaches. */
  readonly key: string;
  readonly control: SharedArrayBuffer;
  readonly registry: RegistryBuffers;
  readonly rings: readonly SharedArrayBuffer[];
  readonly overflow: OverflowPolicy;
  /** The longest wait on a full ring whose collector frees nothing (option stallTimeoutMs). */
  readonly stallMs: number;
  /** The sampled names the application may not record into (engine/reserved.ts). */
  readonly reserved: readonly SampledName[];
}

const attached = new Map<string, Producer>();

/**
 * Whether a handle's shared memory came through: a handle sent as JSON (whose
 * SharedArrayBuffers become `{}`) or built by hand failed later with a raw RangeError of the
 * typed arrays ("Invalid atomic access index"), with no code and no field.
 */
function sharedMemoryWhole(handle: ProducerHandle): boolean {
  const registry = handle.registry as Partial<RegistryBuffers> | null | undefined;
  return (
    typeof handle.key === 'string' &&
    handle.control instanceof SharedArrayBuffer &&
    handle.control.byteLength >= CONTROL_BYTES &&
    registry !== null &&
    typeof registry === 'object' &&
    registry.names instanceof SharedArrayBuffer &&
    registry.series instanceof SharedArrayBuffer &&
    registry.limits !== null &&
    typeof registry.limits === 'object' &&
    handle.rings.length > 0 &&
    handle.rings.every(isRingBuffer)
  );
}

/**
 * Why a handle is not this release's, or undefined when it is. A process may hold two copies
 * of perfwatch (a library's nested in node_modules beside the application's), and a handle of
 * one's monitor reach the other's attachProducer() (a library's worker importing its own copy):
 * the rings, registry and control block are laid out by the code of the release that made
 * them, and another release's producer would write its samples at its own offsets, into
 * another cell or series, or fail with a raw RangeError. Two copies of one release share
 * their code, so they attach each other's handles.
 */
function otherRelease(handle: ProducerHandle): string | undefined {
  const version = (handle as { version?: unknown }).version;
  if (version === VERSION) return undefined;
  const made = typeof version === 'string' ? `perfwatch ${version.slice(0, 64)}` : 'an earlier release of perfwatch (its handle names no version)';
  return `was made by ${made}, and this attachProducer() is perfwatch ${VERSION}'s (another copy of the package in node_modules: npm ls perfwatch lists them): the shared memory is laid out by the release that made it, so attach the handle with that copy's attachProducer() (import it from the perfwatch the monitor's code imports), or dedupe the copies to one release`;
}

/**
 * A worker thread that ends with process.exit() ends its turn there: the flush its ring
 * scheduled for the end of the turn never runs, and the samples since the last publish point
 * (up to PUBLISH_EVERY - 1 of them) were lost without a count. 'exit' runs in the worker first.
 */
function publishAtThreadExit(): void {
  for (const producer of attached.values()) producer.flushAtExit();
}

/**
 * Gives the calling thread a producer over one of the handle's rings. Calling it again in
 * the same thread (every piscina task does), with this handle or another of the same
 * monitor's, returns the same producer.
 */
export function attachProducer(handle: ProducerHandle): Producer {
  if (handle === null || typeof handle !== 'object' || handle.type !== 'perfwatch.producer' || !Array.isArray(handle.rings)) {
    throw new InvalidArgumentError('handle', 'must be the value returned by monitor.producer()');
  }
  // Before the buffers are looked at: another release's may pass or fail that check by chance.
  const other = otherRelease(handle);
  if (other !== undefined) throw new InvalidArgumentError('handle', other);
  if (!sharedMemoryWhole(handle)) {
    throw new InvalidArgumentError('handle', "must be the value returned by monitor.producer(), passed whole by structured clone (workerData, postMessage, a piscina task): its SharedArrayBuffers are missing or not a producer handle's (a JSON copy turns them into {})");
  }
  // Said at the attach, whichever handle it is: a record would have said it (its rings never open again).
  if (ringClosedForGood(handle.rings[0]!)) throw new MonitorStoppedError('the monitor was closed: attachProducer() of its handle would never record; build a new one, and pass its producer()');
  // Counted before the ring is looked for, the producer found or not: producer() past its
  // limit hands this handle out again once a thread came for it (monitor/producer-handles.ts).
  countAttach(handle.rings[0]!);
  // A thread that attached another of the monitor's handles keeps that producer: a handle a
  // task (each piscina task given its own producer()) took a ring of each, for good.
  const existing = attached.get(handle.key);
  if (existing !== undefined) return existing;
  const tag = producerLockTag(threadId);
  const self = currentOsThread();
  const sab = handle.rings.find((ring) => claimRing(ring, tag, self));
  if (sab === undefined) {
    throw new CapacityError('producerThreads', `are all taken: this handle serves ${handle.rings.length} threads; raise producerThreads or call monitor.producer() again`);
  }
  const registry = new Registry(handle.registry, tag);
  // Counted where the monitor's thread reads them (status().series.refused, the series-limit
  // fault, reports, get_monitoring_status): a refusal here reached this thread's caller alone.
  const refused = new Int32Array(handle.control, 0, CONTROL_BYTES / 4);
  registry.onRefused = (_series, cause) => {
    Atomics.add(refused, THREAD_REFUSED, 1);
    if (cause === 'arena') Atomics.add(refused, THREAD_ARENA_REFUSED, 1);
    if (cause === 'names') Atomics.add(refused, THREAD_NAMES_REFUSED, 1);
  };
  const producer = new Producer(new RingWriter(sab, handle.control, handle.overflow, handle.stallMs), registry, new ReservedNames(handle.reserved));
  if (attached.size === 0 && !isMainThread) process.once('exit', publishAtThreadExit);
  attached.set(handle.key, producer);
  return producer;
}
