/**
 * Before a gated actor's thread is ended from outside, the thread is asked to close what it
 * holds open in native code itself (its SQLite connections), and given a bounded time to.
 *
 * Why: a thread ended with a libsql connection open (worker.terminate() by the watchdog, or
 * Node ending every thread at the host's process exit) has it finalized in its teardown
 * (`FreeEnvironment → … → node_napi_env__::DeleteMe → Reference::Finalize`), newest object
 * first: its statements, then the connection, dropped with no statement alive, which libsql
 * closes twice (src/storage/driver.ts). The second close reads the freed handle: with glibc's
 * freed blocks filled, every such end took the host down (a storage actor killed by the
 * watchdog, or a host that called process.exit() while its monitor ran, test/sqlite-close.test.ts);
 * with the default allocator, when another thread reused the block in between. A connection
 * closed while one of its statements lives is closed once, whatever is finalized after.
 *
 * One Int32 cell beside the gate (the gate's index + 1; its words as the gate's, gateWord()): 0, or generation × 4 + REQUESTED
 * (the ender asks instance `gen`), or + CLOSED (that instance has closed, and will make no
 * native call again: src/actors/native-gate.ts parks it). The instance watches the cell from
 * its event loop, and reads it before each native call, so it answers whether it idles or
 * works; one that is stuck in a loop of its own does not answer, and is ended at the bound
 * anyway (its connection then closed twice, as before). One in a call into native code (a
 * statement of seconds) answers after it returns: its thread could not end before that anyway
 * (Node ends a thread only in JavaScript, and its ender waits for the call at the gate), so the
 * bound counts from the call's return; without that, a statement longer than the bound at a
 * kill or at the host's exit took the host down (test/sqlite-close.test.ts, the 'stall' modes).
 */
import { performance } from 'node:perf_hooks';
import { CLOSE_DONE, CLOSE_REQUESTED, closeCellOf, gateWord, inCall } from './native-gate.js';

/** How often a wait looks again whether the instance's call into native code has returned (the return wakes no one). */
const IN_CALL_POLL_MS = 10;

/** Asks instance `gen` of the gate at `gateIndex` to close what it holds, and wakes it. */
function requestClose(cells: Int32Array, gateIndex: number, gen: number): void {
  const at = closeCellOf(gateIndex);
  Atomics.store(cells, at, gateWord(gen, CLOSE_REQUESTED));
  Atomics.notify(cells, at);
}

/**
 * Asks instance `gen` to close, and resolves once it says it has (true), or after `timeoutMs`
 * outside calls into native code (false: the caller ends it all the same).
 */
export async function closeFirst(cells: Int32Array, gateIndex: number, gen: number, timeoutMs: number): Promise<boolean> {
  const answer = asked(cells, gateIndex, gen, timeoutMs);
  for (let left = answer(); left !== true && left !== false; left = answer()) {
    const wait = Atomics.waitAsync(cells, closeCellOf(gateIndex), left.word, left.ms);
    if (wait.async) await wait.value;
  }
  return answer() === true;
}

/** closeFirst() blocking this thread: for a process 'exit', where nothing asynchronous runs any more. */
export function closeFirstSync(cells: Int32Array, gateIndex: number, gen: number, timeoutMs: number): boolean {
  const answer = asked(cells, gateIndex, gen, timeoutMs);
  for (let left = answer(); left !== true && left !== false; left = answer()) Atomics.wait(cells, closeCellOf(gateIndex), left.word, left.ms);
  return answer() === true;
}

/**
 * Asks, and returns what the answer is at each look: true (closed), false (the bound passed),
 * or the cell's word to wait on and the ms left.
 */
function asked(cells: Int32Array, gateIndex: number, gen: number, timeoutMs: number): () => boolean | { word: number; ms: number } {
  requestClose(cells, gateIndex, gen);
  const at = closeCellOf(gateIndex);
  const done = gateWord(gen, CLOSE_DONE);
  let deadline = performance.now() + timeoutMs;
  return () => {
    const word = Atomics.load(cells, at);
    if (word === done) return true;
    const now = performance.now();
    // In a call (which its ender waits for in any case): the bound starts again from now, and
    // the cell is looked at again soon.
    if (inCall(cells, gateIndex, gen)) {
      deadline = now + timeoutMs;
      return { word, ms: IN_CALL_POLL_MS };
    }
    const ms = deadline - now;
    return ms <= 0 ? false : { word, ms };
  };
}
