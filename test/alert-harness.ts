/** A store, the collector's engine and an evaluator on synthetic time, as the collector and alert actor drive them. */
import { AlertEvaluator } from '../dist/src/alerts/evaluator.js';
import { parseAlertRule, type Alert, type AlertRule, type AlertRuleInput, type AlertTransition } from '../dist/src/alerts/schema.js';
import { createControl } from '../dist/src/engine/control.js';
import { Registry, createRegistry } from '../dist/src/engine/registry.js';
import { Engine } from '../dist/src/engine/engine.js';
import { RingWriter, TIME_MARK, createRing } from '../dist/src/engine/ring.js';
import { createStore } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import type { Watched } from '../dist/src/analysis/watched.js';

export const T0 = 1_800_000_000_000;
const MiB = 1024 * 1024;

export function harness(options: { bucketCapacity?: number; rollupCapacity?: number; logBytes?: number; intervalMs?: number } = {}) {
  const intervalMs = options.intervalMs ?? 1000;
  const registryBuffers = createRegistry({ maxSeries: 256, maxTags: 8, maxTagValueLength: 64 });
  const registry = new Registry(registryBuffers, 1);
  const buffers = createStore({ maxSeries: 256, rawCapacity: 64, bucketCapacity: options.bucketCapacity ?? 600, rollupCapacity: options.rollupCapacity ?? 60, intervalMs, rollupMs: 60_000, logBytes: options.logBytes ?? 4 * MiB, rollupLogBytes: 4 * MiB, poolBytes: 4 * MiB });
  const ring = createRing(1 << 14);
  const control = createControl();
  const producer = new RingWriter(ring, control, 'drop');
  const engine = new Engine({ control, registry: registryBuffers, store: buffers, rings: [ring], intervalMs, ownReadings: false, clock: () => h.now });
  engine.start(T0);
  // How far each series was judged: shared memory in the monitor, outliving an evaluator.
  const progress = new Float64Array(256).fill(Number.NaN);
  let ruleCount = 0;
  const transitions: AlertTransition[] = [];
  const h = {
    registry,
    evaluator: new AlertEvaluator(registry, new StoreReader(buffers), progress),
    rules: [] as AlertRule[],
    transitions,
    now: T0,
    rule(input: AlertRuleInput): AlertRule {
      const parsed = parseAlertRule(input);
      const rule: AlertRule = { ...parsed, id: `r${++ruleCount}`, name: parsed.name ?? `rule ${ruleCount}`, createdAt: h.now };
      h.evaluator.addRule(rule, h.now);
      h.rules.push(rule);
      return rule;
    },
    /** Records samples at time t without an evaluator looking (the alert actor is down). */
    unseen(t: number, samples: [name: string, value: number][]): void {
      h.now = t;
      for (const [name, value] of samples) producer.push(registry.seriesId(name, undefined), value);
      producer.publish();
      engine.pass(t);
    },
    /**
     * A new evaluator takes over, as a restarted alert actor does: the rules and alert states
     * (and `extra` ones), resumed; `watched`, when the monitor watched (a run begun since, as
     * after a restart of the process).
     */
    restart(extra: readonly Alert[] = [], watched?: Watched): void {
      const alerts = [...h.evaluator.alerts(), ...extra];
      h.evaluator = new AlertEvaluator(registry, new StoreReader(buffers), progress);
      if (watched) {
        h.evaluator.watched = watched;
        h.evaluator.watchedFrom = watched.earlier?.[0]?.from ?? watched.from;
      }
      h.evaluator.resume(h.rules, alerts, h.now);
    },
    /** Records samples at time t, drains them, and lets the evaluator see the drain (and any closed bucket). */
    at(t: number, samples: [name: string, value: number, tags?: Record<string, string>][] = []): void {
      h.now = t;
      const open = engine.bucketStart;
      for (const [name, value, tags] of samples) producer.push(registry.seriesId(name, tags), value);
      producer.publish();
      engine.pass(t);
      // The alert actor's order: new samples first, then the closed bucket, then timers;
      // then it sends the transitions and records how far it judged.
      h.evaluator.onData(t);
      if (engine.bucketStart !== open) h.evaluator.onBucket(engine.bucketStart, t);
      h.evaluator.onTimer(t);
      transitions.push(...h.evaluator.takeTransitions());
      h.evaluator.commitProgress();
    },
    /** Records samples at time t behind a time mark of time `mark` (a batch stamped by its producer). */
    marked(t: number, mark: number, samples: [name: string, value: number][]): void {
      producer.push(TIME_MARK, mark);
      for (const [name, value] of samples) producer.push(registry.seriesId(name, undefined), value);
      producer.push(TIME_MARK, Number.NaN);
      h.at(t);
    },
    states(): string[] {
      return transitions.map((t) => `${t.from}>${t.to}`);
    },
  };
  return h;
}
