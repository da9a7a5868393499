/**
 * The watchdog: supervision that no host thread can block. It runs in a worker thread of its
 * own (workers/watchdog.ts) and owns the actor workers as its children: it spawns each one,
 * hands the coordinator a MessagePort to talk to it (comlink runs over it), watches its
 * heartbeat in shared memory, replaces it when it exits or stops beating, and then tells the
 * coordinator. The host's threads may be busy or blocked on a full ring meanwhile: nothing
 * here waits for them, and a successor drains the rings by itself.
 *
 * Bounds: an actor that exits is replaced at once (its exit event); one that stops beating,
 * GRACE_MS after the time by which it promised its next beat (see engine/control.ts). A successor is
 * spawned at once, unless the actor has been replaced FAST_RESTARTS times in the last minute
 * (a crash loop), then BACKOFF_MS later: a replacement still comes within a second, and a
 * crash loop costs a few spawns a second at most. The thread wakes only when a promise falls
 * due, so an idle monitor costs it about one wake-up per actor round.
 *
 * A busy machine is not a hang: a thread that was runnable but found no free CPU cannot beat.
 * So an overdue actor's deadline moves by the time its thread spent waiting for a CPU since the
 * watchdog last found it on time (Linux's schedstat, from the thread id the actor stores),
 * at most MAX_STARVED_MS: one that spins or blocks gains none of that and is replaced on time;
 * one that spins on a crowded CPU is found later, but found. Replacing a starved collector
 * cost its host a resend (a hub) or a fresh start (its samples drained twice as fast) for
 * nothing, and on a loaded machine it happened several times a minute.
 *
 * schedstat adds a wait to the thread's total only when it ends, as the thread gets a CPU: a
 * thread waiting for one now shows none of that wait. So an overdue actor is looked at again
 * RUN_PROBE_MS later rather than replaced while the process has runnable threads (state R), and
 * then not judged while its thread is runnable and has not run since the last look (its time on
 * a CPU and its count of runs as they were); once it has run, the wait it ended is in its total,
 * and a wait begun since is shorter than the span since that look, which its deadline allows
 * for (and for the spans the looks found it waiting through: a thread its cgroup's quota holds
 * off the queue has no wait counted). An actor asleep is not judged while another thread of the process waited for a CPU since
 * the last look: it may wait for a lock that thread holds (V8's own, behind Atomics). All of it
 * within MAX_STARVED_MS past its deadline. Judged on the ended waits alone, a collector that one
 * wait for a CPU held 300-1300 ms on a loaded machine (load 6-15 on 2 cores; a CPU quota) was
 * replaced as hung, "no heartbeat for 504 ms", an instant before it would have beaten, and the
 * alert actor, asleep behind it, "no heartbeat for 1302 ms".
 *
 * A step of the wall clock is not a hang either. Actors beat in the monitor's clock (the wall
 * clock, moved ahead past a step back: engine/monitor-clock.ts), in which a step of the wall
 * clock forward, or one back until the collector finds it, moves every beat's age by its
 * size: 10 minutes forward and every actor was replaced as silent for 600 s; 10 minutes
 * back and none was looked at for 10 minutes, hung or not (its promise lay 10 minutes ahead).
 * The watchdog tells a step from the passing of time by its monotonic clock (performance.now()),
 * moves what it keeps in wall time by the step, and reads an actor's beat written before the
 * step (until it beats again) moved by the step as well (see `beatOf`).
 *
 * Nor is a stopped process: SIGSTOP, a debugger's pause, `docker pause`, a VM frozen, Ctrl-Z
 * stop every thread, the actors' and the watchdog's alike, and on SIGCONT the watchdog's round
 * fell due at once and found every actor silent for as long as the stop: an 8 s SIGSTOP
 * replaced a collector that was not hung, "no heartbeat for 8689 ms". A round that comes later
 * than its timer by more than GRACE_MS, less its own wait for a CPU (the watchdog's thread did
 * not run and did not wait to: the process was stopped, or its thread was) judges no actor on that gap: each actor's beat counts as written
 * then, its promise as far ahead as it was (a starting actor's start timeout moves by the gap),
 * until it beats again; a hung one is replaced that promise and the grace later.
 */
