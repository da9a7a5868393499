/**
 * The watchdog asked to start an actor whose instance still runs (a start() after a stop whose
 * termination outlived its bound): a gated actor's instance closes what it holds open in native
 * code before it is terminated (src/actors/close-first.ts), and its close goes through its
 * gate. The gate opened for the new instance at once refused that close, which then waited at
 * the gate for the termination: the storage actor's connection was left open to its thread's
 * end, where libsql closes it twice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Watchdog } from '../dist/src/actors/watchdog.js';
import { waitFor } from './helpers.js';

const ACTOR = new URL('./fixtures/gated-actor.mjs', import.meta.url).href;
const GATE_MODULE = new URL('../dist/src/actors/native-gate.js', import.meta.url).href;
const CELLS = { at: 0, by: 1, tid: 2, gate: 16, closed: 20 };

let dog: Watchdog | undefined;
afterEach(() => {
  dog?.handle({ op: 'terminate', actor: 'gated' });
  dog = undefined;
});

describe('the watchdog replacing a gated instance that still runs', () => {
  it('lets the instance close what it holds, through its gate, before it opens the gate for its successor, and starts no other', async () => {
    const control = new SharedArrayBuffer(128);
    const f64 = new Float64Array(control);
    const i32 = new Int32Array(control);
    dog = new Watchdog(() => {}, () => 0);
    const start = (): void =>
      dog!.handle({ op: 'start', actor: 'gated', url: ACTOR, data: { control, cells: CELLS, gateModule: GATE_MODULE }, beat: { control, at: CELLS.at, by: CELLS.by, tid: CELLS.tid, gate: CELLS.gate } });
    start();
    await waitFor(() => (f64[CELLS.tid] === 4242 + 1 ? true : undefined), 15_000, 'the first instance');
    start();
    await waitFor(() => (f64[CELLS.tid] === 4242 + 2 ? true : undefined), 15_000, 'its successor');
    expect(Atomics.load(i32, CELLS.closed)).toBe(1);
    // The replaced instance's end started no instance of its own beside the successor (which
    // would take the gate from it): the successor still holds it, and beats.
    const beat = f64[CELLS.at]!;
    await waitFor(() => (f64[CELLS.at]! > beat + 300 ? true : undefined), 15_000, 'beats over 300 ms');
    expect(f64[CELLS.tid]).toBe(4242 + 2);
    expect(Atomics.load(i32, CELLS.gate) >>> 2).toBe(2);
  });
});
