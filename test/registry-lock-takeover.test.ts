/**
 * The registry's lock when its holder's thread ends holding it (a worker terminated while it
 * added a series): a waiter takes it over once it has waited 100 ms and /proc says the thread
 * ended, so the process adds series again; a live holder keeps it however long it holds it,
 * and a lock let go leaves no record by which its next holder would be judged.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { CapacityError } from '../dist/src/errors.js';
import { COLLECTOR_LOCK_TAG, Registry, createRegistry } from '../dist/src/engine/registry.js';
import { SharedTable, TABLE_HEADER, createSharedTable } from '../dist/src/engine/shared-table.js';
import { caught, monitorStarter, once } from './helpers.js';

const started = monitorStarter();
const limits = { maxSeries: 64, maxTags: 4, maxTagValueLength: 16 };

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

/** A worker holding the locks of `tables` (see the fixture), once it says it holds them. */
async function holder(tables: SharedArrayBuffer[], options: { tag?: number; sync?: Int32Array; holdMs?: number; halfAppend?: string } = {}): Promise<Worker> {
  const w = new Worker(new URL('./fixtures/lock-holder.mjs', import.meta.url), { workerData: { tables, ...options } });
  workers.push(w);
  await Promise.race([once(w, 'message'), once<Error>(w, 'error').then((e) => Promise.reject(e))]);
  return w;
}

describe('the registry lock of a thread that ended holding it', () => {
  it('is taken over: a terminated recording thread held both tables, and a new series of the main thread is added (not refused after 2 s) and records', async () => {
    const m = await started();
    const handle = m.producer();
    await (await holder([handle.registry.names, handle.registry.series])).terminate();
    m.metric('after_death', { route: '/a' }).record(5);
    await m.flush();
    expect(m.getMetrics({ names: ['after_death'] }).map((s) => [s.tags, s.totalCount, s.totalSum])).toEqual([[{ route: '/a' }, 1, 5]]);
    // One takeover per table, whichever thread of the monitor's waited first.
    expect(m.status().series.lockTakeovers).toBe(2);
  });

  it('keeps lookups right when the dead append stored its slot and not COUNT: the index goes to the next key', async () => {
    const sab = createSharedTable({ capacity: 16, arenaBytes: 1024, extraInts: 1 });
    const table = new SharedTable(sab, 1);
    expect(table.appendMany(['first'], [[1]])).toEqual({ indices: [0], added: 1 });
    const w = await holder([sab], { halfAppend: 'dead_key' });
    // Its slot points at index 1, not counted: the key is not there, for this view or another.
    expect(table.count()).toBe(1);
    expect(table.lookup('dead_key')).toBe(-1);
    await w.terminate();
    expect(table.appendMany(['other_key'], [[3]])).toEqual({ indices: [1], added: 1 });
    expect(table.keyAt(1)).toBe('other_key');
    expect(table.takeovers()).toBe(1);
    const fresh = new SharedTable(sab, 2);
    expect(fresh.lookup('dead_key')).toBe(-1);
    expect(fresh.lookup('other_key')).toBe(1);
    expect(table.lookup('dead_key')).toBe(-1);
    expect(table.appendMany(['dead_key'], [[4]])).toEqual({ indices: [2], added: 1 });
    expect([fresh.lookup('first'), fresh.lookup('other_key'), fresh.lookup('dead_key')]).toEqual([0, 1, 2]);
    expect([fresh.extraAt(1, 0), fresh.extraAt(2, 0)]).toEqual([3, 4]);
    expect(fresh.count()).toBe(3);
  });
});

describe('the registry lock of a live holder', () => {
  it('is not taken over: a waiter (past 100 ms, as the holder keeps it 600 ms) gets it when the holder lets it go', async () => {
    const buffers = createRegistry(limits);
    const r = new Registry(buffers, 1);
    const sync = new Int32Array(new SharedArrayBuffer(8));
    const w = await holder([buffers.series], { sync, holdMs: 600 });
    const released = once(w, 'message');
    const id = r.seriesId('live_wait', {});
    // The holder said it let go before this thread had the lock.
    expect(Atomics.load(sync, 0)).toBe(1);
    expect(r.info(id).name).toBe('live_wait');
    expect(r.lockTakeovers()).toBe(0);
    await released;
  });

  it('is not taken over: a waiter is refused after 2 s while the holder keeps it, and adds the series once it is let go', async () => {
    const buffers = createRegistry(limits);
    const r = new Registry(buffers, 1);
    const sync = new Int32Array(new SharedArrayBuffer(8));
    const w = await holder([buffers.series], { sync });
    const released = once(w, 'message');
    const error = caught(() => r.seriesId('too_late', {}));
    expect(error).toBeInstanceOf(CapacityError);
    expect(error.message).toMatch(/lock held for over 2 s by thread tag \d+, whose thread still runs/);
    expect(r.lockTakeovers()).toBe(0);
    expect(Atomics.load(sync, 0)).toBe(0);
    Atomics.store(sync, 1, 1);
    Atomics.notify(sync, 1);
    await released;
    expect(r.info(r.seriesId('too_late', {})).name).toBe('too_late');
  });
});

describe('a registry lock let go', () => {
  // An actor's successor has its predecessor's tag: when it has just taken the lock and not
  // yet recorded its own thread, a record left by the predecessor would name its hold.
  const table = (): [SharedArrayBuffer, SharedTable] => {
    const sab = createSharedTable({ capacity: 16, arenaBytes: 1024, extraInts: 1 });
    return [sab, new SharedTable(sab, 1)];
  };
  /** The successor's hold, taken and not yet recorded, must not be taken over. */
  const successorHoldIsKept = (sab: SharedArrayBuffer, waiter: SharedTable): void => {
    Atomics.store(new Int32Array(sab), TABLE_HEADER.index.LOCK, COLLECTOR_LOCK_TAG);
    expect(caught(() => waiter.appendMany(['k'], [[1]]))).toBeInstanceOf(CapacityError);
    expect(waiter.takeovers()).toBe(0);
  };

  it('by its holder leaves no record of the thread that held it', async () => {
    const [sab, waiter] = table();
    const w = await holder([sab], { tag: COLLECTOR_LOCK_TAG, sync: new Int32Array(new SharedArrayBuffer(8)), holdMs: 0 });
    // A thread that ended before its message was read has both emitted at once (Node drains the
    // port at the exit), 'exit' before a listener added now: its threadId is -1 then.
    if (w.threadId !== -1) await once(w, 'exit');
    successorHoldIsKept(sab, waiter);
  });

  it('by releaseStale, for a holder that died with it, leaves no record of the dead thread', async () => {
    const [sab, waiter] = table();
    await (await holder([sab], { tag: COLLECTOR_LOCK_TAG })).terminate();
    expect(new SharedTable(sab, COLLECTOR_LOCK_TAG).releaseStale()).toBe(true);
    successorHoldIsKept(sab, waiter);
  });
});
