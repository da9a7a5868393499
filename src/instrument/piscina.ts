/**
 * Piscina pools, sampled once per collection interval (piscina publishes no diagnostics
 * channel, and wrapping run() would be patching): queue_size (tasks waiting), and over the
 * interval the mean wait and run times (pool_wait_time, pool_run_time, ms) and the share of
 * the pool's thread time spent running tasks (pool_utilization, 0-1), all tagged pool.
 *
 * Piscina keeps its timing histograms from the pool's start and resetting them would change
 * what its own `utilization` and `histogram` say to the service, so intervals come from
 * differences: time run = mean run time × tasks run, read each interval. Piscina records a
 * task's run time when it completes (a task aborted before it started records none, though
 * `completed` counts it) and its wait when it starts: the wait histogram covers the tasks run
 * and those running now. Taking it over completions (mean × completed) read 450, 1351, 2252,
 * 1351 ms for waits of 0, 900, 1800 and 2700: the interval's wait mean is that of the tasks
 * that started in it (startedCount()).
 *
 * Utilisation books a task's run time when it completes, so a task longer than the interval
 * would read 0 while it runs and past 1 (cut to 1) at its end: a single-threaded pool busy
 * all the time with 2.5 s tasks read 0.4 on average, and was not called saturated. The time
 * run beyond an interval's capacity is carried into the next ones, and an interval whose
 * queue held tasks at both its readings (so no thread was free) reads 1 at once, the time so
 * booked owed by the completions that follow: each reading at most 1, the sum right.
 */
import type { MetricHandle } from '../engine/producer.js';
import type { PiscinaLike } from './options.js';
import type { Recorder, Source } from './recorder.js';
import { clearInterval, monoNow, setInterval } from '../engine/real-timers.js';

interface PoolState {
  pool: PiscinaLike;
  queue: MetricHandle;
  wait: MetricHandle;
  run: MetricHandle;
  utilization: MetricHandle;
  at: number;
  completed: number;
  started: number;
  runSum: number;
  waitSum: number;
  /** Run time (ms) completed but not booked yet (> 0), or booked ahead of completions (< 0). */
  carry: number;
  queued: boolean;
  /** Destroyed or closed at the last reading (no thread, its minimum above 0): not read, not counted in `pools`. */
  ended: boolean;
}

/**
 * Tasks whose run time piscina recorded: its run histogram's count (piscina 5 keeps its
 * handler as `histogram.histogram`), else `completed` (which also counts tasks aborted before
 * they started).
 */
function runCount(pool: PiscinaLike): number {
  const count = pool.histogram.histogram?.runTimeCount;
  return typeof count === 'number' ? count : pool.completed;
}

/**
 * Tasks whose wait piscina recorded: those run and those running now, one per busy thread
 * (`threads` less `idleThreads`; with concurrentTasksPerWorker above 1 a thread's tasks count
 * as one, and a thread still starting counts as busy until its first reading after).
 */
function startedCount(pool: PiscinaLike): number {
  const threads = pool.threads?.length;
  const idle = pool.idleThreads;
  const busy = typeof threads === 'number' && typeof idle === 'number' ? Math.max(0, threads - idle) : 0;
  return runCount(pool) + busy;
}

/**
 * A pool destroyed (destroy(), or close(), which ends with it): no thread left though its
 * minimum is above 0, which piscina otherwise keeps (it replaces a thread that exits). A pool
 * of minThreads 0 with none running reads as idle, which it is.
 */
function isEnded(pool: PiscinaLike): boolean {
  const threads = pool.threads?.length;
  const min = pool.options.minThreads;
  return threads === 0 && typeof min === 'number' && min > 0;
}

/** The most run time carried or owed, in intervals of the pool's whole capacity. */
const MAX_CARRY_INTERVALS = 60;

