/**
 * `npm run bench:minute-rollup`: the collector's bucket closes and minute rollups on one
 * thread, at 1M samples/s on a synthetic clock (10,000 samples every 10 ms, spread evenly over
 * the series, bench/values.ts's values), with a monitor's default store (a 32 MiB sketch log):
 * the CPU of the closes per second, of each minute's rollup, the buckets whose sketches the
 * rollups missed (sketchesLost) and the bytes of the writer's minute sketches.
 *
 * The writer is driven as the engine drives it (begin, sweep, rollup at each boundary, then a
 * drain), without the engine's own readings. BENCH_SERIES (comma-separated counts),
 * BENCH_SECONDS (synthetic seconds from a minute's start, 121 by default: two minute ends),
 * BENCH_LOG_MIB (the sketch log, 32 by default; 512 holds a minute of closes at 10,000
 * series: how long a rollup that merges its 60 buckets' runs from the log takes).
 */
import { RingReader, RingWriter, createRing } from '../src/engine/ring.js';
import { createControl } from '../src/engine/control.js';
import { createStore } from '../src/engine/store/layout.js';
import { StoreWriter } from '../src/engine/store/writer.js';
import { values } from './values.js';

const SERIES = (process.env.BENCH_SERIES ?? '100,1000,10000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 121);
const CHUNK = 10_000;
const PASS_MS = 10;
const MiB = 1024 * 1024;
const T0 = 1_800_000_000_000;
const LOG_MIB = Number(process.env.BENCH_LOG_MIB ?? 32);

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function run(series: number) {
  const store = createStore({ maxSeries: Math.max(10_000, series) + 128, rawCapacity: 256, bucketCapacity: 300, rollupCapacity: 360, intervalMs: 1000, rollupMs: 60_000, logBytes: LOG_MIB * MiB, rollupLogBytes: 32 * MiB, poolBytes: 32 * MiB });
  const ring = createRing(1 << 16);
  const producer = new RingWriter(ring, createControl(), 'drop');
  const reader = new RingReader(ring);
  const writer = new StoreWriter(store);
  writer.recover(T0, series);
  let now = T0;
  let v = 0;
  let closes = 0;
  const rollups: number[] = [];
  let minuteBytes = 0;
  for (let p = 0; p < (SECONDS * 1000) / PASS_MS; p++) {
    now += PASS_MS;
    if (writer.begin(now)) {
      const c0 = cpuMs();
      writer.sweep(Infinity);
      const c1 = cpuMs();
      const wrote = writer.rollup(series);
      const c2 = cpuMs();
      closes += c1 - c0;
      if (wrote > 0) {
        rollups.push(c2 - c1);
        minuteBytes = Math.max(minuteBytes, writer.minuteSketchBytes?.() ?? 0);
      }
    }
    for (let i = 0; i < CHUNK; i++) producer.push(v % series, values[v++ & 4095]!);
    producer.publish(false);
    writer.drain(reader, now, 1 << 20);
    writer.publish();
  }
  return { closes: closes / (SECONDS - 1), rollups, lost: writer.counters.sketchesLost, minuteBytes };
}

const rows = [];
for (const series of SERIES) {
  const r = run(series);
  rows.push({
    series,
    'closes, ms CPU a second': Number(r.closes.toFixed(2)),
    'minute rollups, ms CPU each': r.rollups.map((x) => x.toFixed(1)).join(', '),
    sketchesLost: r.lost,
    'minute sketches, MB': Number((r.minuteBytes / 1e6).toFixed(1)),
  });
}
console.table(rows);
console.log(`1M samples/s on a synthetic clock, ${SECONDS} s from a minute's start; default store, a ${LOG_MIB} MiB sketch log; ${new Date().toISOString()}`);