import { performance } from 'node:perf_hooks';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { ownThreadId, runnableThreads, threadWaitMs } from '../engine/thread-cpu.js';
import { closeFirst } from './close-first.js';
import { abandonGate, gateSettled, openGate, shutGate } from './native-gate.js';
import type { BeatCells, WatchdogEvent, WatchdogRequest } from './protocols.js';
import { describeError } from './thread-error.js';
import { ensureRoomForThread, holdUntilOnline } from './thread-room.js';
import { isOutOfMemory, outOfMemoryMessage, resourceLimitsFor, type ThreadKind } from './thread-limits.js';
import { ownThreadOptions } from './worker-argv.js';

/** How far past its promised beat an actor may be before it counts as hung. */
export const GRACE_MS = 300;
/** How long a new actor may take to beat for the first time (module loading, recovery). */
const START_TIMEOUT_MS = 15_000;
/** How often a starting actor is looked at, to report its first beat promptly. */
const STARTING_POLL_MS = 5;
/** Replacements per minute made at once; past them, each waits BACKOFF_MS. */
const FAST_RESTARTS = 60;
const BACKOFF_MS = 250;
/** The most an overdue actor's deadline moves for the time it waited for a CPU. */
export const MAX_STARVED_MS = 2_000;
/** How soon an overdue actor whose thread is runnable is looked at again (see the file's comment). */
export const RUN_PROBE_MS = 10;
/** The clocks' resolution the watchdog allows for when it compares a wait for a CPU with the time (see check). */
const CLOCK_TICK_MS = 1;
/** A change of the wall clock against the monotonic one past this (ms) is a step of the wall clock, not drift. */
export const STEP_MS = 50;
/** How long an instance to be terminated may stay in one call into native code before the watchdog reports it (event 'stuck'). */
export const STUCK_MS = 2_000;
/**
 * How long an instance to be terminated has to close what it holds open in native code first
 * (close-first.ts): one that idles or works answers in a few ms; a thread stuck in a loop of
 * its own never does, and its successor starts this much later.
 */
export const CLOSE_FIRST_MS = 500;
/** The longest the watchdog sleeps (an idle actor promises a beat a second ahead). */
const MAX_WAKE_MS = 2_000;

/** The watchdog's clocks: the wall clock the actors beat in, and a monotonic one (tests step the wall clock). */
export interface WatchdogClock {
  wall(): number;
  mono(): number;
}

const SYSTEM_CLOCK: WatchdogClock = { wall: () => Date.now(), mono: () => performance.now() };

interface Watched {
  name: string;
  url: string;
  data: object;
  /** Its thread's heap limit (MB; thread-limits.ts), or undefined for V8's default. */
  heapMb: number | undefined;
  f64: Float64Array;
  beat: BeatCells;
  /** The control block as Int32 cells, when the actor has a native gate (beat.gate). */
  gate: Int32Array | undefined;
  /** The generation its gate was last opened for: the current instance's. */
  gateGen: number;
  worker: Worker | undefined;
  gen: number;
  spawnedAt: number;
  /** The actor's clock when this instance was spawned: a new value is its first beat. */
  clockAtSpawn: number;
  beating: boolean;
  /**
   * Being stopped (op 'retire'): its exit is expected and gets no successor, but a hang still
   * ends it, so that stop() has a successor do its stop's work. Unwatched while it stopped, a
   * collector hung in a loop held stop() to its 5 s bound, and what waited in the rings was lost.
   */
  retired: boolean;
  /** False once it is terminated for good (op 'terminate'): its beat is not looked at any more. */
  watched: boolean;
  /** Set when the watchdog terminates the instance: why. */
  ending: string | undefined;
  /** When the previous instance died, while its successor has not beaten yet. */
  downSince: number | undefined;
  restarts: number;
  recent: number[];
  /** Its thread's wait for a CPU (ms) when last found on time; NaN when unknown. */
  waitMs: number;
  /**
   * Once found overdue: the process's runnable threads at the last look, how far each had run,
   * and when (monotonic ms); `waited`, the spans between looks it was let wait through.
   */
  runProbe: { runnable: Map<number, string>; mono: number; waited: number } | undefined;
  /**
   * After a step of the wall clock, until the actor beats again: its clock cell as it was
   * when the step was found, and the step (ms). A beat written before the step is moved by it.
   */
  stepFrom: number | undefined;
  step: number;
  /**
   * After a round of the watchdog that came late (the process was stopped), until the actor
   * beats again: its clock cell as it was then, and when that round was (wall ms). Its beat
   * counts as written at that round (see `beatOf`).
   */
  lateFrom: number | undefined;
  lateAt: number;
  /** While it starts: the ms of late rounds since it was spawned, which its start timeout does not count. */
  startLate: number;
}

