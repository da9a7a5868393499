/**
 * The registry's name table and its shares. A metric() given a kind whose series was refused
 * kept its name (defined first, then refused at maxSeries): a loop of new names at maxSeries
 * 100 filled the table with names of no series, and every new name after it was refused as
 * `names` (2,121 of them) instead of maxSeries. And the table held nothing back for the
 * monitor: an application that filled it made every own series of a new name fail, its
 * readings lost for good, where the series table holds OWN_SERIES apart for them.
 */
import { describe, expect, it } from 'vitest';
import { CardinalityError, KindMismatchError, type PerformanceMonitor } from '../dist/src/index.js';
import { OWN_SERIES, Registry, createRegistry, nameCapacity, type RegistryBuffers } from '../dist/src/engine/registry.js';
import { restoreCatalog } from '../dist/src/storage/restore.js';
import { caught, monitorStarter } from './helpers.js';

const started = monitorStarter();

/** A view of the monitor's shared registry, to read its name table. */
function registryOf(m: PerformanceMonitor): Registry {
  return new Registry((m as unknown as { registryBuffers: RegistryBuffers }).registryBuffers, 99);
}

describe('a metric() given a kind whose series is refused', () => {
  it('takes no name: the names of refused series stay free, and a new name is refused at maxSeries', async () => {
    const m = await started({ maxSeries: 100 });
    let made = 0;
    for (let i = 0; i < 2000; i++) {
      try {
        m.metric(`user_name_${i}`, {}, { kind: 'counter' });
        made++;
      } catch {
        // swallowed, as a wrapper around a metrics call does
      }
    }
    expect(made).toBe(100);
    expect(m.status().series.refused).toMatchObject({ total: 1900, names: 0 });
    const e = caught<CardinalityError>(() => m.record('x_new', 1, { a: '1' }));
    expect(e).toBeInstanceOf(CardinalityError);
    expect(e.message).toMatch(/^series limit reached: maxSeries is 100 and x_new\{a="1"\} would be one more/);
    expect(m.status().series.refused).toMatchObject({ total: 1901, names: 0 });
    // The name table holds the names of the 100 series made, none of the refused ones.
    const users = registryOf(m)
      .listNames()
      .filter((n) => n.name.startsWith('user_name_'));
    expect(users.map((n) => n.name).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `user_name_${i}`).sort());
    expect(users.every((n) => n.kind === 'counter')).toBe(true);
  });

  it('gives a new name its kind and unit with its series, and checks a known name as define() does', async () => {
    const m = await started({ maxSeries: 100 });
    const h = m.metric('queue_wait', { q: 'a' }, { kind: 'gauge', unit: 'ms' });
    expect(h.record).toBeTypeOf('function');
    expect(registryOf(m).lookupName('queue_wait')).toEqual({ name: 'queue_wait', kind: 'gauge', unit: 'ms' });
    // The unit alone: the kind is the name's.
    expect(() => m.metric('queue_wait', { q: 'b' }, { unit: 'ms' })).not.toThrow();
    const e = caught<KindMismatchError>(() => m.metric('queue_wait', { q: 'c' }, { unit: 'seconds' }));
    expect(e).toBeInstanceOf(KindMismatchError);
    expect(e.message).toBe('metric "queue_wait" is already defined as a gauge (unit: ms); it cannot be redefined as a gauge (unit: seconds)');
    // A new name given a kind or unit that is none: refused as define() refuses it, no name taken.
    expect(caught(() => m.metric('new_wait', {}, { kind: 'histogram' as never })).message).toMatch(/^kind must be one of gauge, counter, distribution, got "histogram"/);
    expect(caught(() => m.metric('new_wait', {}, { unit: 'minutes' as never })).message).toMatch(/^unit must be one of "", ms, bytes/);
    expect(registryOf(m).lookupName('new_wait')).toBeUndefined();
  });
});

