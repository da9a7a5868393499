/**
 * Profile captures of the host's main thread, on demand (monitor.profile(), the MCP tool)
 * and when an alert whose rule carries `capture` fires. One capture at a time: a second one
 * asked for meanwhile is refused with ProfileBusyError (not queued: an agent or a person
 * asking now wants the present, and an alert's firing then says on its history entry which
 * capture it waited for in vain). A rule starts at most one capture per ruleIntervalMs.
 *
 * Each capture is summarised here, as it ends (cpu-summary.ts, heap-summary.ts); its file
 * is written asynchronously (files.ts); the recent ones are kept for the MCP tool and the
 * next reports. Nothing here throws into the host: an alert's capture that fails is a fault
 * (counted) and a note on the alert, and the time it cost the main thread goes to the
 * overhead governor.
 */
import type { AlertRule, AlertTransition } from '../alerts/schema.js';
import { summarizeCpu, cpuHeadline, type CpuProfile } from './cpu-summary.js';
import { ProfileBusyError } from './errors.js';
import type { ProfileFilesStatus, ProfileFiles, Pruned } from './files.js';
import { heapHeadline, summarizeHeap, type HeapProfile } from './heap-summary.js';
import { captureProfile } from './inspector.js';
import type { ProfilingOptions } from './options.js';
import { DEFAULT_SECONDS } from './limits.js';
import { parseProfileRequest, type Capture, type CaptureNote, type ProfileRequest } from './schema.js';
import { workingDir } from './sites.js';
import { mapCpuProfile, mapHeapProfile } from './source-maps.js';
import { noteOf, skippedNote } from './text.js';
import { clearTimeout, monoNow, setTimeout, wallNow } from '../engine/real-timers.js';

export interface ProfilerDeps {
  options: ProfilingOptions;
  files: ProfileFiles;
  /** Main-thread time a capture cost beyond the profiler's sampling: the overhead governor counts it. */
  mainBusy(ms: number): void;
  /** A capture ended (the 'profile' event). */
  captured(capture: Capture): void;
  /** Puts a capture's note (or why there is none) on the firing transition that asked for it. */
  attach(transition: AlertTransition, note: CaptureNote, capture: Capture | null): void;
  /** The file named by the note on a firing transition was pruned (`why`): the entry, stored too, is to say so. */
  pruned?(transition: AlertTransition, why: string): void;
  fault(kind: string, error: unknown): void;
  /** The wall clock the rule rate limits count on: Node's own (real-timers.ts) unless a test gives one. */
  now?(): number;
}

/** status().profiling: the capture running, what was taken, refused and failed, and the files against their bounds. */
export interface ProfilerStatus {
  busy: { id: number; kind: string; endsAt: number } | null;
  /** Captures taken (each with its summary). */
  captures: number;
  /** Captures asked for and not started: another was running (one at a time), or an alert rule's rate limit (profiling.ruleIntervalMs). */
  refused: { busy: number; rateLimited: number };
  /** Alert firings that got no capture (refused, it failed, or the monitor was stopping): the note on their history entry says why. */
  skipped: number;
  /** Captures started that the inspector could not take, and the last one's error. */
  failed: number;
  lastError: { message: string; at: number } | null;
  dir: string;
  files: ProfileFilesStatus;
}

/**
 * Takes a capture and answers its summary (made where it is taken) and its file's text, with
 * the main-thread time both cost. The parsed profile (its nodes and call frames, and 7,000 to
 * 10,000 samples and time deltas for 10 s of a loaded server) lives in this frame only, which
 * has ended before the file is written: an async function keeps its variables while it
 * waits, so held by the caller it would survive the young generation's collections during
 * the write, be promoted to the old one, and cost a full collection after the capture.
 */
async function take(kind: Capture['kind'], until: Promise<void>, top: number, seconds: number): Promise<{ startedAt: number; endedAt: number; summary: Capture['summary']; json: string; mainMs: number }> {
  const raw = await captureProfile(kind, until, seconds);
  const endedAt = wallNow();
  const t0 = monoNow();
  const cwd = workingDir();
  // The file keeps V8's positions; the summary names the sources, as stack traces do (source-maps.ts).
  const json = JSON.stringify(raw.profile);
  if (kind === 'cpu') mapCpuProfile(raw.profile as CpuProfile);
  else mapHeapProfile(raw.profile as HeapProfile);
  const summary = kind === 'cpu' ? summarizeCpu(raw.profile as CpuProfile, top, cwd) : summarizeHeap(raw.profile as HeapProfile, top, cwd);
  return { startedAt: raw.startedAt, endedAt, summary, json, mainMs: raw.callMs + monoNow() - t0 };
}

/** Notes of captures a report carries, the newest. */
const REPORT_NOTES = 5;