/** The calling thread's wait for a CPU so far (ms; NaN off Linux), read by its own thread id. */
function ownWait(): () => number {
  const tid = ownThreadId();
  return () => threadWaitMs(tid);
}

export class Watchdog {
  private readonly actors = new Map<string, Watched>();
  private readonly send: (event: WatchdogEvent, transfer?: MessagePort[]) => void;
  private readonly waitOf: (tid: number) => number;
  private readonly runnableNow: () => Map<number, string> | undefined;
  /** The watchdog's own thread id, left out of the threads an actor may wait behind. */
  private readonly ownTid = ownThreadId();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  /** When the timer is due, in the monotonic clock: a round later than that by more than GRACE_MS was stopped (see check). */
  private timerDue = Infinity;
  /** The watchdog's own thread's wait for a CPU so far (ms), and what it was when the timer was set. */
  private readonly selfWait: () => number;
  private selfWaitAtArm = Number.NaN;
  private readonly clock: WatchdogClock;
  /** The wall clock less the monotonic one when last read: a change past STEP_MS is a step. */
  private skew: number;

  /**
   * `waitOf`: a thread's wait for a CPU so far (ms), by thread id; `selfWait`, the watchdog's
   * own thread's; `runnableNow`, the process's runnable threads and how far each has run
   * (runnableThreads); tests stand in for the kernel's, and for the clocks.
   */
  constructor(
    send: (event: WatchdogEvent, transfer?: MessagePort[]) => void,
    waitOf: (tid: number) => number = threadWaitMs,
    clock: WatchdogClock = SYSTEM_CLOCK,
    selfWait: () => number = ownWait(),
    runnableNow: () => Map<number, string> | undefined = runnableThreads,
  ) {
    this.send = send;
    this.waitOf = waitOf;
    this.runnableNow = runnableNow;
    this.selfWait = selfWait;
    this.clock = clock;
    this.skew = clock.wall() - clock.mono();
  }

  /**
   * The wall clock, after moving what the watchdog keeps in wall time by a step of it found
   * since the last reading; each actor's beat is then read through beatOf until it beats again.
   */
  private now(): number {
    const wall = this.clock.wall();
    const skew = wall - this.clock.mono();
    const step = skew - this.skew;
    this.skew = skew;
    if (Math.abs(step) <= STEP_MS) return wall;
    this.timerAt += step;
    for (const w of this.actors.values()) {
      w.spawnedAt += step;
      if (w.downSince !== undefined) w.downSince += step;
      w.recent = w.recent.map((t) => t + step);
      // A second step before the actor beat again adds to the first.
      if (w.stepFrom === undefined) {
        w.stepFrom = w.f64[w.beat.at]!;
        w.step = step;
      } else w.step += step;
    }
    return wall;
  }

  /**
   * The actor's clock cell and promise, in the wall clock of now. Until it beats after a step,
   * its last beat may have been written before the step (in the old wall clock: moved by the
   * step) or after it, before the watchdog read the clock: of the two readings, the latest
   * that is not in the future (a beat is never written ahead of the clock).
   */
  private beatOf(w: Watched, now: number): { at: number; by: number } {
    const beat = this.steppedBeat(w, now);
    if (w.lateFrom === undefined) return beat;
    if (w.f64[w.beat.at] !== w.lateFrom) {
      w.lateFrom = undefined;
      return beat;
    }
    // Not beaten since a late round: as if it beat then, promising as far ahead as it did.
    const shift = Math.max(0, w.lateAt - beat.at);
    return { at: beat.at + shift, by: beat.by + shift };
  }

  /** The actor's clock cell and promise after a step of the wall clock (see beatOf). */
  private steppedBeat(w: Watched, now: number): { at: number; by: number } {
    const at = w.f64[w.beat.at]!;
    const by = w.f64[w.beat.by]!;
    if (w.stepFrom === undefined) return { at, by };
    if (at !== w.stepFrom) {
      w.stepFrom = undefined;
      return { at, by };
    }
    const moved = at + w.step;
    const shift = moved <= now + STEP_MS && (moved > at || at > now + STEP_MS) ? w.step : 0;
    return { at: at + shift, by: by + shift };
  }

