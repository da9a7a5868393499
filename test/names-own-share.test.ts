/**
 * A metric() given a kind whose series was refused kept its name (defined first, then refused
 * at maxSeries): a loop of new names at maxSeries 100 filled the name table with names of no
 * series, and every new name after it was refused as `names` (2,121 of them) instead of
 * maxSeries.
 */
import { describe, expect, it } from 'vitest';
import { CardinalityError, KindMismatchError, type PerformanceMonitor } from '../dist/src/index.js';
import { Registry, type RegistryBuffers } from '../dist/src/engine/registry.js';
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
