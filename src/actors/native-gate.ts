/**
 * A gate around an actor's calls into native code that must not be running when its thread is
 * terminated: libsql's (the storage actor's SQLite). Node marks a thread being terminated as
 * one that may not call into JavaScript, and from then on a Node-API call that checks for it
 * answers "pending exception". libsql's native code asserts that reading its parameters
 * succeeded, so a statement entered in that window panics, and the panic aborts the whole
 * process (SIGABRT, `assertion left == right failed: PendingException`): a storage actor
 * killed by the watchdog in the middle of a flush took its host down with it. It took a few
 * seconds of kills in a loop (test/storage-terminate.test.ts).
 *
 * So a thread is terminated only while the gate is shut, and the gate shuts only between two
 * calls. One Int32 cell in shared memory (STORAGE_GATE, engine/control.ts) holds the instance
 * the gate is open for (the watchdog's generation of the actor) and a state:
 * - FREE: no call in flight; the instance may enter.
 * - BUSY: the instance is in a call; WANTED: it is, and a thread waits to shut the gate.
 * - SHUT: no call may start; the instance may be terminated.
 * - SEALED (-1, whatever the instance): the thread that owns the monitor is ending (its
 *   process 'exit'), and Node is about to terminate every thread of it; no call starts again.
 *
 * The instance enters with one compare-and-swap FREE → BUSY (so a gate shut, or opened for a
 * successor, refuses it), and leaves BUSY → FREE, or WANTED → SHUT with a wake-up. The
 * watchdog opens the gate for a new instance only once no call is in flight, so that one it
 * replaced can never enter again; it shuts the gate before it terminates an instance, waiting
 * for the call in flight to return. A call that never returns (a disk that hangs) keeps its
 * thread from being terminated, and the actor's successor from starting: it is down, and says
 * so, rather than its host.
 *
 * Left: a thread terminated from outside with no word first (a host's worker thread that holds
 * a monitor, terminated by its parent) ends its children with it, and a call in flight then
 * may still panic.
 */
import { performance } from 'node:perf_hooks';

export const GATE_FREE = 0;
export const GATE_BUSY = 1;
export const GATE_WANTED = 2;
export const GATE_SHUT = 3;
export const GATE_SEALED = -1;

/** The phases of the close cell beside the gate (close-first.ts), in words made as the gate's. */
export const CLOSE_REQUESTED = 1;
export const CLOSE_DONE = 2;

/** The close cell of the gate at `gateIndex` (close-first.ts). */
export function closeCellOf(gateIndex: number): number {
  return gateIndex + 1;
}

/** Generations are kept modulo 2^28: the cell's word is gen × 4 + state, never negative but for SEALED. */
const GEN_MASK = 0x0fff_ffff;

export function gateWord(gen: number, state: number): number {
  return ((gen & GEN_MASK) << 2) | state;
}

function genOf(word: number): number {
  return word >>> 2;
}

function stateOf(word: number): number {
  return word & 3;
}

/**
 * An instance's side of the gate: enter() before each native call, leave() after it, always.
 * Refused (the gate shut, or opened for a successor), enter() parks the thread until its
 * termination, which always follows: it answers nothing and does nothing more, as if it had been
 * terminated right there. Thrown instead, the refusal reached the calls in flight as an answer:
 * a storage actor's stop() rejected, which its supervisor takes for a stop that ran, and the
 * last flush it had begun was rolled back with no successor to do it again.
 */
export class NativeGate {
  private readonly free: number;
  private readonly busy: number;
  private readonly wanted: number;
  private readonly shut: number;
  private readonly closeAt: number;
  private readonly closeAsked: number;
  private readonly closeDone: number;
  /** Inside onClose (its own calls enter as any other). */
  private closing = false;
  /** onClose ran: no call may start again. */
  private closed = false;

  /**
   * `onClose`: closes what the instance holds open in native code, when its ender asks first
   * (close-first.ts): from watchClose() while the thread idles, or at the next enter().
   */
  constructor(
    private readonly cells: Int32Array,
    private readonly index: number,
    gen: number,
    private readonly onClose?: () => void,
  ) {
    this.free = gateWord(gen, GATE_FREE);
    this.busy = gateWord(gen, GATE_BUSY);
    this.wanted = gateWord(gen, GATE_WANTED);
    this.shut = gateWord(gen, GATE_SHUT);
    this.closeAt = closeCellOf(index);
    this.closeAsked = gateWord(gen, CLOSE_REQUESTED);
    this.closeDone = gateWord(gen, CLOSE_DONE);
  }

  /** Enters, or says that the gate refuses this instance. */
  tryEnter(): boolean {
    return Atomics.compareExchange(this.cells, this.index, this.free, this.busy) === this.free;
  }

  enter(): void {
    if (!this.closing) {
      // Asked to close: it does, and parks, as its ender terminates it next (the call it was
      // about to make would find its connection closed).
      if (!this.closed && Atomics.load(this.cells, this.closeAt) === this.closeAsked) this.close();
      if (this.closed) park();
    }
    if (!this.tryEnter()) park();
  }

  leave(): void {
    if (Atomics.compareExchange(this.cells, this.index, this.busy, this.free) === this.busy) return;
    // A thread waits to shut the gate (shutGate, sealGate): it is shut now, and that thread woken.
    Atomics.compareExchange(this.cells, this.index, this.wanted, this.shut);
    Atomics.notify(this.cells, this.index);
  }

