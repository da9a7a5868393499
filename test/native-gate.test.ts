import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { closeFirst } from '../src/actors/close-first.js';
import { CONTROL_LAYOUT, STORAGE_GATE } from '../src/engine/control.js';
import { GATE_BUSY, GATE_FREE, GATE_SEALED, GATE_SHUT, GATE_WANTED, NativeGate, closeCellOf, abandonGate, gateSettled, gateWord, openGate, sealGate, shutGate } from '../src/actors/native-gate.js';

const cells = (): Int32Array => new Int32Array(new SharedArrayBuffer(8));

/**
 * A thread that enters the gate (cell 0, generation `gen`), says so in cell 1, and leaves once
 * cell 1 is set to 2 by the test: a call into native code that lasts as long as the test wants.
 */
function caller(c: Int32Array, gen: number): Worker {
  const code = `
    const { workerData } = require('node:worker_threads');
    const c = new Int32Array(workerData.sab);
    const free = workerData.free, busy = workerData.busy, wanted = workerData.wanted, shut = workerData.shut;
    if (Atomics.compareExchange(c, 0, free, busy) !== free) throw new Error('refused');
    Atomics.store(c, 1, 1);
    Atomics.notify(c, 1);
    while (Atomics.load(c, 1) !== 2) Atomics.wait(c, 1, 1, 50);
    if (Atomics.compareExchange(c, 0, busy, free) !== busy) {
      Atomics.compareExchange(c, 0, wanted, shut);
      Atomics.notify(c, 0);
    }
  `;
  return new Worker(code, {
    eval: true,
    workerData: { sab: c.buffer, free: gateWord(gen, GATE_FREE), busy: gateWord(gen, GATE_BUSY), wanted: gateWord(gen, GATE_WANTED), shut: gateWord(gen, GATE_SHUT) },
  });
}

async function inCall(c: Int32Array): Promise<void> {
  while (Atomics.load(c, 1) !== 1) await new Promise((resolve) => setTimeout(resolve, 2));
}

function endCall(c: Int32Array): void {
  Atomics.store(c, 1, 2);
  Atomics.notify(c, 1);
}

