/**
 * The storage actor: the one thread that touches the database (src/storage/service.ts does
 * the work). Every `flushMs` it writes what the collector put in the shared store since the
 * last flush, so the host's threads never wait on the disk; other modules' writes arrive as
 * comlink calls (commit) and are answered once committed. See StorageActorApi for the calls.
 *
 * Heartbeat: STORAGE_CLOCK at every round, and STORAGE_BEAT_BY, the time by which it will
 * beat again. A flush or a commit is synchronous SQLite work that a slow disk can stretch,
 * so the promise made before one is generous (WORK_GRACE_MS): the watchdog replaces this
 * actor only when it is stuck, not when the disk is slow.
 */
import { workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { nodeEndpoint } from '../src/actors/comlink-node.js';
import type { StorageActorApi, StorageActorData, StorageSink } from '../src/actors/protocols.js';
import { NativeGate } from '../src/actors/native-gate.js';
import { STORAGE_BEAT_BY, STORAGE_CLOCK, STORAGE_GATE, STORAGE_TID, controlViews } from '../src/engine/control.js';
import { monitorNow } from '../src/engine/monitor-clock.js';
import { ownThreadId } from '../src/engine/thread-cpu.js';
import { Registry, STORAGE_LOCK_TAG, withoutStaleLocks } from '../src/engine/registry.js';
import { StoreReader } from '../src/engine/store/reader.js';
import { StorageError } from '../src/errors.js';
import type { StoredRollups } from '../src/storage/rollups.js';
import { collectGarbage } from '../src/storage/collect-garbage.js';
import { statementsOf } from '../src/storage/control.js';
import { closeOpen, guardCalls } from '../src/storage/driver.js';
import { packHistories, packedBuffers } from '../src/storage/histories.js';
import { unusable } from '../src/storage/schema.js';
import { StorageService } from '../src/storage/service.js';

/** One statement of seconds (40 million rows counted: 4–10 s on this machine), for the 'stall' drill. */
const STALL_SQL = 'WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x + 1 FROM c WHERE x < 40000000) SELECT count(*) FROM c';

/** The longest a flush or commit may take before the watchdog may call this actor hung. */
const WORK_GRACE_MS = 60_000;
/** How late a flush timer may fire before the watchdog may call this actor hung. */
const TIMER_GRACE_MS = 10_000;

const data = workerData as StorageActorData;
const ctl = controlViews(data.control);
/** The monitor's clock (engine/monitor-clock.ts), which the rows' minutes and hours are in. */
const now = (): number => monitorNow(ctl);
ctl.f64[STORAGE_TID] = ownThreadId();
let stopping = false;
/** Its stop() has run to its end: nothing is open, and its garbage was collected. */
let stopped = false;
let timer: NodeJS.Timeout | undefined;
// Every call into SQLite goes through the gate, which is shut before this thread is terminated.
// Its ender asks first that the connection be closed here (src/actors/close-first.ts): the
// service stays referenced, so that its statements are not garbage for the thread's teardown.
const gate = new NativeGate(ctl.i32, STORAGE_GATE, data.gen ?? 0, () => {
  stopping = true;
  clearTimeout(timer);
  // Asked by the termination that follows its stop(): nothing left to do.
  if (stopped) return;
  closeOpen();
  collectGarbage();
});
guardCalls(gate);
gate.watchClose();
let sink: StorageSink | undefined;
let openError: { path: string; rule: string } | null = null;
let service: StorageService | undefined;
// Before the service opens its connection, so that this runs before the driver's own 'exit'
// (which closes what is open and then collects the garbage): the service, its connection and
// its statements are garbage by then, and are finalized before the thread's teardown rather
// than during it, which Node 20 does not survive (src/storage/collect-garbage.ts).
process.on('exit', () => {
  service = undefined;
});
try {
  service = new StorageService({
    file: data.file,
    registry: withoutStaleLocks(new Registry(data.registry, STORAGE_LOCK_TAG)),
    reader: new StoreReader(data.store),
    retentionMs: data.retentionMs,
    clock: now,
    onError: (message) => send({ ev: 'error', message }),
    onRecover: () => send({ ev: 'recovered' }),
    onReopen: () => send({ ev: 'reopened' }),
  });
  if (data.runFrom !== undefined) service.setRun(data.runFrom);
} catch (error) {
  openError =
    error instanceof StorageError ? { path: error.path, rule: error.rule.slice(error.path.length + 2) } : { path: data.file, rule: `cannot be opened: ${error instanceof Error ? error.message : String(error)}` };
}
function send(event: Parameters<StorageSink>[0]): void {
  // The coordinator may be closing: an undeliverable event must not end this actor.
  if (sink) Promise.resolve(sink(event)).catch(() => {});
}

/** Runs synchronous database work under a generous heartbeat promise. */
function work<T>(fn: (s: StorageService) => T): T {
  if (!service) throw new StorageError(openError?.path ?? data.file, openError?.rule ?? 'is not open');
  ctl.f64[STORAGE_CLOCK] = now();
  ctl.f64[STORAGE_BEAT_BY] = now() + WORK_GRACE_MS;
  try {
    return fn(service);
  } finally {
    beat();
  }
}

/**
 * A read of the file that start() waits on (the stored catalog, the control state): an SQLite
 * error (a damaged table: SQLITE_CORRUPT) is said as the file's, naming it and what to do
 * (schema.ts unusable), as at its open; it failed start() as a bare SqliteError, its code lost
 * on the way.
 */
function read<T>(fn: (s: StorageService) => T): T {
  try {
    return work(fn);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    throw typeof code === 'string' && code.startsWith('SQLITE_') ? unusable(data.file, error) : error;
  }
}

/**
 * Beats, and promises the next beat by the next flush, with room for a timer that a busy
 * machine runs late: storage is not latency-critical, a replacement for a late one is costly.
 */
function beat(): void {
  const at = now();
  ctl.f64[STORAGE_CLOCK] = at;
  ctl.f64[STORAGE_BEAT_BY] = at + data.flushMs + TIMER_GRACE_MS;
}

function schedule(): void {
  beat();
  if (stopping || !service) return;
  timer = setTimeout(() => {
    // Driven (a hub's database): the hub flushes between its applies (flushSeqs); this only beats.
    if (!data.driven) {
      const status = work((s) => (s.flush(), s.status()));
      send({ ev: 'flushed', status });
    }
    schedule();
  }, data.flushMs);
}

const api: StorageActorApi = {
  ready: () => now(),
  opened: () => openError,
  subscribe(s) {
    sink = s;
  },
  commit: (ops) => work((s) => s.commit(ops.flatMap(statementsOf))),
  query: (sql, params) => read((s) => s.query(sql, params)),
  flush: () => work((s) => s.flush(true)),
  flushSeqs: (seqs, last) => {
    const [ok, status] = work((s) => [s.flush(last, seqs), s.status()] as const);
    send({ ev: 'flushed', status });
    return ok;
  },
  history: (name, tags, from, to, hourly) =>
    work((s) => {
      const rows = s.history(name, tags, from, to, hourly);
      return rows && Comlink.transfer(rows, buffersOf(rows));
    }),
  histories: (requests) =>
    work((s) => {
      const packed = packHistories(requests.map((r) => s.history(r.name, r.tags, r.from, r.to, r.hourly)));
      return Comlink.transfer(packed, packedBuffers(packed));
    }),
  storedIn: (requests) =>
    work((s) => {
      const found = s.storedIn(requests);
      return Comlink.transfer(found, [found.buffer as ArrayBuffer]);
    }),
  serve(port) {
    Comlink.expose(api, nodeEndpoint(port));
  },
  restoreCatalog: () => read((s) => s.restoreCatalog()),
  storedOnly: (name, match) => work((s) => s.storedOnly(name, match)),
  storedUntil: () => work((s) => s.storedUntil()),
  setRun: (from) => work((s) => s.setRun(from)),
  runs: (from, to) => work((s) => s.runs(from, to)),
  status: () => (service ? service.status() : null),
  async stop() {
    stopping = true;
    clearTimeout(timer);
    if (service) {
      // Driven, the last flush was the hub's (StorageLink.stop), or there must be none.
      if (!data.driven) work((s) => s.flush(true));
      service.close();
      service = undefined;
    }
    // Its supervisor terminates this thread next, and a terminated thread runs no 'exit': the
    // connection and statements just dropped (or those of a file it refused) are collected
    // now, while the thread lives (src/storage/collect-garbage.ts).
    collectGarbage();
    stopped = true;
  },
  injectFault(fault) {
    if (fault === 'exit') setTimeout(() => process.exit(5), 5);
    else if (fault === 'stall') setTimeout(() => service?.query(STALL_SQL), 5);
    else if (fault === 'hang') {
      // Until the watchdog ends it, or its stop() does: the gate shut, the next statement waits there for the end.
      setTimeout(() => {
        for (;;) service?.query('SELECT 1');
      }, 5);
    }
  },
};

/** A history's columns, moved rather than copied: a 30-day history is megabytes of sketches. */
function buffersOf(rows: StoredRollups): ArrayBuffer[] {
  return [rows.start, rows.count, rows.sum, rows.min, rows.max, rows.last, rows.sketchAt, rows.sketches, rows.hourly].map((a) => a.buffer as ArrayBuffer);
}

Comlink.expose(api, nodeEndpoint(data.port!));
schedule();
// A warm-up on this thread, right after the file opened (calls that arrive meanwhile wait for
// it: ~10 ms of CPU for a 30-day history).
if (service) {
  setTimeout(() => {
    if (!stopping) work((s) => s.warm());
  }, 0);
}