  /**
   * Watches the close cell from the event loop, so that an instance that idles answers a
   * request at once. The wait keeps no event loop alive.
   */
  watchClose(): void {
    const watch = async (): Promise<void> => {
      for (;;) {
        const word = Atomics.load(this.cells, this.closeAt);
        if (word === this.closeAsked) {
          if (!this.closed && !this.closing) this.close();
          return;
        }
        const wait = Atomics.waitAsync(this.cells, this.closeAt, word);
        if (wait.async) await wait.value;
      }
    };
    void watch();
  }

  /** Runs onClose (through the gate, as every call), then says it is done: its calls park from now on. */
  private close(): void {
    this.closing = true;
    try {
      this.onClose?.();
    } catch {
      // Its ender ends it all the same: nothing is left to do with the error.
    } finally {
      this.closing = false;
      this.closed = true;
      Atomics.compareExchange(this.cells, this.closeAt, this.closeAsked, this.closeDone);
      Atomics.notify(this.cells, this.closeAt);
    }
  }
}

/** Blocks this thread until it is terminated (a termination ends an Atomics.wait). */
function park(): never {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(cell, 0, 0);
}

/**
 * Opens the gate for a new instance, unless a call is in flight (undefined: try again once
 * gateSettled() resolves), and says the instance's generation: one more than any the cell held,
 * so that no instance before it (of this watchdog thread or an earlier one) can enter. A sealed
 * gate stays sealed: the instance starts, and cannot enter.
 */
export function openGate(cells: Int32Array, index: number): number | undefined {
  for (;;) {
    const word = Atomics.load(cells, index);
    if (word === GATE_SEALED) return 0;
    const state = stateOf(word);
    if (state === GATE_BUSY || state === GATE_WANTED) return undefined;
    const gen = (genOf(word) + 1) & GEN_MASK;
    if (Atomics.compareExchange(cells, index, word, gateWord(gen, GATE_FREE)) === word) return gen;
  }
}

/** The generation the gate is open for (FREE, BUSY or WANTED), or undefined when it is shut or sealed. */
export function openGateGen(cells: Int32Array, index: number): number | undefined {
  const word = Atomics.load(cells, index);
  return word === GATE_SEALED || stateOf(word) === GATE_SHUT ? undefined : genOf(word);
}

/** Whether instance `gen` is in a call into native code (BUSY, or WANTED: a thread waits to shut the gate after it). */
export function inCall(cells: Int32Array, index: number, gen: number): boolean {
  const word = Atomics.load(cells, index);
  return word === gateWord(gen, GATE_BUSY) || word === gateWord(gen, GATE_WANTED);
}

/**
 * Shuts the gate of instance `gen` whose thread has ended: a call it was in (BUSY, WANTED)
 * will never leave, as when the thread ran out of memory inside one. Without this, its
 * successor waited for ever to open the gate.
 */
export function abandonGate(cells: Int32Array, index: number, gen: number): void {
  for (const state of [GATE_BUSY, GATE_WANTED]) {
    if (Atomics.compareExchange(cells, index, gateWord(gen, state), gateWord(gen, GATE_SHUT)) === gateWord(gen, state)) Atomics.notify(cells, index);
  }
}

/** Resolves once no call is in flight (the gate is FREE, SHUT or SEALED). */
export async function gateSettled(cells: Int32Array, index: number): Promise<void> {
  for (;;) {
    const word = Atomics.load(cells, index);
    const state = stateOf(word);
    if (word === GATE_SEALED || (state !== GATE_BUSY && state !== GATE_WANTED)) return;
    await waitChange(cells, index, word);
  }
}

/**
 * Shuts the gate of instance `gen` (of whichever instance holds it, when undefined), waiting
 * for a call in flight to return. Resolves once that instance can make no call any more:
 * shut, sealed, or opened for a successor (which happens only between calls).
 */
export async function shutGate(cells: Int32Array, index: number, gen?: number): Promise<void> {
  for (;;) {
    const word = Atomics.load(cells, index);
    if (word === GATE_SEALED) return;
    const of = genOf(word);
    if (gen !== undefined && of !== (gen & GEN_MASK)) return;
    const state = stateOf(word);
    if (state === GATE_SHUT) return;
    if (state === GATE_FREE) {
      if (Atomics.compareExchange(cells, index, word, gateWord(of, GATE_SHUT)) === word) return;
    } else if (state === GATE_BUSY) {
      Atomics.compareExchange(cells, index, word, gateWord(of, GATE_WANTED));
    } else await waitChange(cells, index, word);
  }
}

/**
 * Seals the gate for good, waiting (blocking this thread, at most `timeoutMs`) for a call in
 * flight to return: run at the process 'exit' of the thread that owns the monitor, after which
 * Node terminates every thread of it. False when the call did not return in time.
 */
export function sealGate(cells: Int32Array, index: number, timeoutMs: number): boolean {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const word = Atomics.load(cells, index);
    if (word === GATE_SEALED) return true;
    const state = stateOf(word);
    if (state === GATE_FREE || state === GATE_SHUT) {
      if (Atomics.compareExchange(cells, index, word, GATE_SEALED) === word) return true;
    } else if (state === GATE_BUSY) {
      Atomics.compareExchange(cells, index, word, gateWord(genOf(word), GATE_WANTED));
    } else {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(cells, index, word, left);
    }
  }
}

/** Resolves when the cell may no longer hold `word` (woken, or after a second: a wake-up is never relied on alone). */
async function waitChange(cells: Int32Array, index: number, word: number): Promise<void> {
  const wait = Atomics.waitAsync(cells, index, word, 1_000);
  if (wait.async) await wait.value;
}
