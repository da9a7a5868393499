/**
 * A full garbage collection of this thread's heap, for a thread about to end while native
 * objects of an addon are garbage that no collection has found yet: libsql's connections and
 * statements, dropped by their close. The storage actor runs one at the end of its stop()
 * (its supervisor terminates the thread next, and a terminated thread runs no 'exit'), and
 * the driver at the thread's 'exit' (src/storage/driver.ts), after the actor dropped its
 * service.
 *
 * Why. Node 20 finalizes a Node-API object collected by the garbage collector in a native
 * immediate that holds a reference to the addon's environment (node_napi_env__::EnqueueFinalizer)
 * and, when it runs, releases that reference before it drains the finalizers. When a thread
 * ends, its environment's cleanup hook releases the environment's own reference. If a
 * collection during that teardown finds such garbage after the teardown's first turn of
 * immediates, the immediate runs after the hook: its release deletes the environment, and the
 * drain that follows reads the freed memory. A SIGSEGV of the whole process, the host with it
 * (test/sqlite-close.test.ts's "actor-exit" child died so in 2 CI runs, and in 4 of 140 runs
 * of its fixture with both cores busy, at the monitor's stop() where that was told apart). Collected before the thread ends, that garbage is
 * finalized in the teardown's first turn, before the hook, as in a thread's life.
 *
 * Without `--expose-gc`, V8's `gc` is taken from a context made while the flag is set, and the
 * flag is put back at once: no other context of the process gets it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

function gcFunction(): () => void {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as () => void;
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as () => void;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** Runs a full collection; never throws (a thread that is ending goes on ending). */
export function collectGarbage(): void {
  try {
    gc ??= gcFunction();
    gc();
  } catch {
    // no collection to be had: the thread ends as it would have
  }
}
