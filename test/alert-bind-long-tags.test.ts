/**
 * The alert actor binding new series: it decodes the tags only of series a rule names, and
 * beats after each it decodes. At the tag limits (64 tags of 4,096 characters) a series' tags
 * are 786 KB, 7-8 ms to decode: the actor decoded every new series', rule or none, and 100 of
 * them in one round went past the watchdog's grace ("no heartbeat for 1310 ms ... hung").
 */
import { describe, expect, it } from 'vitest';
import { AlertEvaluator } from '../dist/src/alerts/evaluator.js';
import { parseAlertRule, type AlertRule, type AlertRuleInput } from '../dist/src/alerts/schema.js';
import { Registry, createRegistry, type SeriesInfo } from '../dist/src/engine/registry.js';
import { createStore } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';

const T0 = 1_800_000_000_000;
const MiB = 1024 * 1024;

/** The alert actor's view of the registry: another thread's, that notes each series whose tags it decoded. */
class ActorRegistry extends Registry {
  readonly decoded = new Set<number>();
  override info(id: number): SeriesInfo {
    this.decoded.add(id);
    return super.info(id);
  }
}

function setup() {
  const buffers = createRegistry({ maxSeries: 256, maxTags: 8, maxTagValueLength: 64 });
  // The host records; the actor's thread has its own view, as in the monitor.
  const host = new Registry(buffers, 1);
  const actor = new ActorRegistry(buffers, 2);
  const store = createStore({ maxSeries: 256, rawCapacity: 64, bucketCapacity: 60, rollupCapacity: 60, intervalMs: 1000, rollupMs: 60_000, logBytes: 4 * MiB, rollupLogBytes: 4 * MiB, poolBytes: 4 * MiB });
  const evaluator = new AlertEvaluator(actor, new StoreReader(store));
  /** At each beat, how many series the actor had decoded. */
  const beats: number[] = [];
  evaluator.beat = () => beats.push(actor.decoded.size);
  let n = 0;
  const rule = (input: AlertRuleInput): AlertRule => {
    const parsed = parseAlertRule(input);
    const r: AlertRule = { ...parsed, id: `r${++n}`, name: `rule ${n}`, createdAt: T0 };
    evaluator.addRule(r, T0);
    return r;
  };
  let pods = 0;
  const register = (name: string, count: number): number[] => Array.from({ length: count }, () => host.seriesId(name, { pod: `p${++pods}`, zone: 'z'.repeat(64) }));
  return { actor, evaluator, beats, rule, register };
}

describe('alert actor binding series of long tags', () => {
  it('never decodes the tags of a series no rule names', () => {
    const s = setup();
    s.register('big', 40);
    // No rule: the round that finds 40 new series decodes none.
    s.evaluator.onData(T0 + 10);
    expect(s.actor.decoded.size).toBe(0);
    // A rule of another metric (window and last): still none of big's.
    s.rule({ metric: 'other', operator: '>', threshold: 1 });
    s.rule({ metric: 'other', operator: '>', threshold: 1, aggregation: 'avg', window: 60 });
    const others = s.register('other', 3);
    s.register('big', 40);
    s.evaluator.onData(T0 + 20);
    s.evaluator.onBucket(T0 + 1000, T0 + 1000);
    expect([...s.actor.decoded].sort((a, b) => a - b)).toEqual(others);
  });

  it("decodes only the series a rule's tags match, of the metric it names", () => {
    const s = setup();
    const ids = s.register('big', 20);
    s.rule({ metric: 'big', operator: '>', threshold: 1, tags: { pod: 'p3' } });
    expect([...s.actor.decoded]).toEqual([ids[2]]);
    // A value that is only a prefix of the series' (p1 of p10 to p19) is no match.
    s.rule({ metric: 'big', operator: '>', threshold: 1, aggregation: 'avg', window: 60, tags: { pod: 'p1', zone: 'z'.repeat(64) } });
    expect([...s.actor.decoded].sort((a, b) => a - b)).toEqual([ids[0], ids[2]]);
    const later = s.register('big', 5);
    s.evaluator.onData(T0 + 10);
    expect([...s.actor.decoded].sort((a, b) => a - b)).toEqual([ids[0], ids[2]]);
    s.rule({ metric: 'big', operator: '>', threshold: 1, tags: { pod: `p${20 + 4}` } });
    expect([...s.actor.decoded].sort((a, b) => a - b)).toEqual([ids[0], ids[2], later[3]]);
    // And each rule bound what it matched, with its tags.
    const bound = [...(s.evaluator as unknown as { byFingerprint: Map<string, { id: number; tags: Record<string, string> }> }).byFingerprint.values()];
    expect(bound.map((b) => [b.id, b.tags.pod]).sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual([[ids[0], 'p1'], [ids[2], 'p3'], [later[3], 'p24']]);
  });

  it('beats after each series whose tags it decodes, a new rule binding them and a round finding new ones', () => {
    const s = setup();
    s.register('big', 30);
    s.rule({ metric: 'big', operator: '>', threshold: 1, aggregation: 'avg', window: 60 });
    expect(s.actor.decoded.size).toBe(30);
    s.register('big', 60);
    s.evaluator.onData(T0 + 10);
    expect(s.actor.decoded.size).toBe(90);
    // One series decoded between two beats at most, and none after the last.
    expect(s.beats.length).toBeGreaterThanOrEqual(90);
    let prev = 0;
    for (const at of s.beats) {
      expect(at - prev).toBeLessThanOrEqual(1);
      prev = at;
    }
    expect(prev).toBe(90);
  });
});