  handle(req: WatchdogRequest): void {
    if (req.op === 'start') {
      const old = this.actors.get(req.actor);
      // Replaced: its end is expected, and starts no instance of its own (its exit did: a second
      // instance beside the new one, which took the gate from it).
      if (old) {
        old.retired = true;
        old.watched = false;
      }
      const ending = old?.worker ? this.terminate(old, old.worker) : undefined;
      const w: Watched = {
        name: req.actor,
        url: req.url,
        data: req.data,
        heapMb: req.heapMb,
        f64: new Float64Array(req.beat.control),
        beat: req.beat,
        gate: req.beat.gate === undefined ? undefined : new Int32Array(req.beat.control),
        gateGen: 0,
        worker: undefined,
        gen: old?.gen ?? 0,
        spawnedAt: 0,
        clockAtSpawn: 0,
        beating: false,
        retired: false,
        watched: true,
        ending: undefined,
        downSince: old ? undefined : req.downSince,
        restarts: old?.restarts ?? req.restarts ?? 0,
        recent: [],
        waitMs: Number.NaN,
        runProbe: undefined,
        stepFrom: undefined,
        step: 0,
        lateFrom: undefined,
        lateAt: 0,
        startLate: 0,
      };
      this.actors.set(req.actor, w);
      // A gated instance still running closes what it holds first, through its gate: opened for
      // the new instance at once, the gate refused that close (close-first.ts).
      if (ending && w.gate) void ending.then(() => this.actors.get(w.name) === w && !w.worker && w.watched && this.spawn(w));
      else this.spawn(w);
      return;
    }
    const w = this.actors.get(req.actor);
    if (!w) return;
    if (req.op === 'data') w.data = req.data;
    else if (req.op === 'retire') w.retired = true;
    else if (req.op === 'terminate') {
      w.retired = true;
      w.watched = false;
      if (w.worker) void this.terminate(w, w.worker);
    } else if (req.op === 'kill' && w.worker && !w.retired) {
      w.ending = 'killed from outside (terminated)';
      void this.terminate(w, w.worker);
    }
  }

  /**
   * Terminates `worker`, w's instance: once its native gate is shut, when it has one
   * (native-gate.ts), so that the termination lands between its calls into native code.
   * Resolves once the thread has ended.
   */
  private terminate(w: Watched, worker: Worker): Promise<unknown> {
    if (!w.gate) return worker.terminate();
    // It closes what it holds open in native code first, if it answers in time (close-first.ts).
    // Then one call that does not return (a disk that hangs) holds the termination: it is reported.
    const gen = w.gen;
    const cells = w.gate;
    const index = w.beat.gate!;
    const gateGen = w.gateGen;
    // The close waits for a call in flight, as the gate's shut does: the report's timer spans both.
    const stuck = setTimeout(() => this.send({ ev: 'stuck', actor: w.name, gen, ms: STUCK_MS }), STUCK_MS);
    return closeFirst(cells, index, gateGen, CLOSE_FIRST_MS).then(async () => {
      await shutGate(cells, index, gateGen);
      clearTimeout(stuck);
      return worker.terminate();
    });
  }

  private spawn(w: Watched): void {
    // A native gate is opened for the new instance only once the one before has no call in
    // flight: from then on that one can never enter it again, and may be terminated at will.
    if (w.gate) {
      const opened = openGate(w.gate, w.beat.gate!);
      if (opened === undefined) {
        void gateSettled(w.gate, w.beat.gate!).then(() => {
          if (this.actors.get(w.name) === w && !w.worker && w.watched) this.spawn(w);
        });
        return;
      }
      w.gateGen = opened;
    }
    const { port1, port2 } = new MessageChannel();
    const gen = ++w.gen;
    let worker: Worker;
    try {
      ensureRoomForThread(w.name);
      worker = new Worker(new URL(w.url), { workerData: { ...w.data, port: port2, ...(w.gate ? { gen: w.gateGen } : {}) }, transferList: [port2], ...ownThreadOptions(), ...(w.heapMb === undefined ? {} : { resourceLimits: resourceLimitsFor(w.name as ThreadKind, w.heapMb) }) });
      holdUntilOnline(worker);
    } catch (error) {
      // No thread could be made: new Worker() throws at once, with no 'error' event, when the
      // process is at its limit on threads (ulimit -u, a container's pids.max: EAGAIN). Thrown
      // on, it ended this thread and every actor it ran. It is this instance's exit, once this
      // call has returned, so the bounds on replacements hold for it.
      port1.close();
      port2.close();
      const reason = describeError(error as Error);
      setImmediate(() => {
        if (this.actors.get(w.name) === w && !w.worker) this.onExit(w, undefined, gen, -1, reason);
      });
      return;
    }
    w.worker = worker;
    w.spawnedAt = this.now();
    w.clockAtSpawn = w.f64[w.beat.at]!;
    w.stepFrom = undefined;
    w.lateFrom = undefined;
    w.startLate = 0;
    w.beating = false;
    w.ending = undefined;
    w.waitMs = Number.NaN;
    w.runProbe = undefined;
    let error: string | null = null;
    worker.on('error', (e: Error) => {
      // At its heap limit the thread ended alone: said with the limit and the option that raises it.
      error = isOutOfMemory(e) && w.heapMb !== undefined ? outOfMemoryMessage(w.name as ThreadKind, w.heapMb) : e.message;
    });
    const gateGen = w.gateGen;
    worker.once('exit', (code) => {
      // Its thread is gone: a call into native code it was in has ended with it.
      if (w.gate) abandonGate(w.gate, w.beat.gate!, gateGen);
      this.onExit(w, worker, gen, code, error);
    });
    this.send({ ev: 'instance', actor: w.name, gen, port: port1 }, [port1]);
    this.wakeAt(w.spawnedAt + STARTING_POLL_MS);
  }