export class PiscinaSource implements Source {
  private readonly recorder: Recorder;
  private readonly pools: Record<string, PiscinaLike>;
  private readonly intervalMs: number;
  private states: PoolState[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(recorder: Recorder, pools: Record<string, PiscinaLike>, intervalMs: number) {
    this.recorder = recorder;
    this.pools = pools;
    this.intervalMs = intervalMs;
  }

  get size(): number {
    return Object.keys(this.pools).length;
  }

  /**
   * Pools found destroyed or closed at their last reading (isEnded()): no longer read, until
   * they have threads again (piscina 5 starts them anew at a later run()).
   */
  get ended(): number {
    let n = 0;
    for (const s of this.states) if (s.ended) n++;
    return n;
  }

  /** Pools left out at the last attach(): the registry refused their series (maxSeries). */
  get refused(): number {
    return this.size - this.states.length;
  }

  /**
   * Makes each pool's series and starts sampling. A pool whose series the registry refuses
   * (at maxSeries) is left out, said by a fault: the CardinalityError came out of instrument(),
   * or out of start() with the monitor running half started (its tick never armed).
   */
  attach(): void {
    if (this.timer !== undefined || this.size === 0) return;
    const now = monoNow();
    this.states = [];
    for (const [name, pool] of Object.entries(this.pools)) {
      const tags = { pool: name };
      try {
        // All four or none: a pool left out takes no place of maxSeries.
        const [queue, wait, run, utilization] = this.recorder.metrics(['queue_size', 'pool_wait_time', 'pool_run_time', 'pool_utilization'].map((metric) => ({ name: metric, tags })));
        this.states.push({
          pool,
          queue: queue!,
          wait: wait!,
          run: run!,
          utilization: utilization!,
          at: now,
          completed: runCount(pool),
          started: startedCount(pool),
          runSum: (pool.histogram.runTime.mean || 0) * runCount(pool),
          waitSum: (pool.histogram.waitTime.mean || 0) * startedCount(pool),
          carry: 0,
          queued: pool.queueSize > 0,
          ended: false,
        });
      } catch (error) {
        this.recorder.fault('instrument-piscina', new Error(`pool "${name}" is not sampled: ${error instanceof Error ? error.message : String(error)}`));
      }
    }
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  detach(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One reading of every pool (the timer's work; callable to read now). */
  sample(): void {
    const now = monoNow();
    for (const s of this.states) {
      try {
        const p = s.pool;
        // A destroyed pool read 0 queued and 0 used every interval, as an idle one, for good.
        s.ended = isEnded(p);
        if (s.ended) {
          s.at = now;
          s.queued = false;
          continue;
        }
        const completed = runCount(p);
        const started = startedCount(p);
        // An empty histogram's mean is NaN.
        const runSum = (p.histogram.runTime.mean || 0) * completed;
        const waitSum = (p.histogram.waitTime.mean || 0) * started;
        const queued = p.queueSize > 0;
        s.queue.record(p.queueSize);
        const done = completed - s.completed;
        if (done > 0) s.run.record(Math.max(0, (runSum - s.runSum) / done));
        const starts = started - s.started;
        if (starts > 0) s.wait.record(Math.max(0, (waitSum - s.waitSum) / starts));
        const capacity = (now - s.at) * p.options.maxThreads;
        if (capacity > 0) {
          const ran = Math.max(0, runSum - s.runSum) + s.carry;
          // Tasks waiting at both readings: no thread was free in between.
          const booked = queued && s.queued ? capacity : Math.min(capacity, Math.max(0, ran));
          const bound = MAX_CARRY_INTERVALS * capacity;
          s.carry = Math.min(bound, Math.max(-bound, ran - booked));
          s.utilization.record(booked / capacity);
        }
        s.queued = queued;
        s.at = now;
        s.completed = completed;
        s.started = started;
        s.runSum = runSum;
        s.waitSum = waitSum;
      } catch (error) {
        this.recorder.fault('instrument-piscina', error);
      }
    }
  }
}
