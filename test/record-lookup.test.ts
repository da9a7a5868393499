/**
 * record(name, v, tags) finds its series through the producer's per-thread trie (the name
 * seen last, then per tag a dictionary of values): whatever the caller does to its tag
 * objects, each sample lands in the series that the registry gives for the name and the
 * tags as they are at the call. The ring's slots say where each sample went.
 */
import { describe, expect, it } from 'vitest';
import { createControl } from '../dist/src/engine/control.js';
import { Producer } from '../dist/src/engine/producer.js';
import { MAIN_LOCK_TAG, Registry, createRegistry, type Tags } from '../dist/src/engine/registry.js';
import { HEADER_BYTES, RingWriter, createRing } from '../dist/src/engine/ring.js';
import { InvalidArgumentError } from '../dist/src/index.js';
import { seeded as random } from './fixtures/seeded.mjs';

const CAPACITY = 1 << 16;

function setup(): { producer: Producer; registry: Registry; idAt: (k: number) => number; pushed: () => number } {
  const ring = createRing(CAPACITY);
  const writer = new RingWriter(ring, createControl(), 'drop');
  const buffers = createRegistry({ maxSeries: 1000, maxTags: 8, maxTagValueLength: 64 });
  const ids = new Int32Array(ring, HEADER_BYTES, CAPACITY);
  return {
    producer: new Producer(writer, new Registry(buffers, MAIN_LOCK_TAG)),
    // A second view of the same registry: its answers do not go through the producer's trie.
    registry: new Registry(buffers, MAIN_LOCK_TAG),
    idAt: (k) => ids[k & (CAPACITY - 1)]!,
    pushed: () => writer.w,
  };
}

describe('record(name, v, tags) through the trie', () => {
  it('follows a tag object changed after its first use into the series of its new values', () => {
    const { producer, registry, idAt, pushed } = setup();
    const tags: Tags = { route: '/a', method: 'GET' };
    const expectSeries = (want: Tags): void => {
      producer.record('req', 1, tags);
      expect(idAt(pushed() - 1)).toBe(registry.seriesId('req', want));
    };
    expectSeries({ route: '/a', method: 'GET' });
    tags.route = '/b';
    expectSeries({ route: '/b', method: 'GET' });
    tags.method = 'POST';
    expectSeries({ route: '/b', method: 'POST' });
    delete tags.method;
    expectSeries({ route: '/b' });
    tags.status = 200;
    expectSeries({ route: '/b', status: '200' });
    tags.route = undefined;
    expectSeries({ status: '200' });
    tags.status = 'undefined';
    expectSeries({ status: 'undefined' });
    expect(new Set(Array.from({ length: pushed() }, (_, k) => idAt(k))).size).toBe(7);
  });

  it('takes inherited tags as the registry does, into the series of the same plain tags', () => {
    const { producer, registry, idAt, pushed } = setup();
    const withDefaults = Object.create({ region: 'eu' }) as Tags;
    withDefaults.route = '/a';
    const plain: Tags = { route: '/a', region: 'eu' };
    const want = registry.seriesId('req', plain);
    expect(registry.seriesId('req', withDefaults)).toBe(want);
    for (const tags of [withDefaults, plain, withDefaults, plain]) {
      producer.record('req', 1, tags);
      expect(idAt(pushed() - 1)).toBe(want);
    }
    expect(registry.seriesId('req', { route: '/a' })).not.toBe(want);
  });

  it('gives every shape its own series over random names, key orders, value types and mutations (many seeds)', () => {
    const names = ['alpha', 'beta', 'gamma'];
    const keys = ['k1', 'k2', 'k3'];
    // Values that String() maps together (1 and '1', true and 'true'), that a plain object
    // would resolve through its prototype ('constructor', '__proto__'), undefined (no tag)
    // beside 'undefined', and invalid ones (null, an object) that must throw every time.
    const values: unknown[] = ['x', 'y', '', 1, '1', 2.5, '2.5', true, 'true', false, undefined, 'undefined', 'constructor', '__proto__', 'toString', null, { a: 1 }];
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = random(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const { producer, registry, idAt, pushed } = setup();
      const kept: Record<string, unknown>[] = [];
      for (let i = 0; i < 400; i++) {
        let tags: Record<string, unknown> | undefined;
        const r = rnd();
        if (r < 0.1) tags = undefined;
        else if (r < 0.45 && kept.length > 0) {
          // An object used before, changed in place: a value, a key added or removed.
          tags = pick(kept);
          const key = pick(keys);
          const m = rnd();
          if (m < 0.6) tags[key] = pick(values);
          else if (m < 0.8) delete tags[key];
          else tags = { ...tags };
        } else {
          tags = {};
          for (const key of [...keys].sort(() => rnd() - 0.5)) if (rnd() < 0.6) tags[key] = pick(values);
          kept.push(tags);
        }
        const name = pick(names);
        const shape = `seed ${seed}, call ${i}: ${name} ${JSON.stringify(tags, (_, v) => (v === undefined ? '<undefined>' : v))}`;
        let want: number | Error;
        try {
          want = registry.seriesId(name, tags);
        } catch (error) {
          want = error as Error;
        }
        const before = pushed();
        if (want instanceof Error) {
          expect(() => producer.record(name, 1, tags as Tags), shape).toThrow(InvalidArgumentError);
          expect(pushed(), shape).toBe(before);
        } else {
          producer.record(name, 1, tags as Tags);
          expect(pushed(), shape).toBe(before + 1);
          expect(idAt(before), shape).toBe(want);
        }
      }
    }
  });

  it('sends each value of a narrow or a wide level to its own series, however the value is passed', () => {
    const { producer, registry, idAt, pushed } = setup();
    // Levels of 1 to 7 values: up to four a node keeps in fields beside its dictionary, past
    // that only the dictionary. Each value comes back as the same string, as an equal string
    // built at run time (another object), and, for the numeric ones, as a number.
    for (let width = 1; width <= 7; width++) {
      const name = `wide${width}`;
      const methods = Array.from({ length: width }, (_, i) => (i % 2 === 0 ? `m${i}` : String(100 + i)));
      const check = (method: string | number, route: string): void => {
        producer.record(name, 1, { route, method });
        expect(idAt(pushed() - 1), `${name} ${route} ${method}`).toBe(registry.seriesId(name, { route, method: String(method) }));
      };
      for (let round = 0; round < 3; round++) {
        for (const route of ['/a', '/b']) {
          for (let i = 0; i < width; i++) {
            const m = methods[(i + round) % width]!;
            check(m, route);
            check([...m].join(''), route);
            if (m.startsWith('1')) check(Number(m), route);
          }
        }
      }
    }
  });
});
