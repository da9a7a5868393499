import { Worker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { CapacityError, CardinalityError, InvalidArgumentError, KindMismatchError } from '../dist/src/errors.js';
import { SharedTable, createSharedTable } from '../dist/src/engine/shared-table.js';
import { Registry, createRegistry } from '../dist/src/engine/registry.js';
import { restoreCatalog } from '../dist/src/storage/restore.js';

const limits = { maxSeries: 64, maxTags: 4, maxTagValueLength: 16 };

describe('registry', () => {
  it('gives one id per name and tag set, whatever the tag order', () => {
    const r = new Registry(createRegistry(limits), 1);
    const a = r.seriesId('response_time', { route: '/a', method: 'GET' });
    expect(r.seriesId('response_time', { method: 'GET', route: '/a' })).toBe(a);
    expect(r.seriesId('response_time', { route: '/b', method: 'GET' })).not.toBe(a);
    expect(r.seriesId('response_time', {})).toBe(r.seriesId('response_time', undefined));
    expect(r.info(a)).toEqual({ id: a, name: 'response_time', tags: { method: 'GET', route: '/a' }, kind: 'distribution', unit: 'ms' });
    // Numbers and booleans are tag values too, by their string form; undefined ones are left out.
    const n = r.seriesId('queue_size', { shard: 3, hot: true, skip: undefined });
    expect(r.info(n).tags).toEqual({ hot: 'true', shard: '3' });
    expect(r.find('response_time', { route: '/a' })).toEqual([a]);
  });

  it("finds a name's series and tag pairs on a thread that did not register them, decoding no series' key", () => {
    const buffers = createRegistry({ ...limits, maxSeries: 40 });
    const writer = new Registry(buffers, 1);
    const want: number[] = [];
    for (let i = 0; i < 30; i++) {
      const name = ['response_time', 'queue_size', 'cache_hit_rate'][i % 3]!;
      const id = writer.seriesId(name, { shard: String(i) });
      if (name === 'queue_size') want.push(id);
    }
    // The monitor's own series of the same name is found as well (its entry's index carries OWN_BIT).
    want.push(writer.ownSeriesId('queue_size', { shard: 'own' }));
    const zoned = writer.seriesId('queue_size', { region: 'eu', shard: '1', zone: 'a' });
    want.push(zoned);
    // Another thread's view: its cache of decoded keys starts empty, and stays so.
    const reader = new Registry(buffers, 2);
    expect(reader.find('queue_size')).toEqual(want);
    // shard '1' is a prefix of '10', '13', '16' and '19': only whole values match.
    expect(reader.find('queue_size', { shard: '1' })).toEqual([want[0], zoned]);
    expect(reader.find('queue_size', { zone: 'a' })).toEqual([zoned]);
    expect(reader.find('queue_size', { shard: '1', zone: 'a', region: 'eu' })).toEqual([zoned]);
    expect(reader.find('queue_size', { zone: 'b' })).toEqual([]);
    expect(reader.find('queue_size', { shard: 'a' })).toEqual([]);
    expect(reader.find('response_time', { shard: '4' })).toEqual([]);
    expect(reader.find('never_defined')).toEqual([]);
    expect((reader as unknown as { infos: unknown[] }).infos.filter((x) => x !== undefined)).toHaveLength(0);
    // As the decoded tags say.
    for (const id of reader.find('queue_size', { shard: '1' })) expect(reader.info(id).tags.shard).toBe('1');
  });

  it('knows the built-in metrics with their kind and unit', () => {
    const r = new Registry(createRegistry(limits), 1);
    expect(r.lookupName('cpu_usage')).toEqual({ name: 'cpu_usage', kind: 'gauge', unit: 'percent' });
    expect(r.lookupName('throughput')).toMatchObject({ kind: 'counter' });
    expect(r.lookupName('event_loop_lag')).toMatchObject({ kind: 'distribution', unit: 'ms' });
    expect(r.seriesCount()).toBe(0);
  });

  it('answers the cardinality limit with a clear error and keeps the series it has', () => {
    const r = new Registry(createRegistry({ ...limits, maxSeries: 16 }), 1);
    const ids = Array.from({ length: 16 }, (_, i) => r.seriesId('orders', { shop: String(i) }));
    expect(new Set(ids).size).toBe(16);
    expect(() => r.seriesId('orders', { shop: 'one-too-many' })).toThrow(CardinalityError);
    expect(() => r.seriesId('orders', { shop: 'one-too-many' })).toThrow(/series limit reached: maxSeries is 16 and orders\{shop="one-too-many"\} would be one more/);
    // Existing series still resolve to the same ids.
    expect(r.seriesId('orders', { shop: '3' })).toBe(ids[3]);
    expect(r.seriesCount()).toBe(16);
  });

  it('rejects malformed names and tags, naming the field and the limit', () => {
    const r = new Registry(createRegistry(limits), 1);
    expect(() => r.seriesId('cpu usage', {})).toThrow('name "cpu usage" must match [a-zA-Z_:][a-zA-Z0-9_:]*');
    expect(() => r.seriesId('', {})).toThrow(/name must be 1 to 200 characters/);
    expect(() => r.seriesId('9lives', {})).toThrow(InvalidArgumentError);
    expect(() => r.seriesId('x'.repeat(201), {})).toThrow(/name must be 1 to 200 characters, got 201/);
    expect(() => r.seriesId('ok', { a: '1', b: '2', c: '3', d: '4', e: '5' })).toThrow('tags has 5 tags; the limit is maxTags 4');
    expect(() => r.seriesId('ok', { route: 'x'.repeat(17) })).toThrow('tags.route is 17 characters long; the limit is maxTagValueLength 16');
    expect(() => r.seriesId('ok', { 'bad-key': '1' })).toThrow(/tags.bad-key is not a valid tag name/);
    expect(() => r.seriesId('ok', { __reserved: '1' })).toThrow(/not start with __/);
    expect(() => r.seriesId('ok', { route: 'a\nb' })).toThrow('tags.route must not contain control characters');
    expect(() => r.seriesId('ok', { route: { nested: true } })).toThrow('tags.route must be a string, number or boolean, got object');
    expect(() => r.seriesId('ok', 'route=/a')).toThrow('tags must be an object of tag names to values');
    expect(r.seriesCount()).toBe(0);
  });

  it('refuses to redefine a metric with another kind or unit', () => {
    const r = new Registry(createRegistry(limits), 1);
    r.define('orders_total', 'counter', 'count');
    expect(() => r.define('orders_total', 'gauge', 'count')).toThrow(KindMismatchError);
    expect(() => r.seriesId('cpu_usage', {}, 'counter')).toThrow('metric "cpu_usage" is a gauge; it cannot be recorded as a counter');
    expect(r.define('orders_total', 'counter', 'count')).toEqual({ name: 'orders_total', kind: 'counter', unit: 'count' });
  });

  it('holds a name another thread defined between prepare() and commit() to the kind and unit given, adding nothing', () => {
    const buffers = createRegistry(limits);
    const mine = new Registry(buffers, 1);
    const theirs = new Registry(buffers, 2);
    const asGauge = mine.prepare('jobs', { queue: 'a' }, 'gauge');
    const inBytes = mine.prepare('sent', {}, undefined, false, 'bytes');
    const anyKind = mine.prepare('waits', { queue: 'a' });
    theirs.seriesId('jobs', { queue: 'b' }, 'counter');
    theirs.seriesId('sent', { queue: 'b' }, 'counter', false, 'count');
    theirs.seriesId('waits', { queue: 'b' }, 'gauge');
    const before = mine.seriesCount();
    expect(() => mine.commit([asGauge as never])).toThrow('metric "jobs" is a counter; it cannot be recorded as a gauge');
    expect(() => mine.commit([inBytes as never])).toThrow('metric "sent" is already defined as a counter (unit: count); it cannot be redefined as a counter (unit: bytes)');
    expect(mine.seriesCount()).toBe(before);
    // Neither given: the name is taken as the other thread defined it, as a known name is.
    const [id] = mine.commit([anyKind as never]);
    expect(mine.info(id!).kind).toBe('gauge');
    // A known name is held to a given unit at prepare() as well.
    expect(() => mine.seriesId('sent', { queue: 'c' }, undefined, false, 'ms')).toThrow(KindMismatchError);
    expect(mine.seriesId('sent', { queue: 'c' }, undefined, false, 'count')).toBeGreaterThanOrEqual(0);
  });

  it('gives the same ids to every thread, interning concurrently through shared memory', async () => {
    const buffers = createRegistry({ maxSeries: 16384, maxTags: 4, maxTagValueLength: 16 });
    const count = 10_000;
    // [0] workers ready, [1] go, [2], [3] each worker's progress (see the fixture).
    const sync = new Int32Array(new SharedArrayBuffer(16));
    // Each thread adds the series in another order, so that they append different ones at
    // the same moment (in the same order, racing appends would write the same bytes).
    const run = (slot: number): Promise<number[]> =>
      new Promise((resolve, reject) => {
        const w = new Worker(new URL('./fixtures/intern.mjs', import.meta.url), { workerData: { registry: buffers, count, sync, slot, descending: slot === 1 } });
        w.once('message', resolve);
        w.once('error', reject);
      });
    const workers = Promise.all([run(0), run(1)]);
    /** Waits (a hang guard of 20 s) until `ok` holds of the shared cells. */
    const until = (ok: () => boolean, what: string): void => {
      const deadline = Date.now() + 20_000;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        Atomics.wait(sync, 0, Atomics.load(sync, 0), 5);
      }
    };
    until(() => Atomics.load(sync, 0) === 2, 'both workers to be ready');
    Atomics.store(sync, 1, 1);
    Atomics.notify(sync, 1);
    // This thread interns only once both workers are interning: the three run at once.
    until(() => Atomics.load(sync, 2) > 0 && Atomics.load(sync, 3) > 0, 'both workers to intern');
    const main = new Registry(buffers, 1);
    // From the middle outwards, an order neither worker uses.
    const mine = new Array<number>(count);
    for (let k = 0; k < count; k++) {
      const i = count / 2 + (k % 2 ? -1 : 1) * Math.ceil(k / 2);
      mine[i] = main.seriesId('shared_metric', { n: String(i) });
    }
    const [a, b] = await workers;
    const local = Array.from({ length: count }, (_, i) => main.seriesId('shared_metric', { n: String(i) }));
    expect(mine).toEqual(local);
    expect(a).toEqual(local);
    expect(b).toEqual(local);
    expect(new Set(local).size).toBe(count);
    expect(main.seriesCount()).toBe(count);
  });

  it("a hub's member series takes its instance tag beyond maxTags, as does its stored catalog restored; no other series does", () => {
    const r = new Registry(createRegistry(limits), 1);
    const four = { a: '1', b: '2', c: '3', d: '4' };
    expect(r.info(r.seriesId('rt', { ...four, instance: 'm' }, undefined, true)).tags).toEqual({ ...four, instance: 'm' });
    expect(() => r.seriesId('rt', { ...four, instance: 'n' })).toThrow('has 5 tags; the limit is maxTags 4');
    expect(() => r.seriesId('rt', { ...four, e: '5' }, undefined, true)).toThrow('has 5 tags; the limit is maxTags 4');
    expect(() => r.seriesId('rt', { ...four, e: '5', instance: 'm' }, undefined, true)).toThrow("has 6 tags; the limit is maxTags 4 and the hub's instance");
    const restored = new Registry(createRegistry(limits), 1);
    expect(restoreCatalog(restored, [{ name: 'rt', tags: { ...four, instance: 'm' }, kind: 'distribution', unit: 'ms', own: false, newest: null }])).toEqual({ total: 1, registered: 1, ids: restored.find('rt'), headroom: 0, leftOut: 0, failed: 0, reasons: [] });
    expect(restored.find('rt', { instance: 'm' })).toHaveLength(1);
  });
  it('keeps the info of a series it adds from what it was given: the thread that adds a series neither encodes its key twice nor decodes it, nor keeps a long key twice', () => {
    // At the tag limits a key is 786 KB: each encoding took a host thread 1-2 ms, the decoding 7.
    const wide = { maxSeries: 8, maxTags: 8, maxTagValueLength: 512 };
    const buffers = createRegistry(wide);
    const r = new Registry(buffers, 1);
    const tags = Object.fromEntries(Array.from({ length: 8 }, (_, k) => [`t${k}`, `${k}`.padEnd(512, '€')]));
    const encode = vi.spyOn(TextEncoder.prototype, 'encode');
    const keyAt = vi.spyOn(SharedTable.prototype, 'keyAt');
    try {
      const id = r.seriesId('wide_series', tags, 'gauge');
      const info = r.info(id);
      expect(encode.mock.calls.filter(([s]) => typeof s === 'string' && s.length > 4096)).toHaveLength(1);
      expect(keyAt).not.toHaveBeenCalled();
      // As another thread's view decodes it from the key, frozen as every info is.
      expect(info).toEqual(new Registry(buffers, 2).info(id));
      expect(info).toEqual({ id, name: 'wide_series', tags, kind: 'gauge', unit: '' });
      expect(Object.isFrozen(info.tags)).toBe(true);
      // Nor does it keep a second copy of such a key in its cache of keys looked up (the host's
      // heap held 512 KB a series at the tag limits); it finds the series again all the same.
      const cache = (r as unknown as { series: { cache: Map<string, number> } }).series.cache;
      expect([...cache.keys()].filter((k) => k.length > 4096)).toEqual([]);
      expect(r.seriesId('wide_series', { ...tags })).toBe(id);
      expect([...cache.keys()].filter((k) => k.length > 4096)).toEqual([]);
    } finally {
      encode.mockRestore();
      keyAt.mockRestore();
    }
  });

  it('takes series of the longest name and tags the limits allow until maxSeries, and another thread reads them', async () => {
    const wide = { maxSeries: 64, maxTags: 16, maxTagValueLength: 128 };
    const buffers = createRegistry(wide);
    const r = new Registry(buffers, 1);
    // A view made on another thread before any of them: the arenas grow under it.
    const reader = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       import(workerData.url).then(({ Registry }) => {
         const r = new Registry(workerData.buffers, 7);
         parentPort.postMessage('ready');
         parentPort.once('message', (id) => parentPort.postMessage(r.info(id)));
       });`,
      { eval: true, workerData: { buffers, url: new URL('../dist/src/engine/registry.js', import.meta.url).href } },
    );
    await new Promise((resolve) => reader.once('message', resolve));
    // 200-character names, 16 tag names of 100 characters, values of 128 three-byte characters: 7,976 bytes a key.
    const tagsOf = (i: number): Record<string, string> => Object.fromEntries(Array.from({ length: 16 }, (_, k) => [`${String.fromCharCode(97 + k)}`.repeat(100), `${i}`.padEnd(128, '€')]));
    const nameOf = (i: number): string => `m${i}`.padEnd(200, '_');
    const ids: number[] = [];
    for (let i = 0; i < 64; i++) ids.push(r.seriesId(nameOf(i), tagsOf(i)));
    expect(r.applicationSeriesCount()).toBe(64);
    expect(() => r.seriesId(nameOf(64), tagsOf(64))).toThrow(CardinalityError);
    expect(r.info(ids[63]!)).toMatchObject({ name: nameOf(63), tags: tagsOf(63) });
    reader.postMessage(ids[63]);
    const seen = await new Promise((resolve) => reader.once('message', resolve));
    await reader.terminate();
    expect(seen).toMatchObject({ name: nameOf(63), tags: tagsOf(63) });
  });

  it('says, when a string arena is at its most, how big it is and what to shorten', () => {
    const table = new SharedTable(createSharedTable({ capacity: 16, arenaBytes: 64, maxArenaBytes: 256, extraInts: 1 }), 1);
    // It grows from 64 bytes to 256, and not past them.
    for (let i = 0; i < 4; i++) table.intern(`${i}`.padEnd(64, 'k'), [0], () => new CardinalityError('full'));
    const full = (() => {
      try {
        table.intern('x'.padEnd(10, 'k'), [0], () => new CardinalityError('full'));
      } catch (error) {
        return error as CapacityError;
      }
    })();
    expect(full).toBeInstanceOf(CapacityError);
    expect(full!.message).toMatch(/its string arena, which holds the names and tags \(UTF-8\), is at its most, 256 bytes, and 10 bytes more were needed; shorten the names or tags/);
  });
});