  /** An instance ended (`worker`), or its thread could not be made (undefined). */
  private onExit(w: Watched, worker: Worker | undefined, gen: number, code: number, error: string | null): void {
    if (w.worker !== worker) return;
    w.worker = undefined;
    const now = this.now();
    const expected = w.retired;
    const hung = w.ending !== undefined && w.ending.startsWith('no heartbeat');
    const reason = w.ending ?? error;
    // Down since an earlier exit, and not beaten since: a restart that ended before it started.
    const downMs = !expected && w.downSince !== undefined ? Math.max(0, now - w.downSince) : undefined;
    if (!expected) {
      w.restarts++;
      w.downSince ??= now;
    }
    this.send({ ev: 'exit', actor: w.name, gen, code, error: reason, hung, expected, restarts: w.restarts, at: now, ...(downMs !== undefined ? { downMs } : {}) });
    if (expected) return;
    w.recent = w.recent.filter((t) => now - t < 60_000);
    w.recent.push(now);
    const delay = w.recent.length > FAST_RESTARTS ? BACKOFF_MS : 0;
    if (delay === 0) this.spawn(w);
    else setTimeout(() => !w.retired && !w.worker && this.spawn(w), delay);
  }

  /**
   * Looks at every actor's heartbeat; schedules the next look for when a promise falls due.
   * `late`: how much later than its timer this round came (ms); past GRACE_MS the watchdog's
   * thread did not run meanwhile (the process was stopped: SIGSTOP, a debugger, a frozen VM),
   * nor did the actors', and none is judged on that gap (see the file's comment).
   */
  private check(late = 0): void {
    const now = this.now();
    if (late > GRACE_MS) this.overlook(now, late);
    for (const w of this.actors.values()) {
      if (!w.worker || !w.watched || w.ending !== undefined) continue;
      const { at, by } = this.beatOf(w, now);
      if (!w.beating) {
        if (w.f64[w.beat.at] !== w.clockAtSpawn && at >= w.spawnedAt - 1) {
          w.beating = true;
          if (w.downSince !== undefined) {
            this.send({ ev: 'up', actor: w.name, gen: w.gen, at, downMs: Math.max(0, at - w.downSince), restarts: w.restarts });
            w.downSince = undefined;
          }
        } else if (now - w.spawnedAt - w.startLate > START_TIMEOUT_MS) {
          this.end(w, `no heartbeat for ${now - w.spawnedAt} ms since it was started`);
          continue;
        } else {
          this.wakeAt(now + STARTING_POLL_MS);
          continue;
        }
      }
      const due = Math.max(by, at) + GRACE_MS;
      const tid = w.f64[w.beat.tid]!;
      const waitMs = this.waitOf(tid);
      if (now <= due) {
        w.waitMs = waitMs;
        w.runProbe = undefined;
        this.wakeAt(due + 1);
        continue;
      }
      const starved = Math.max(0, Math.min(MAX_STARVED_MS, waitMs - w.waitMs)) || 0;
      // A thread that waited for a CPU all along gains one tick more: `now` and the wait are
      // read apart, each in whole ms at best, and an on-time reading taken in the ms after
      // `now` (at `due`) left the next look a tick short of it (seen in CI: replaced 352 ms
      // silent, "1 ms of it waiting for a CPU", in test/watchdog-starved.test.ts).
      if (now <= due + (starved > 0 ? starved + CLOCK_TICK_MS : 0)) this.wakeAt(due + starved + CLOCK_TICK_MS + 1);
      else if (this.waitingNow(w, tid, now, due, starved)) this.wakeAt(now + RUN_PROBE_MS);
      else this.end(w, `no heartbeat for ${now - at} ms` + (starved > 0 ? ` (${Math.round(starved)} ms of it waiting for a CPU)` : ''));
    }
  }

