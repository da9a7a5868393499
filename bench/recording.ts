/**
 * Where the recording thread's time goes: `npm run bench:recording`.
 *
 * The same 4M samples a pass, part by part: bare stores into a ring with its write index
 * published every 64 (the floor of the design), RingWriter.push alone, push behind the value
 * check record() makes, the bound handle's record(v), and record(name, v, tags) with fresh tag
 * objects (route from 16, method from 2: 32 series, each met once every 32 calls, so a cache
 * of the last value at a level of the lookup is of no use) and with one tag object reused.
 * Rates are samples per second of the recording thread's own CPU (/proc/thread-self), not of
 * the wall clock: the machine is shared, and a thread that was descheduled did not spend
 * that time recording. That clock moves in scheduler ticks (4 ms here), so each reading is
 * taken after a 0.1 ms wait that books the thread's time (settled-cpu.ts): a pass of 4M
 * samples (20–40 ms) read in ticks could only come out as 105, 131, 150 or 175M/s.
 * The collector drains beside it; a flush empties the ring between passes.
 */
import { cpus } from 'node:os';
import { createControl } from '../src/engine/control.js';
import { HEADER_BYTES, READ, RingWriter, WRITE, createRing } from '../src/engine/ring.js';
import { PerformanceMonitor } from '../src/index.js';
import { settledThreadCpuMs } from './settled-cpu.js';
import { values } from './values.js';

const N = 1 << 22;
const PASSES = Number(process.env.BENCH_PASSES ?? 7);
const CAPACITY = 1 << 23;
const MASK = CAPACITY - 1;
/**
 * The monitor's ring (BENCH_RING, default the bare ring's 8M slots): its collector wakes when
 * it is half full, so with a ring of fewer than twice a pass's samples the collector drains
 * while the thread records, as it does in a service, and the thread pays for sharing the
 * ring's lines (bench:ingest's recording rows run a 2M ring with 1M-sample passes).
 */
const MONITOR_RING = Number(process.env.BENCH_RING ?? CAPACITY);
/** record()'s value check: finite and under 2^333 in magnitude (src/engine/producer.ts). */
const SCALE = 2 ** -333;

async function main(): Promise<void> {
  const ring = createRing(CAPACITY);
  const hdr = new Int32Array(ring, 0, HEADER_BYTES / 4);
  const ids = new Int32Array(ring, HEADER_BYTES, CAPACITY);
  const vals = new Float64Array(ring, HEADER_BYTES + 4 * CAPACITY, CAPACITY);
  const writer = new RingWriter(ring, createControl(), 'drop');
  const free = (): void => {
    writer.publish(false);
    Atomics.store(hdr, READ, Atomics.load(hdr, WRITE));
  };
  const m = new PerformanceMonitor({ storage: 'memory', ringCapacity: MONITOR_RING, system: { enabled: false }, runtime: { enabled: false } });
  await m.start();
  const handle = m.metric('bench_recording', { route: '/bench' });
  const routes = Array.from({ length: 16 }, (_, i) => `/r${i}`);
  const methods = ['GET', 'POST'];
  const reused = { route: '/r0', method: 'GET' };
  let w = 0;
  const cases: [string, () => void | Promise<void>][] = [
    ['bare stores, write index published every 64 (inline loop)', () => {
      for (let i = 0; i < N; i++) {
        const k = w & MASK;
        ids[k] = 5;
        vals[k] = values[i & 4095]!;
        w++;
        if ((w & 63) === 0) Atomics.store(hdr, WRITE, w);
      }
      Atomics.store(hdr, READ, w);
    }],
    ['RingWriter.push(id, v)', () => {
      for (let i = 0; i < N; i++) writer.push(5, values[i & 4095]!);
      free();
    }],
    ['value check + RingWriter.push', () => {
      for (let i = 0; i < N; i++) {
        const v = values[i & 4095]!;
        const x = v * SCALE;
        if (x - x !== 0) throw new Error('bad value');
        writer.push(5, v);
      }
      free();
    }],
    ['handle.record(v)', () => {
      for (let i = 0; i < N; i++) handle.record(values[i & 4095]!);
      return m.flush().then(() => {});
    }],
    ['record(name, v, {route, method}), fresh tag objects, 32 series', () => {
      for (let i = 0; i < N; i++) m.record('bench_named', values[i & 4095]!, { route: routes[i & 15]!, method: methods[(i >> 4) & 1]! });
      return m.flush().then(() => {});
    }],
    ['record(name, v, tags), one tag object reused', () => {
      for (let i = 0; i < N; i++) m.record('bench_named', values[i & 4095]!, reused);
      return m.flush().then(() => {});
    }],
  ];
  const rates = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (let p = 0; p < PASSES; p++) {
    for (const [name, run] of cases) {
      const c0 = settledThreadCpuMs();
      const pending = run();
      const ms = settledThreadCpuMs() - c0;
      await pending;
      rates.get(name)!.push(N / ms / 1000);
    }
  }
  await m.stop();
  console.log(`\nperfwatch recording thread, part by part — ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
  console.log(`${PASSES} passes of ${N.toLocaleString('en-US')} samples, the monitor's ring ${MONITOR_RING.toLocaleString('en-US')} slots; M samples per second of the thread's CPU, median (min – max)\n`);
  console.log('| case | M samples/s | ns per sample |');
  console.log('|---|---:|---:|');
  for (const [name, r] of rates) {
    process.stderr.write(`  ${name}: passes ${r.map((x) => x.toFixed(0)).join(' ')}\n`);
    const s = [...r].sort((a, b) => a - b);
    const med = s[Math.floor(s.length / 2)]!;
    console.log(`| ${name} | ${med.toFixed(0)} (${s[0]!.toFixed(0)} – ${s[s.length - 1]!.toFixed(0)}) | ${(1000 / med).toFixed(1)} |`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