describe("the name table's share held back for the monitor's own names", () => {
  const limits = { maxSeries: 16, maxTags: 4, maxTagValueLength: 16 };

  /** Defines new names of the application's until the table refuses one; how many it took. */
  function fillNames(r: Registry): number {
    for (let i = 0; ; i++) {
      try {
        r.define(`app_name_${i}`, 'gauge');
      } catch (error) {
        expect(error).toBeInstanceOf(CardinalityError);
        return i;
      }
    }
  }

  it('leaves the application maxSeries names of its own, the built-in ones apart', () => {
    const r = new Registry(createRegistry(limits), 1);
    expect(fillNames(r)).toBe(nameCapacity(limits.maxSeries));
    expect(nameCapacity(limits.maxSeries)).toBe(16);
    expect(r.applicationNameCount()).toBe(16);
    const e = caught<CardinalityError>(() => r.define('one_more', 'gauge'));
    expect(e.message).toBe(`metric name limit reached: the registry holds 16 metric names of the application's (as many as maxSeries; the built-in names and the monitor's own are apart) and "one_more" would be one more; record fewer distinct metric names (put the varying part in a tag) or raise maxSeries`);
    // A built-in name is defined already: the application records it all the same.
    expect(r.seriesId('response_time', { route: '/a' })).toBeGreaterThanOrEqual(0);
  });

  it("leaves a monitor's application maxSeries names, the monitor's own metrics apart", async () => {
    const m = await started({ maxSeries: 100 });
    let defined = 0;
    for (let i = 0; i < 200; i++) {
      try {
        m.define({ name: `app_name_${i}`, kind: 'gauge' });
        defined++;
      } catch (error) {
        expect(error).toBeInstanceOf(CardinalityError);
      }
    }
    expect(defined).toBe(100);
    expect(m.status().series.refused.names).toBe(100);
  });

  it("registers an own series of a new name once the application filled its names, and restores one", () => {
    const buffers = createRegistry(limits);
    const r = new Registry(buffers, 1);
    fillNames(r);
    const id = r.ownSeriesId('monitor_lazy_own', { part: 'a' });
    expect(r.isOwn(id)).toBe(true);
    expect(r.info(id)).toMatchObject({ name: 'monitor_lazy_own', kind: 'distribution', unit: '' });
    expect(r.applicationNameCount()).toBe(16);
    // A stored own series of a name this monitor no longer defines, restored at start.
    const restored = restoreCatalog(r, [{ name: 'monitor_old_own', tags: {}, kind: 'gauge', unit: 'ms', own: true, newest: null }]);
    expect(restored).toMatchObject({ registered: 1, failed: 0 });
    expect(r.lookupName('monitor_old_own')).toEqual({ name: 'monitor_old_own', kind: 'gauge', unit: 'ms' });
    expect(r.applicationNameCount()).toBe(16);
  });

  it("restores a catalog within the application's names, the names of series left out while they last", () => {
    const r = new Registry(createRegistry(limits), 1);
    const entries = Array.from({ length: 40 }, (_, i) => ({ name: `stored_${i}`, tags: {}, kind: 'gauge', unit: '', own: false, newest: null }));
    expect(restoreCatalog(r, entries)).toMatchObject({ total: 40, registered: 16, leftOut: 24, failed: 0, reasons: [] });
    expect(r.applicationNameCount()).toBe(16);
  });

  it('refuses past its own share with its own error, counted as no application refusal', () => {
    const r = new Registry(createRegistry(limits), 1);
    let refused = 0;
    r.onRefused = () => refused++;
    const own = r.listNames().length;
    for (let i = own; i < OWN_SERIES; i++) r.defineOwn(`monitor_own_${i}`, 'gauge', '');
    const e = caught<CardinalityError>(() => r.ownSeriesId('monitor_one_more', undefined));
    expect(e.message).toBe(`the ${OWN_SERIES} metric names held back for the built-in and the monitor's own metrics are all used; "monitor_one_more" was not added`);
    expect(refused).toBe(0);
    // The application's share is untouched.
    expect(fillNames(r)).toBe(16);
  });
});