export class Profiler {
  private readonly deps: ProfilerDeps;
  private current: { id: number; kind: string; endsAt: number; stop: () => void; done: Promise<Capture> | undefined } | undefined;
  private seq = 0;
  private recent: Capture[] = [];
  /** Per rule, when it last started a capture, and that capture's id. */
  private readonly lastByRule = new Map<string, { at: number; id: number }>();
  /** The firings whose note names a file, by that file, for when it is pruned (at most maxFiles: more files than that are not kept). */
  private readonly firingsByFile = new Map<string, AlertTransition>();
  private counts = { captures: 0, failed: 0, skipped: 0 };
  private refused = { busy: 0, rateLimited: 0 };
  private lastError: ProfilerStatus['lastError'] = null;
  private readonly now: () => number;
  /** While the monitor stops: an alert's firing then (the collector's last drain) starts no capture. */
  private stopping = false;

  constructor(deps: ProfilerDeps) {
    this.deps = deps;
    this.now = deps.now ?? wallNow;
    void deps.files.refresh();
  }

  /**
   * Captures a profile of the main thread for `seconds` and answers its summary; rejects with
   * InvalidArgumentError on a bad request, ProfileBusyError while another runs, ProfileError
   * when the inspector cannot take it.
   */
  async capture(request: ProfileRequest | undefined, alert: Capture['alert'] = null): Promise<Capture> {
    return this.begin(request, alert).done;
  }

  /**
   * Starts a capture and answers at once with its id and end (for answers that cannot wait
   * its length); `done` settles as capture() does, `stop` ends it early (its summary covers
   * what it sampled; after its end, nothing). Throws what capture() rejects with. It holds
   * the host until its end, as a timer does, but for an alert's; `unref()` lets the host end
   * before (one no caller waits on: an agent's through MCP), its monitor's stop at
   * 'beforeExit' then ending it early. Unheld by default, a script's `await
   * startProfile().done` with nothing else to do ended the process with code 13, its top-level
   * await unsettled (an unstarted monitor is not stopped at 'beforeExit').
   */
  begin(request: ProfileRequest | undefined, alert: Capture['alert'] = null): { id: number; endsAt: number; done: Promise<Capture>; stop: () => void; unref: () => void } {
    const { kind, seconds } = parseProfileRequest(request);
    if (this.current) {
      this.refused.busy++;
      throw new ProfileBusyError(this.current.id, this.current.kind, this.current.endsAt);
    }
    const id = ++this.seq;
    let stop!: () => void;
    const until = new Promise<void>((resolve) => (stop = resolve));
    const current = { id, kind, endsAt: 0, stop, done: undefined as Promise<Capture> | undefined };
    this.current = current;
    // The profiler has started when run() returns (captureProfile starts it synchronously):
    // the capture's `seconds` count from there, and what the caller runs next is sampled.
    const running = this.run(id, kind, until, alert, seconds);
    const timer = setTimeout(stop, seconds * 1000);
    // One no caller waits on (an alert's here, an agent's through MCP by unref()) must not
    // hold a host whose own work is done, for up to 120 s: a service that closed its server on
    // SIGTERM stayed up until the capture's end, past its orchestrator's grace period. Its
    // monitor is stopped at 'beforeExit', which ends it early.
    if (alert !== null) timer.unref();
    const endsAt = this.now() + seconds * 1000;
    current.endsAt = endsAt;
    current.done = running.finally(() => {
      clearTimeout(timer);
      this.current = undefined;
    });
    // A caller that did not wait (an answer that could not) must not leave an unhandled rejection in the host.
    current.done.catch(() => {});
    return { id, endsAt, done: current.done, stop, unref: () => void timer.unref() };
  }

  /** The running capture `id`'s settlement, if it is the one running. */
  running(id: number): Promise<Capture> | undefined {
    return this.current?.id === id ? this.current.done : undefined;
  }

  private async run(id: number, kind: Capture['kind'], until: Promise<void>, alert: Capture['alert'], seconds: number): Promise<Capture> {
    try {
      const { startedAt, endedAt, summary, json, mainMs } = await take(kind, until, this.deps.options.summaryTop, seconds);
      const written = await this.deps.files.write(kind, startedAt, id, json);
      const capture: Capture = {
        id,
        kind,
        startedAt,
        endedAt,
        seconds: Math.round((endedAt - startedAt) / 100) / 10,
        headline: summary.kind === 'cpu' ? cpuHeadline(summary) : heapHeadline(summary),
        summary,
        file: written.file,
        fileBytes: written.bytes,
        fileError: written.error,
        alert,
        mainThreadMs: Math.round(mainMs * 10) / 10,
      };
      this.counts.captures++;
      this.forgetPruned(written.pruned, id);
      this.recent.push(capture);
      if (this.recent.length > this.deps.options.keep) this.recent.shift();
      this.deps.mainBusy(mainMs);
      this.deps.captured(capture);
      return capture;
    } catch (error) {
      this.counts.failed++;
      this.lastError = { message: (error as Error).message, at: this.now() };
      throw error;
    }
  }