  /**
   * Whether overdue actor w may be waiting for a CPU now, a wait its thread's total (`starved`,
   * the ended waits) does not count yet: its thread is runnable and has not run since the last
   * look (or was asleep then), or has, and its silence is within its ended waits and the span
   * since that look; or
   * it is asleep while another thread of the process waited for a CPU since the last look (a
   * lock that thread holds, V8's own among them). The first look only reads the threads. Never
   * past MAX_STARVED_MS after its deadline. See the file's comment.
   */
  private waitingNow(w: Watched, tid: number, now: number, due: number, starved: number): boolean {
    if (now > due + MAX_STARVED_MS + CLOCK_TICK_MS) return false;
    const runnable = this.runnableNow();
    if (runnable === undefined) return false;
    runnable.delete(this.ownTid);
    const mono = this.clock.mono();
    const probe = w.runProbe;
    if (probe === undefined) {
      w.runProbe = { runnable, mono, waited: 0 };
      return runnable.size > 0;
    }
    const span = mono - probe.mono;
    const waited = this.waitedSince(probe.runnable, runnable, tid);
    w.runProbe = { runnable, mono, waited: probe.waited + (waited ? span : 0) };
    if (waited) return true;
    // Run since: the waits it ended are in `starved` (not one its cgroup's quota held it off the
    // queue for: the looks that found it waiting count that), and one begun since is shorter
    // than the span since the last look.
    return runnable.has(tid) && now <= due + Math.min(MAX_STARVED_MS, starved + probe.waited + span) + CLOCK_TICK_MS;
  }

  /**
   * Whether thread `tid` waited since the last look (`before`): runnable and not run since, or
   * asleep then (woken since, it may not have run yet); or asleep now while another thread of
   * the process is runnable and has not run since.
   */
  private waitedSince(before: Map<number, string>, runnable: Map<number, string>, tid: number): boolean {
    const ran = runnable.get(tid);
    if (ran !== undefined) {
      const then = before.get(tid);
      return then === undefined || ran === then;
    }
    for (const [other, at] of runnable) if (before.get(other) === at) return true;
    return false;
  }

  /** After a round `late` ms late, at `now`: each actor's beat counts as written now (beatOf), a starting one's timeout moves by the gap. */
  private overlook(now: number, late: number): void {
    for (const w of this.actors.values()) {
      // Those check() looks at.
      if (w.worker === undefined || !w.watched || w.ending !== undefined) continue;
      if (!w.beating) {
        w.startLate += late;
        continue;
      }
      // Once per silence: an actor that has not beaten since the last late round is judged from
      // it. Where the watchdog's own wait for a CPU cannot be read (off Linux, a sandbox without
      // schedstat), a crowded machine's late rounds would otherwise put off a hung actor's end
      // at each round.
      if (w.lateFrom !== undefined && w.f64[w.beat.at] === w.lateFrom) continue;
      w.lateFrom = w.f64[w.beat.at]!;
      w.lateAt = now;
    }
  }

  private end(w: Watched, reason: string): void {
    w.ending = reason;
    if (w.worker) void this.terminate(w, w.worker);
  }

  /**
   * Looks again at `t` (wall clock), or after MAX_WAKE_MS at the latest: a time computed just
   * before a step of the clock would otherwise set a wait as long as the step.
   */
  private wakeAt(t: number): void {
    if (t >= this.timerAt && this.timer) return;
    clearTimeout(this.timer);
    this.timerAt = t;
    const delay = Math.min(MAX_WAKE_MS, Math.max(0, t - this.clock.wall()));
    this.timerDue = this.clock.mono() + delay;
    this.selfWaitAtArm = this.selfWait();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      // Late by its own wait for a CPU is a crowded machine, not a stopped process: the actors
      // waited too, which check() allows for (MAX_STARVED_MS), and a hung one there must not
      // have its deadline put off at each late round. Only the rest was a stop.
      const waited = Math.max(0, this.selfWait() - this.selfWaitAtArm) || 0;
      this.check(this.clock.mono() - this.timerDue - waited);
    }, delay);
  }
}