describe('the native gate (src/actors/native-gate.ts)', () => {
  it('lets its instance in and out, and refuses it once shut, or once opened for a successor', async () => {
    const c = cells();
    const gen = openGate(c, 0)!;
    const gate = new NativeGate(c, 0, gen);
    gate.enter();
    expect(Atomics.load(c, 0)).toBe(gateWord(gen, GATE_BUSY));
    gate.leave();
    expect(Atomics.load(c, 0)).toBe(gateWord(gen, GATE_FREE));
    const next = openGate(c, 0)!;
    expect(next).toBe(gen + 1);
    expect(gate.tryEnter()).toBe(false);
    const successor = new NativeGate(c, 0, next);
    successor.enter();
    successor.leave();
    await shutGate(c, 0, next);
    expect(Atomics.load(c, 0)).toBe(gateWord(next, GATE_SHUT));
    expect(successor.tryEnter()).toBe(false);
  });

  it('holds a refused instance until it is terminated: it answers nothing more and runs no line past the gate', async () => {
    const c = cells();
    const gen = openGate(c, 0)!;
    await shutGate(c, 0, gen);
    const gateModule = new URL('../dist/src/actors/native-gate.js', import.meta.url).href;
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(${JSON.stringify(gateModule)}).then(({ NativeGate }) => {
        const gate = new NativeGate(new Int32Array(workerData.sab), 0, workerData.gen);
        parentPort.postMessage('entering');
        gate.enter();
        parentPort.postMessage('entered');
      });
    `;
    const worker = new Worker(code, { eval: true, workerData: { sab: c.buffer, gen } });
    const said: string[] = [];
    worker.on('message', (m: string) => said.push(m));
    while (!said.includes('entering')) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(said).toEqual(['entering']);
    expect(await worker.terminate()).toBe(1);
    expect(said).toEqual(['entering']);
    expect(Atomics.load(c, 0)).toBe(gateWord(gen, GATE_SHUT));
  });

  // src/actors/close-first.ts: a thread ended with a libsql connection open closes it twice.
  it.each(['idles', 'loops on calls'])('closes first when its ender asks, while it %s, then makes no call again', async (how) => {
    const c = cells();
    const gen = openGate(c, 0)!;
    const gateModule = new URL('../dist/src/actors/native-gate.js', import.meta.url).href;
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(${JSON.stringify(gateModule)}).then(({ NativeGate }) => {
        let calls = 0;
        const gate = new NativeGate(new Int32Array(workerData.sab), 0, workerData.gen, () => parentPort.postMessage('closed after ' + (calls > 0 ? 'calls' : 'none')));
        gate.watchClose();
        parentPort.on('message', () => {
          gate.enter();
          parentPort.postMessage('entered');
          gate.leave();
        });
        if (workerData.how === 'loops on calls') {
          // Said after its first call: said before, a loaded machine let the close come first.
          for (;;) {
            gate.enter();
            calls++;
            gate.leave();
            if (calls === 1) parentPort.postMessage('looping');
          }
        }
        parentPort.postMessage('idling');
      });
    `;
    const worker = new Worker(code, { eval: true, workerData: { sab: c.buffer, gen, how } });
    const said: string[] = [];
    worker.on('message', (m: string) => said.push(m));
    while (!said.includes('idling') && !said.includes('looping')) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await closeFirst(c, 0, gen, 5_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(said.filter((m) => m.startsWith('closed'))).toEqual([how === 'idles' ? 'closed after none' : 'closed after calls']);
    // Its calls from now on wait for its end, as a refused instance's do.
    worker.postMessage('call');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(said).not.toContain('entered');
    expect(Atomics.load(c, 0)).toBe(gateWord(gen, GATE_FREE));
    expect(await worker.terminate()).toBe(1);
  });

  it('waits for the answer past its bound while the instance is in a call, whose thread could not end before the call returns', async () => {
    // A statement of seconds at a kill or at the host's exit: ended at the bound, the thread
    // was terminated after the call with its connection open (test/sqlite-close.test.ts, 'stall').
    const c = cells();
    const gen = openGate(c, 0)!;
    const gateModule = new URL('../dist/src/actors/native-gate.js', import.meta.url).href;
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(${JSON.stringify(gateModule)}).then(({ NativeGate }) => {
        const gate = new NativeGate(new Int32Array(workerData.sab), 0, workerData.gen, () => parentPort.postMessage('closed'));
        gate.watchClose();
        gate.enter();
        parentPort.postMessage('in a call');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
        gate.leave();
      });
    `;
    const worker = new Worker(code, { eval: true, workerData: { sab: c.buffer, gen } });
    const said: string[] = [];
    worker.on('message', (m: string) => said.push(m));
    while (!said.includes('in a call')) await new Promise((resolve) => setTimeout(resolve, 2));
    const t0 = performance.now();
    expect(await closeFirst(c, 0, gen, 100)).toBe(true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(said).toEqual(['in a call', 'closed']);
    await worker.terminate();
  });

  it("keeps the storage gate's close cell where the control block's layout reserves it", () => {
    expect(CONTROL_LAYOUT.cells.STORAGE_CLOSE.offset / 4).toBe(closeCellOf(STORAGE_GATE));
  });

  it('ends the wait for a close at its bound when the instance does not answer', async () => {
    const c = cells();
    const gen = openGate(c, 0)!;
    const t0 = performance.now();
    expect(await closeFirst(c, 0, gen, 100)).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);
  });

  it('shuts only once the call in flight has returned, and opens for no successor before', async () => {
    const c = cells();
    const gen = openGate(c, 0)!;
    const worker = caller(c, gen);
    await inCall(c);
    let shut = false;
    const shutting = shutGate(c, 0, gen).then(() => (shut = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(shut).toBe(false);
    expect(Atomics.load(c, 0)).toBe(gateWord(gen, GATE_WANTED));
    expect(openGate(c, 0)).toBeUndefined();
    let settled = false;
    const settling = gateSettled(c, 0).then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    endCall(c);
    await shutting;
    await settling;
    expect(Atomics.load(c, 0)).toBe(gateWord(gen, GATE_SHUT));
    expect(openGate(c, 0)).toBe(gen + 1);
    await worker.terminate();
  });

  it('seals for good, waiting for the call in flight within its bound, and says when the call outlived it', async () => {
    const c = cells();
    const gen = openGate(c, 0)!;
    const worker = caller(c, gen);
    await inCall(c);
    const t0 = performance.now();
    expect(sealGate(c, 0, 150)).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    endCall(c);
    await new Promise((resolve) => worker.once('exit', resolve));
    expect(sealGate(c, 0, 150)).toBe(true);
    expect(Atomics.load(c, 0)).toBe(GATE_SEALED);
    // Sealed stays sealed: a new instance starts, and cannot enter.
    const after = openGate(c, 0)!;
    expect(new NativeGate(c, 0, after).tryEnter()).toBe(false);
    await shutGate(c, 0);
    expect(Atomics.load(c, 0)).toBe(GATE_SEALED);
  });

  it("shuts the gate of an instance whose thread ended inside a call, so that a successor can start", async () => {
    const c = cells();
    const gen = openGate(c, 0)!;
    const worker = caller(c, gen);
    await inCall(c);
    await worker.terminate();
    expect(openGate(c, 0)).toBeUndefined();
    abandonGate(c, 0, gen);
    expect(Atomics.load(c, 0)).toBe(gateWord(gen, GATE_SHUT));
    expect(openGate(c, 0)).toBe(gen + 1);
    // Another instance's call is left alone.
    const busy = gateWord(gen + 1, GATE_BUSY);
    Atomics.store(c, 0, busy);
    abandonGate(c, 0, gen);
    expect(Atomics.load(c, 0)).toBe(busy);
  });
});