  /**
   * The kept captures and alert notes that named a file the bounds deleted (files.ts) say so
   * instead: getProfile(), the text answer, notes and reports pointed at a file that was gone.
   */
  private forgetPruned(pruned: Pruned[], by: number): void {
    if (pruned.length === 0) return;
    const at = new Date().toISOString();
    for (const { file, bound } of pruned) {
      const why = `pruned: deleted at ${at} to keep ${bound}, when capture ${by}'s file was written`;
      for (const c of this.recent) {
        if (c.file !== file) continue;
        c.file = null;
        c.fileError = why;
      }
      const t = this.firingsByFile.get(file);
      if (!t) continue;
      this.firingsByFile.delete(file);
      this.deps.pruned?.(t, why);
    }
  }

  /** An alert fired: its rule's capture, unless rate-limited or another capture runs (the note says which). Never throws. */
  onFiring(t: AlertTransition, rule: AlertRule): void {
    if (!rule.capture) return;
    const kind = rule.capture;
    const seconds = rule.captureSeconds ?? DEFAULT_SECONDS;
    const now = this.now();
    const skip = (why: string): void => {
      this.counts.skipped++;
      this.deps.attach(t, skippedNote(kind, now, seconds, why, rule.name), null);
    };
    try {
      // Nothing would end it: the monitor's stop() ended the running capture already, and an
      // alert's capture holds no host (its timer is unref'd), so at 'beforeExit' the process
      // ended with it unsettled, its firing with neither a capture nor a word of why.
      if (this.stopping) {
        skip('the monitor was stopping: a capture started during stop() would have nothing to end it');
        return;
      }
      const last = this.lastByRule.get(rule.id);
      const every = this.deps.options.ruleIntervalMs;
      if (last !== undefined && now - last.at < every) {
        this.refused.rateLimited++;
        skip(`rate-limited: this rule started capture ${last.id} at ${new Date(last.at).toISOString()}, and starts one per ${every / 1000} s (profiling.ruleIntervalMs)`);
        return;
      }
      if (this.current) {
        this.refused.busy++;
        skip(`capture ${this.current.id} (${this.current.kind}) was running: one capture runs at a time`);
        return;
      }
      // An entry limits its rule for ruleIntervalMs only: older ones go, so that the rules an
      // agent creates and deletes over the monitor's life do not each stay here for good.
      for (const [id, last] of this.lastByRule) if (now - last.at >= every) this.lastByRule.delete(id);
      // begin() numbers the capture before its first await: the next id is this one's.
      this.lastByRule.set(rule.id, { at: now, id: this.seq + 1 });
      this.capture({ kind, seconds }, { ruleId: rule.id, ruleName: rule.name, fingerprint: t.fingerprint, metric: rule.metric }).then(
        (c) => {
          this.deps.attach(t, noteOf(c), c);
          if (c.file === null) return;
          this.firingsByFile.set(c.file, t);
          for (const file of this.firingsByFile.keys()) {
            if (this.firingsByFile.size <= this.deps.options.maxFiles) break;
            this.firingsByFile.delete(file);
          }
        },
        (error: unknown) => {
          this.deps.fault('profile', error);
          skip(`the capture failed: ${(error as Error).message}`);
        },
      );
    } catch (error) {
      this.deps.fault('profile', error);
    }
  }

  /**
   * Reads the files' directory again: the monitor's start() and stop() call it, since a
   * dataDir's `profiles` is where files go only while its lock is held (the read at
   * construction was of the temporary directory). Never rejects.
   */
  refreshFiles(): Promise<void> {
    return this.deps.files.refresh();
  }

  /** Ends the running capture now (its summary covers what it sampled). */
  stopEarly(): void {
    this.current?.stop();
  }

  /**
   * The monitor stops (true: alerts that fire from now on, in the collector's last drain, start
   * no capture, their entries saying why) or starts again (false). Captures asked for still run.
   */
  monitorStopping(on: boolean): void {
    this.stopping = on;
  }

  get(id: number): Capture | undefined {
    return this.recent.find((c) => c.id === id);
  }

  /** The captures kept, newest first. */
  list(): Capture[] {
    return [...this.recent].reverse();
  }

  /** Notes of the captures that started in [from, to], the newest REPORT_NOTES. */
  notes(from: number, to: number): CaptureNote[] {
    return this.recent
      .filter((c) => c.startedAt >= from && c.startedAt <= to)
      .slice(-REPORT_NOTES)
      .map(noteOf);
  }

  status(): ProfilerStatus {
    const c = this.current;
    return {
      busy: c ? { id: c.id, kind: c.kind, endsAt: c.endsAt } : null,
      ...this.counts,
      refused: { ...this.refused },
      lastError: this.lastError,
      dir: this.deps.files.dir,
      files: this.deps.files.status(),
    };
  }
}
