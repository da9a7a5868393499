/**
 * The coordinator's side of supervision. The actors are children of the watchdog thread
 * (src/actors/watchdog.ts), which replaces one that exits or stops beating without any help from the
 * main thread; a Supervisor here talks to the current actor over comlink, through the port the
 * watchdog handed over for it, and turns the watchdog's reports into state and events. The
 * actor's state that matters lives in shared memory, so a replacement is a fresh worker over
 * the same buffers.
 *
 * Control calls made while the actor is down wait for the next one; a call in flight when the
 * actor dies fails with ActorError, or is retried once on the successor when the caller says
 * it is safe to repeat.
 */
import { Worker, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { ActorError } from '../errors.js';
import { shutGate } from './native-gate.js';
import { ExitRace } from './exit-race.js';
import { holding } from './hold.js';
import { nodeEndpoint } from './comlink-node.js';
import type { BeatCells, WatchdogEvent, WatchdogRequest } from './protocols.js';
import { describeError, threadsRefused } from './thread-error.js';
import { checkWorkerFile } from './package-files.js';
import { ensureRoomForThread, holdUntilOnline } from './thread-room.js';
import { isOutOfMemory, outOfMemoryMessage, resourceLimitsFor, type ThreadKind } from './thread-limits.js';
import { hostThreadOptions, type ThreadPreloads } from './worker-argv.js';
import { clearTimeout, setImmediate, setTimeout, wallNow } from '../engine/real-timers.js';

export type ActorState = 'stopped' | 'starting' | 'running' | 'restarting';

export interface ActorExit {
  actor: string;
  code: number;
  error?: Error;
  restarts: number;
  /** True when the watchdog replaced it for not beating. */
  hung?: boolean;
  /** When this thread heard of the exit (epoch ms): the age a status line gives it. */
  at: number;
}

/**
 * Why an actor ended, as a fault or a status line says it: the reason without the actor's
 * name its error begins with ("no heartbeat for 421 ms, hung", "exited with code 1").
 */
export function exitReason(exit: Pick<ActorExit, 'actor' | 'code' | 'error' | 'hung'>): string {
  const message = exit.error?.message ?? `exited with code ${exit.code}`;
  const reason = message.startsWith(`${exit.actor}: `) ? message.slice(exit.actor.length + 2) : message;
  return exit.hung ? `${reason}, hung` : reason;
}

export interface ActorEvents<Api = unknown> {
  exit(info: ActorExit): void;
  restart(info: { actor: string; restarts: number; downMs: number }): void;
  /** Runs on each new worker before calls reach it: hand it its state (rules, subscriptions). */
  ready?(remote: Comlink.Remote<Api>): Promise<void>;
}

interface Instance<Api> {
  gen: number;
  port: MessagePort;
  remote: Comlink.Remote<Api>;
  exited: Promise<never>;
  /** `work`, or its exit first (exit-race.ts): what a call waits on. */
  untilExit: ExitRace['until'];
  fail: (error: Error) => void;
  /** Resolves once the watchdog reported this instance's exit. */
  gone: Promise<void>;
  markGone: () => void;
  /** Why it exited, once the watchdog said, and whether it was ended for not beating. */
  exitReason?: string;
  exitHung?: boolean;
}

/**
 * How an instance's stop() ended: it answered, it died first (or was silent: it had not beaten
 * since the stop was asked, `hung`), or it was still at it at the bound while it beat (then it
 * is terminated).
 */
type StopEnd = { how: 'done' } | { how: 'died'; reason: string; hung: boolean } | { how: 'late' } | { how: 'absent' };

/** An actor's beat cells (its clock and its promise) as read at one moment: see Supervisor.beatMark. */
export interface BeatMark {
  at: number;
  by: number;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** How long stop() lets an actor finish its own stop (drain the rings) before it is terminated. */
const STOP_TIMEOUT_MS = 5_000;

/**
 * `work`, or `late()` once STOP_TIMEOUT_MS have passed, holding nothing up. The timer goes as
 * the race is decided: left to run out, it kept the race's continuation (the supervisor, its
 * data, the monitor and its 0.6 GB of shared buffers) reachable for 5 s after every stop, and a
 * service building monitors anew held some 27 closed ones' buffers at a time (a soak trial).
 */
function withinStop<T, L>(work: Promise<T>, late: () => L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<L>((resolve) => {
    timer = setTimeout(() => resolve(late()), STOP_TIMEOUT_MS).unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** How long ending the watchdog waits for its actors' native gates to shut (a call into native code in flight: native-gate.ts). */
const RELEASE_GATE_MS = 10_000;

/** Watchdog threads replaced at once within a minute; past them each replacement waits WATCHDOG_BACKOFF_MS. */
export const WATCHDOG_FAST_RESTARTS = 5;
export const WATCHDOG_BACKOFF_MS = 1_000;

/**
 * Watchdog threads in a row that may end before a word (they report each actor they start):
 * past it the link gives up, and the actors waiting for one fail. A thread that cannot start
 * at all (a `--import` of the host's that throws in a Worker, say) was started again forever,
 * in a loop that took a core, and start() never settled. The same bound holds for an actor's
 * threads while start() waits for its first (Supervisor.onExit).
 */
const MAX_STILLBORN = 3;

/**
 * Past MAX_STILLBORN, the actors that were running wait this long (doubled at each round given
 * up in a row, up to WATCHDOG_RETRY_MAX_MS) for the next MAX_STILLBORN tries. They were given up
 * for good: a running monitor whose watchdog died while the process was at its limit on threads
 * (a burst of the host's own threads or children, a container's pids.max) went on as 'running'
 * with every actor stopped, for the rest of the process's life, its samples left in the rings.
 */
export const WATCHDOG_RETRY_MS = 1_000;
export const WATCHDOG_RETRY_MAX_MS = 30_000;

/**
 * The main thread's link to the watchdog thread: started with the first actor, ended once
 * every actor is stopped. Should the watchdog itself die, a new one takes over the actors: at
 * once up to WATCHDOG_FAST_RESTARTS times a minute, then one a second, so that one that keeps
 * dying costs a few spawns a second and its faults, not a core; one that dies before a word
 * MAX_STILLBORN times in a row is not started again for the actors start() waits for, and
 * after a growing wait for the actors that ran (WATCHDOG_RETRY_MS).
 */
export class WatchdogLink {
  private worker: Worker | undefined;
  private readonly supervisors = new Map<string, Supervisor<never>>();
  private readonly onFault: (error: Error, kind?: string) => void;
  private readonly url: URL;
  /** Whether the watchdog (and the actors it makes, which inherit its options) runs the host's preloads. */
  private readonly preloads: ThreadPreloads;
  /** When watchdog threads ended on their own, in the last minute. */
  private losses: number[] = [];
  /** Watchdog threads in a row that ended before they said anything, or could not be made (see MAX_STILLBORN). */
  private stillborn = 0;
  /** Rounds of MAX_STILLBORN tries given up in a row while actors ran: the next waits longer (WATCHDOG_RETRY_MS). */
  private rounds = 0;
  /**
   * While a watchdog thread could not be made, until that counts as one that ended (see lost):
   * new Worker() throws at once when the process is at its limit on threads (ulimit -u, a
   * container's pids.max: EAGAIN) or under the permission model without --allow-worker, with
   * no 'error' event. Thrown on, it failed start() with Node's bare error, and the clean-up's
   * stop, which made a thread to reach the actors, threw again and left the monitor 'starting'
   * for good; thrown from a replacement, it went into the host.
   */
  private unmade = false;

  /** Each thread's heap limit (MB; thread-limits.ts): the watchdog's, and its actors' given with their start. None: V8's defaults. */
  private readonly heapMb: Partial<Record<ThreadKind, number>>;

  constructor(onFault: (error: Error, kind?: string) => void, preloads: ThreadPreloads, url = new URL('../../workers/watchdog.js', import.meta.url), heapMb: Partial<Record<ThreadKind, number>> = {}) {
    this.onFault = onFault;
    this.preloads = preloads;
    this.url = url;
    this.heapMb = heapMb;
  }

  /** Throws when the watchdog's file is not where this code expects it (a bundled service: package-files.ts). */
  checkFile(): void {
    checkWorkerFile('watchdog', this.url);
  }

  /** Reports a fault of an actor's supervision under its own kind (a stop whose work was lost: 'actor-stop'). */
  fault(error: Error, kind: string): void {
    this.onFault(error, kind);
  }

  attach(supervisor: Supervisor<never>): void {
    this.supervisors.set(supervisor.name, supervisor);
  }

  post(req: WatchdogRequest): void {
    // Only a start needs a thread: with none running, no actor is there for the rest to reach.
    if (req.op === 'start') this.ensure()?.postMessage({ ...req, heapMb: this.heapMb[req.actor as ThreadKind] });
    else this.worker?.postMessage(req);
  }

  /** Ends the watchdog thread once no actor is left to watch. */
  async release(): Promise<void> {
    if ([...this.supervisors.values()].some((s) => s.state !== 'stopped')) return;
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    // Its actors end with it: none may be in a call into native code then (native-gate.ts).
    const gates = [...this.supervisors.values()].flatMap((s) => (s.gate ? [shutGate(new Int32Array(s.gate.control), s.gate.index)] : []));
    if (gates.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(gates), new Promise((resolve) => (timer = setTimeout(resolve, RELEASE_GATE_MS).unref()))]);
      clearTimeout(timer);
    }
    await worker.terminate();
  }

  /** The watchdog thread, made when none runs; undefined while one could not be made (see unmade). */
  private ensure(): Worker | undefined {
    if (this.worker || this.unmade) return this.worker;
    let worker: Worker;
    try {
      ensureRoomForThread('watchdog');
      const mb = this.heapMb.watchdog;
      worker = new Worker(this.url, { ...hostThreadOptions(this.preloads), ...(mb === undefined ? {} : { resourceLimits: resourceLimitsFor('watchdog', mb) }) });
      holdUntilOnline(worker);
    } catch (error) {
      this.unmade = true;
      const refused = threadsRefused(error as Error);
      if (refused !== undefined) {
        // Not tried again, and no fault: it cannot pass, and start()'s error says it once.
        setImmediate(() => {
          this.unmade = false;
          this.refused(refused);
        });
        return undefined;
      }
      this.onFault(error as Error);
      // Counted once this call has returned: the other actors' starts posted meanwhile find
      // `unmade` and go nowhere, and the next try (lost, then watchdogLost) posts them all again.
      setImmediate(() => {
        this.unmade = false;
        this.lost(false, error as Error, true);
      });
      return undefined;
    }
    let heard = false;
    let lastError: Error | undefined;
    worker.on('message', (event: WatchdogEvent) => {
      heard = true;
      this.stillborn = 0;
      this.rounds = 0;
      this.supervisors.get(event.actor)?.onEvent(event);
    });
    // After the listener: a 'message' listener refs the worker's port, which unref() then lets go.
    worker.unref();
    worker.on('error', (error: Error) => {
      const mb = this.heapMb.watchdog;
      // At its heap limit it ended alone, its actors with it: said with the limit and the option.
      lastError = isOutOfMemory(error) && mb !== undefined ? Object.assign(new Error(outOfMemoryMessage('watchdog', mb)), { code: 'ERR_WORKER_OUT_OF_MEMORY' }) : error;
      this.onFault(lastError);
    });
    worker.once('exit', () => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.lost(heard, lastError, false);
    });
    this.worker = worker;
    return worker;
  }

  /**
   * No thread can be made in this process, for good (`why`: thread-error.ts, threadsRefused):
   * the actors start() waits for fail with it at once. One that ran before cannot be here (the
   * permissions are the process's for its life); were it, it stays down, said by a fault.
   */
  private refused(why: string): void {
    const error = new ActorError('watchdog', why);
    const down: string[] = [];
    for (const s of this.supervisors.values()) {
      if (s.state === 'starting') s.watchdogFailed(error);
      else if (s.state !== 'stopped') down.push(s.name);
    }
    if (down.length > 0) this.onFault(new ActorError('watchdog', `${why}: ${down.join(', ')} down`));
  }

  /**
   * The watchdog thread ended (`heard`: after it said a word), or none could be made
   * (`unmade`): a new one takes over every running actor, unless MAX_STILLBORN in a row ended
   * or were not made before a word. Then the actors start() waits for fail with the cause,
   * and those that ran are tried again after a wait that grows round by round.
   */
  private lost(heard: boolean, lastError: Error | undefined, unmade: boolean): void {
    // The actors are down from now, whenever the new thread takes them over.
    const since = wallNow();
    const takeOver = (): void => {
      for (const s of this.supervisors.values()) s.watchdogLost(since);
    };
    if (!heard && ++this.stillborn >= MAX_STILLBORN) {
      this.stillborn = 0;
      const why = `its thread ${unmade ? `could not be made ${MAX_STILLBORN} times in a row` : `ended ${MAX_STILLBORN} times in a row before it started an actor`}${lastError ? ` (${describeError(lastError)})` : ''}`;
      const error = new ActorError('watchdog', `${why}: not started again`);
      const down: string[] = [];
      for (const s of this.supervisors.values()) {
        if (s.state === 'starting') s.watchdogFailed(error);
        else if (s.state !== 'stopped') down.push(s.name);
      }
      if (down.length === 0) return;
      const waitMs = Math.min(WATCHDOG_RETRY_MS * 2 ** this.rounds++, WATCHDOG_RETRY_MAX_MS);
      this.onFault(new ActorError('watchdog', `${why}: ${down.join(', ')} down until a thread can be made; tried again in ${waitMs / 1000} s`));
      setTimeout(takeOver, waitMs).unref();
      return;
    }
    // The watchdog died (its actors with it): a new one takes over every running actor.
    const now = wallNow();
    this.losses = this.losses.filter((t) => now - t < 60_000);
    this.losses.push(now);
    if (this.losses.length <= WATCHDOG_FAST_RESTARTS) takeOver();
    else setTimeout(takeOver, WATCHDOG_BACKOFF_MS).unref();
  }
}

export interface SupervisorOptions {
  /**
   * Called right after each message is posted to the actor: an actor that waits with a
   * blocking wait, and so reads its port only when it turns its event loop, is told here.
   */
  posted?: () => void;
  /**
   * Says, once an actor's stop could not finish, what of its work is lost ("the 500 samples
   * left in the rings … are lost"), or that nothing is, for the fault that says so: read then,
   * not guessed ahead (a collector hung after its last drain had lost nothing).
   */
  stopWork?: () => string;
}

export class Supervisor<Api extends { ready(): unknown; stop(): Promise<void> }> {
  readonly name: string;
  state: ActorState = 'stopped';
  restarts = 0;
  lastExit: ActorExit | undefined;
  private readonly url: URL;
  private readonly data: () => object;
  private readonly events: ActorEvents<Api>;
  private readonly link: WatchdogLink;
  private readonly beat: BeatCells;
  /** The control block as f64 cells: the actor's beat (beat.at, beat.by). */
  private readonly cells: Float64Array;
  /** Called after each message posted to the actor (see SupervisorOptions.posted). */
  private readonly posted: (() => void) | undefined;
  private readonly stopWork: () => string;
  private instance: Instance<Api> | undefined;
  /** The instance being made ready, if any. */
  private starting: Instance<Api> | undefined;
  private next: Deferred<Instance<Api>> = deferred();
  /** While stop() waits for a successor to do the stop of an instance that died in its own: resolved with it once ready. */
  private finisher: Deferred<Instance<Api>> | undefined;
  /** Its threads in a row that ended before they were ready while start() waits (see onExit). */
  private stillborn = 0;
  /**
   * While the running actor's successors end before they start (a crash loop: see onExit), why:
   * a call then fails at once, rather than wait for one that may never come up. Rejected when
   * the first such successor ends, for the calls already waiting; cleared once one is ready.
   */
  private crashLoop: Deferred<never> = deferred();
  private crashing: { restart: number; why: string } | undefined;

  constructor(name: string, url: URL, data: () => object, events: ActorEvents<Api>, link: WatchdogLink, beat: BeatCells, options: SupervisorOptions = {}) {
    this.posted = options.posted;
    this.stopWork = options.stopWork ?? (() => 'what its stop had not done is lost');
    this.name = name;
    this.url = url;
    this.data = data;
    this.events = events;
    this.link = link;
    this.beat = beat;
    this.cells = new Float64Array(beat.control);
    link.attach(this as unknown as Supervisor<never>);
  }

  /** The actor's native gate (native-gate.ts), if it has one. */
  get gate(): { control: SharedArrayBuffer; index: number } | undefined {
    return this.beat.gate === undefined ? undefined : { control: this.beat.control, index: this.beat.gate };
  }

  /** Starts the actor; resolves once it answers calls. */
  async start(): Promise<void> {
    if (this.state !== 'stopped') return;
    this.link.checkFile();
    checkWorkerFile(this.name, this.url);
    this.state = 'starting';
    this.stillborn = 0;
    this.next = deferred();
    this.link.post({ op: 'start', actor: this.name, url: this.url.href, data: this.data(), beat: this.beat });
    await this.next.promise;
  }

  /** Hands the watchdog the actor's current data, for the actors it starts from now on. */
  updateData(): void {
    if (this.state !== 'stopped') this.link.post({ op: 'data', actor: this.name, data: this.data() });
  }

  /**
   * Runs a control call on the actor. When the actor dies during the call, `retry` says
   * whether to run it again on the successor.
   */
  call<T>(fn: (remote: Comlink.Remote<Api>) => Promise<T>, retry = false): Promise<T> {
    return holding(this.callNow(fn, retry));
  }

  private async callNow<T>(fn: (remote: Comlink.Remote<Api>) => Promise<T>, retry: boolean): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (this.state === 'stopped') throw new ActorError(this.name, 'is not running');
      // A ready actor is called before this function first yields: the message leaves even
      // if this thread then stays busy (a producer() followed by a recording loop).
      const instance = this.state === 'running' && this.instance ? this.instance : await this.successor();
      try {
        return await instance.untilExit(fn(instance.remote));
      } catch (error) {
        if (!(error instanceof ActorError) || !retry || attempt > 0 || (this.state as ActorState) === 'stopped') throw error;
      }
    }
  }

  /**
   * The instance a call waits for while the actor is not running. A running actor's successors
   * are tried for as long as it takes (the watchdog spacing the tries), and a call waited for
   * one to come up without bound: a report, a history or a flush hung for as long as the
   * storage actor's successors died in their start-up. While they do, the call fails saying so.
   */
  private successor(): Promise<Instance<Api>> {
    if (this.state !== 'restarting') return this.next.promise;
    if (this.crashing) return Promise.reject(this.downError(this.crashing));
    return Promise.race([this.next.promise, this.crashLoop.promise]);
  }

  private downError(down: { restart: number; why: string }): ActorError {
    return new ActorError(this.name, `is down, its restarts ending before they start (restart ${down.restart}: ${down.why}); the call was not made: the watchdog keeps starting another, and calls are answered once one is up`);
  }

  /**
   * Terminates the running actor from outside (a drill: as an OOM kill would); resolves once it
   * is gone. Held (hold.ts): waiting on our unref'd threads, a host that awaited it and nothing
   * else reached 'beforeExit', whose stop() of its monitor then refused the drill's next record.
   */
  kill(): Promise<void> {
    return holding(this.killNow());
  }

  private async killNow(): Promise<void> {
    // A successor still being made ready (the watchdog may report it up first) is the target.
    const instance = await this.next.promise.catch(() => undefined);
    if (!instance || this.state === 'stopped') return;
    this.link.post({ op: 'kill', actor: this.name });
    await instance.gone;
  }

  /**
   * The actor's beat now, for beatSince: a caller that asked it something and waits for the
   * answer marks the beat first.
   */
  beatMark(): BeatMark {
    return { at: this.cells[this.beat.at]!, by: this.cells[this.beat.by]! };
  }

  /** Whether the actor has beaten (its clock or its promise written) since `mark`. */
  beatSince(mark: BeatMark): boolean {
    return this.cells[this.beat.at] !== mark.at || this.cells[this.beat.by] !== mark.by;
  }

  /**
   * Stops the actor. `unanswered`: the mark (beatMark) taken as the caller asked the actor
   * something that went unanswered for STOP_TIMEOUT_MS (the storage link's last flush): an actor
   * that has not beaten since is hung, and is handed to a successor at once rather than given
   * the bound a second time.
   */
  stop(unanswered?: BeatMark): Promise<void> {
    return holding(this.stopNow(unanswered));
  }

  private async stopNow(unanswered?: BeatMark): Promise<void> {
    if (this.state === 'stopped') return;
    // An actor being replaced (it died, or hung) comes up first, within the bound: its stop()
    // is what saves the others' work (the storage actor's last flush of what the store holds
    // since the last one, the collector's drain of the rings). Terminated while it started,
    // a dead storage actor's successor never wrote them, and a stop() then (the host ending
    // at 'beforeExit', a SIGTERM) lost them all.
    if (this.state === 'restarting') await withinStop(this.next.promise, () => undefined).catch(() => {});
    // Another stop() meanwhile did the rest.
    if ((this.state as ActorState) === 'stopped') return;
    this.state = 'stopped';
    // Calls waiting for an actor that will not come now fail (call() sees 'stopped').
    this.next.reject(new ActorError(this.name, 'is not running'));
    // The watchdog replaces it no more, but still ends it should it hang (stopInstance: it
    // died, and a successor does its stop).
    this.link.post({ op: 'retire', actor: this.name });
    const instance = this.instance ?? this.starting;
    let ended: StopEnd = { how: 'done' };
    if (instance && instance === this.instance) {
      ended = unanswered && !this.beatSince(unanswered) ? { how: 'died', reason: `no heartbeat since it was asked to flush, ${STOP_TIMEOUT_MS} ms before its stop`, hung: true } : await this.stopInstance(instance);
    }
    await this.terminate(instance);
    if (ended.how === 'died') {
      // Its stop's work is not done (the rings not drained, the store not written): a successor
      // does it from shared memory, as the watchdog's would have a moment before the stop. Left
      // as it lay, what it had not done was lost without a word (the series' names too, for a
      // storage actor that died just before stop() and whose successor died in its flush).
      const error = new ActorError(this.name, `died during its stop (${ended.reason}): a successor does its stop`);
      this.lastExit = { actor: this.name, code: -1, error, restarts: this.restarts, hung: ended.hung, at: wallNow() };
      this.events.exit(this.lastExit);
      const first = ended.reason;
      ended = await this.stopBySuccessor();
      if (ended.how !== 'done') this.lost(`it died during its stop (${first}), and ${ended.how === 'died' ? `so did its successor (${ended.reason})` : ended.how === 'late' ? `its successor did not finish the stop within ${STOP_TIMEOUT_MS} ms` : `no successor came up within ${STOP_TIMEOUT_MS} ms`}`);
    } else if (ended.how === 'late') {
      // Slow rather than dead (a flush on a slow disk, beating as it began): a successor would
      // start the same work over under the same bound, and a host's shutdown waited for it once already.
      this.lost(`it did not finish its stop within ${STOP_TIMEOUT_MS} ms and was terminated`);
    }
    await this.link.release();
  }

  /**
   * Asks a ready instance to stop() and says how that ended, within STOP_TIMEOUT_MS. One that
   * has not beaten since it was asked is hung, not slow: the watchdog ends a hung actor only
   * once it is overdue on its promise, and the storage actor's is its flush interval plus 10 s,
   * past the bound; taken for slow, a storage actor hung in a loop was terminated with no
   * successor, and what the store held since its last flush was lost (the series' names too).
   */
  private stopInstance(instance: Instance<Api>): Promise<StopEnd> {
    const mark = this.beatMark();
    const answered = Promise.race<StopEnd>([
      // An error its stop() threw is its answer: it lives, and its stop ran.
      instance.remote.stop().then(
        () => ({ how: 'done' }),
        () => ({ how: 'done' }),
      ),
      instance.exited.catch(() => ({ how: 'died', reason: instance.exitReason ?? 'it exited', hung: instance.exitHung === true })),
    ]);
    return withinStop(answered, (): StopEnd => (this.beatSince(mark) ? { how: 'late' } : { how: 'died', reason: `no heartbeat in the ${STOP_TIMEOUT_MS} ms since it was asked to stop`, hung: true }));
  }

  /**
   * Has the watchdog end the actor's thread, and waits (within the bound) until it is gone.
   * Calls still waiting on it then fail: one in a call into native code that outlasts the
   * bound (a disk that hangs) may end only with the watchdog's thread, whose end reports no
   * exit, and a call of the host's left waiting held its event loop for good (hold.ts), so
   * that a host whose disk hung 15 s or more in stop() never ended.
   */
  private async terminate(instance: Instance<Api> | undefined): Promise<void> {
    this.link.post({ op: 'terminate', actor: this.name });
    if (instance) {
      await withinStop(instance.gone, () => undefined);
      instance.fail(new ActorError(this.name, 'was ended by stop() before it answered'));
    }
    this.instance = undefined;
    this.starting = undefined;
  }

  /** Starts a successor (once, within the bound) to do the stop of an instance that died in its own; says how its stop ended. */
  private async stopBySuccessor(): Promise<StopEnd> {
    const up = deferred<Instance<Api>>();
    this.finisher = up;
    this.link.post({ op: 'start', actor: this.name, url: this.url.href, data: this.data(), beat: this.beat });
    const successor = await withinStop(up.promise, () => undefined);
    this.finisher = undefined;
    let ended: StopEnd = { how: 'absent' };
    if (successor) {
      this.link.post({ op: 'retire', actor: this.name });
      ended = await this.stopInstance(successor);
    }
    await this.terminate(successor ?? this.starting);
    return ended;
  }

  /** A stop that could not finish: a fault of kind 'actor-stop' (status().faults), saying why and what is lost. */
  private lost(why: string): void {
    this.link.fault(new ActorError(this.name, `${why}: ${this.stopWork()}`), 'actor-stop');
  }

  /** A report from the watchdog thread about this actor. */
  onEvent(event: WatchdogEvent): void {
    if (event.ev === 'instance') this.onInstance(event.gen, event.port);
    else if (event.ev === 'exit') this.onExit(event);
    else if (event.ev === 'stuck') {
      this.link.fault(new ActorError(this.name, `it is to be ended (replaced, or stopped), and one of its calls into native code (SQLite) has not returned for ${event.ms / 1000} s: a disk that hangs? It ends once the call returns; until then it does nothing (no flush) and has no successor`), 'actor-stuck');
    } else if (this.state !== 'stopped') {
      this.events.restart({ actor: this.name, restarts: event.restarts, downMs: event.downMs });
      this.restarted(event.restarts, event.downMs);
    }
  }

  /**
   * A successor beats: the restart is a fault of kind 'actor-restart' (status().faults, the
   * monitor_faults metric, one warning for the first), saying why the actor ended and how long
   * it was down. Told only as events and a count, a collector that hung twice left faults at 0,
   * no warning, and a status line of "restarts 2" with no reason. A stop() retires the actor
   * first, so neither its own exit nor a successor that does its stop comes here.
   */
  private restarted(restarts: number, downMs: number): void {
    const why = this.lastExit ? exitReason(this.lastExit) : 'it ended';
    this.link.fault(new ActorError(this.name, `restarted after ${Math.round(downMs)} ms down (restart ${restarts}); it had ended: ${why}`), 'actor-restart');
  }

  /**
   * A successor of a running actor ended before its first beat (it crashed in its start-up): a
   * restart too, a fault of kind 'actor-restart' as one that came up is. Counted only once a
   * successor beat, a crash loop of successors that never started left faults at 0, and one
   * that ended was one fault for all its restarts. The watchdog spaces the tries (FAST_RESTARTS
   * a minute, then one each BACKOFF_MS: watchdog.ts), so these are a few a second at most.
   */
  private endedUnstarted(restart: number, downMs: number, why: string): void {
    this.link.fault(new ActorError(this.name, `restart ${restart} ended before it started (${why}), down ${Math.round(downMs)} ms so far; the watchdog starts another`), 'actor-restart');
  }

  /** No watchdog thread could start (WatchdogLink, MAX_STILLBORN) while start() waits for this actor: it is stopped, and start() and whoever else waits for it fail with `error`. */
  watchdogFailed(error: ActorError): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.next.reject(error);
    for (const instance of [this.instance, this.starting]) {
      if (!instance) continue;
      instance.fail(error);
      instance.markGone();
      this.close(instance);
    }
    this.instance = undefined;
    this.starting = undefined;
  }

  /**
   * The watchdog thread died, and the actors with it: a new one starts them again, told the
   * count and since when the actor is down, so that its first beat is an 'actor-restart' as
   * after any exit (the new watchdog knew of no exit: the 'actor-exit' had none).
   */
  watchdogLost(at = wallNow()): void {
    if (this.state === 'stopped') return;
    const gen = (this.instance ?? this.starting)?.gen ?? 0;
    this.onExit({ ev: 'exit', actor: this.name, gen, code: -1, error: 'the watchdog thread ended', hung: false, expected: false, restarts: this.restarts + 1, at });
    this.link.post({ op: 'start', actor: this.name, url: this.url.href, data: this.data(), beat: this.beat, restarts: this.restarts, downSince: at });
  }

  private onInstance(gen: number, port: MessagePort): void {
    let rejectExited!: (error: Error) => void;
    const exited = new Promise<never>((_, reject) => (rejectExited = reject));
    exited.catch(() => {});
    const calls = new ExitRace();
    const fail = (error: Error): void => {
      rejectExited(error);
      calls.exit(error);
    };
    let markGone!: () => void;
    const gone = new Promise<void>((resolve) => (markGone = resolve));
    const endpoint = nodeEndpoint(port);
    const posted = this.posted;
    const remote = Comlink.wrap<Api>(
      posted
        ? {
            ...endpoint,
            postMessage(...args: Parameters<Comlink.Endpoint['postMessage']>) {
              endpoint.postMessage(...args);
              posted();
            },
          }
        : endpoint,
    );
    port.unref();
    const instance: Instance<Api> = { gen, port, remote, exited, untilExit: (work) => calls.until(work), fail, gone, markGone };
    if (this.state === 'stopped' && !this.finisher) {
      this.close(instance);
      return;
    }
    this.starting = instance;
    void (async () => {
      await Promise.race([remote.ready(), exited]);
      if (this.events.ready) await Promise.race([this.events.ready(remote), exited]);
      if (this.starting !== instance) return;
      // A successor for a stop (stopBySuccessor): it is not the running actor, only stop() calls it.
      if (this.state === 'stopped') {
        this.finisher?.resolve(instance);
        return;
      }
      this.starting = undefined;
      this.instance = instance;
      this.state = 'running';
      this.crashing = undefined;
      this.next.resolve(instance);
    })().catch(() => {
      // it died before it was ready: the watchdog reports the exit and starts another
    });
  }

  private onExit(event: Extract<WatchdogEvent, { ev: 'exit' }>): void {
    const instance = [this.instance, this.starting].find((i) => i?.gen === event.gen);
    const reason = event.error ?? `exited with code ${event.code}`;
    const error = new ActorError(this.name, reason);
    if (instance) {
      instance.exitReason = reason;
      instance.exitHung = event.hung;
      instance.fail(error);
      instance.markGone();
      this.close(instance);
      if (this.instance === instance) this.instance = undefined;
      if (this.starting === instance) this.starting = undefined;
    }
    if (event.expected || this.state === 'stopped') return;
    this.restarts = event.restarts;
    const info: ActorExit = { actor: this.name, code: event.code, error, restarts: event.restarts, hung: event.hung, at: wallNow() };
    this.lastExit = info;
    if (this.state === 'running') {
      this.state = 'restarting';
      this.next = deferred();
      this.crashLoop = deferred();
    }
    this.events.exit(info);
    if (event.downMs !== undefined && this.state === 'restarting') {
      this.endedUnstarted(event.restarts - 1, event.downMs, exitReason(info));
      this.crashing = { restart: event.restarts - 1, why: exitReason(info) };
      this.crashLoop.reject(this.downError(this.crashing));
    }
    // An actor that never comes up kept start() waiting for ever, and the host alive with it
    // (start() holds it): one whose thread the watchdog could not make (at the process's limit
    // on threads) was made again a few times a second for as long as the limit held. A running
    // actor's successors are tried for as long as it takes: the monitor runs meanwhile.
    if (this.state === 'starting' && ++this.stillborn >= MAX_STILLBORN) {
      this.state = 'stopped';
      this.next.reject(new ActorError(this.name, `its thread ended ${MAX_STILLBORN} times in a row before it was ready (${reason}): not started again`));
      this.link.post({ op: 'terminate', actor: this.name });
      void this.link.release();
    }
  }

  private close(instance: Instance<Api>): void {
    instance.remote[Comlink.releaseProxy]();
    instance.port.close();
  }
}
