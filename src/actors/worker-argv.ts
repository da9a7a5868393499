/**
 * The Node options and environment each of our threads starts with.
 *
 * **Preloads.** A Worker inherits the host's `--require` and `--import` preloads (from its
 * command line, `process.execArgv`, and from `NODE_OPTIONS`), and runs each again on its own
 * thread: an APM agent or OpenTelemetry's auto-instrumentation started once more on each thread
 * of ours (the watchdog, every actor, the report pool, the /metrics renderer), each with its
 * own exporters, heap and telemetry of perfwatch's own traffic sent as the service's, and a
 * preload meant for the main thread that throws elsewhere kept the monitor from starting. By
 * default (`threadPreloads: 'skip'`) our threads start without them: the host's options less
 * its preloads, and `NODE_OPTIONS` less its preloads. `'inherit'` keeps them (a host whose
 * outbound network needs a preload, such as a proxy agent, for the exporter's and the
 * webhooks' requests).
 *
 * Yarn Plug'n'Play's runtime is kept either way: under PnP (Yarn Berry's default install) there
 * is no node_modules, and its preloads (`--require …/.pnp.cjs`, `--experimental-loader
 * …/.pnp.loader.mjs` in NODE_OPTIONS) are how any module finds its dependencies, perfwatch's
 * threads' too. Left out, every thread died at its first import (MODULE_NOT_FOUND, three
 * watchdogs in a row) and start() failed, a trial; they instrument nothing.
 *
 * **`--input-type`**, which a host run as `node --input-type=module -e '…'` (or with its code on
 * stdin) has, ends every Worker that inherits it at once ("--input-type can only be used with
 * string input via --eval, --print, or STDIN"): the watchdog, started again for its actors, died
 * in a loop that took a core, and start() never settled. It is left out too.
 *
 * Left out of an explicit list, the rest is given explicitly; but an explicit list is checked,
 * and V8's and the process's options in it (`--max-old-space-size`, `--stack-size`, …: they hold
 * for every thread anyway) make `new Worker` throw ERR_WORKER_INVALID_EXEC_ARGV. So the list is
 * tried once on a thread that does nothing, and the options Node names in its refusal are left
 * out. With nothing left out, nothing is given, and nothing is checked: a host's V8 options
 * never stop our threads.
 *
 * Their environment is the host's with NODE_NO_WARNINGS set: a Worker says again the warnings
 * of the options it inherits (--frozen-intrinsics' ExperimentalWarning, the permission model's
 * SecurityWarning for --allow-worker) and of the host's preloads, and each thread of ours
 * printed a copy into the host's stderr, each replacement one more. Nothing of ours speaks
 * through a warning on those threads: a fault is said by the main thread (src/monitor/faults.ts).
 *
 * And they carry the mark of our threads (own-thread.ts), which a monitor built there by a
 * preload of the host's (threadPreloads: 'inherit') reads to make no thread of its own.
 *
 * Only the host's thread decides (hostThreadOptions): a thread of ours that makes others (the
 * watchdog makes the actors) passes on what it was given (ownThreadOptions).
 */
import { Worker } from 'node:worker_threads';
import { ownThreadMark } from './own-thread.js';
import { roomForThread } from './thread-room.js';

/** Whether our threads run the host's `--require` / `--import` preloads (MonitorOptions.threadPreloads). */
export type ThreadPreloads = 'skip' | 'inherit';

/** What `new Worker` is given: `execArgv` undefined inherits the creating thread's. */
export interface ThreadOptions {
  execArgv: string[] | undefined;
  env: NodeJS.ProcessEnv;
}

/** Options that load code into every thread they reach, each with its value. */
const PRELOADS = new Set(['--require', '-r', '--import', '--loader', '--experimental-loader']);

/** The files of Yarn Plug'n'Play's runtime: its resolver (.pnp.js before Yarn 3) and its ES module loader. */
const PNP_FILES = new Set(['.pnp.cjs', '.pnp.js', '.pnp.loader.mjs']);

/** Whether a preload's value (a path or a file URL) is Yarn PnP's runtime, in a process it runs (it sets process.versions.pnp). */
function isPnpRuntime(value: string): boolean {
  return process.versions.pnp !== undefined && PNP_FILES.has(value.slice(Math.max(value.lastIndexOf('/'), value.lastIndexOf('\\')) + 1));
}

/** Whether `arg` is a preload with its value inside (`--import=x`). */
function isPreloadWithValue(arg: string): boolean {
  const eq = arg.indexOf('=');
  return eq > 0 && PRELOADS.has(arg.slice(0, eq));
}

/** `argv` without `--input-type` and, when `skipPreloads`, without the preloads but Yarn PnP's runtime, each with its value. */
function withoutRefusedOrPreloads(argv: readonly string[], skipPreloads: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--input-type=') || (skipPreloads && isPreloadWithValue(a) && !isPnpRuntime(a.slice(a.indexOf('=') + 1)))) continue;
    if (a === '--input-type' || (skipPreloads && PRELOADS.has(a) && !isPnpRuntime(argv[i + 1] ?? ''))) {
      i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/**
 * NODE_OPTIONS split as Node splits it: on spaces, a double-quoted part kept whole, a backslash
 * in it escaping the next character. undefined where Node would refuse it (it did not: the
 * process runs), so that nothing is rewritten that was not understood.
 */
function splitNodeOptions(value: string): string[] | undefined {
  const out: string[] = [];
  let quoted = false;
  let fresh = true;
  for (let i = 0; i < value.length; i++) {
    let c = value[i]!;
    if (c === '\\' && quoted) {
      if (i + 1 === value.length) return undefined;
      c = value[++i]!;
    } else if (c === ' ' && !quoted) {
      fresh = true;
      continue;
    } else if (c === '"') {
      quoted = !quoted;
      continue;
    }
    if (fresh) {
      out.push(c);
      fresh = false;
    } else out[out.length - 1] += c;
  }
  return quoted ? undefined : out;
}

/** `args` joined back into a NODE_OPTIONS value splitNodeOptions reads as `args`. */
function joinNodeOptions(args: readonly string[]): string {
  return args.map((a) => (/[\s"\\]/.test(a) ? `"${a.replace(/["\\]/g, '\\$&')}"` : a)).join(' ');
}

/** The options Node names in an ERR_WORKER_INVALID_EXEC_ARGV ("… invalid execArgv flags: --a, --b"). */
function refusedOptions(message: string): Set<string> {
  const at = message.indexOf(': ');
  return new Set(at < 0 ? [] : message.slice(at + 2).split(', ').map((s) => s.trim()));
}

/** Worked out once per mode: the host's options do not change. */
const decided = new Map<ThreadPreloads, ThreadOptions>();

/** The options of a thread the host's thread makes for us (see above). */
export function hostThreadOptions(preloads: ThreadPreloads): ThreadOptions {
  let options = decided.get(preloads);
  if (options === undefined) {
    const skip = preloads === 'skip';
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_NO_WARNINGS: '1' };
    // Marked as ours (own-thread.ts): a monitor a preload builds there makes no thread.
    Object.assign(env, ownThreadMark());
    const nodeOptions = process.env.NODE_OPTIONS;
    const split = skip && nodeOptions !== undefined ? splitNodeOptions(nodeOptions) : undefined;
    if (split !== undefined) {
      const kept = withoutRefusedOrPreloads(split, true);
      if (kept.length !== split.length) env.NODE_OPTIONS = joinNodeOptions(kept);
    }
    options = { execArgv: checked(process.execArgv, skip, env), env };
    decided.set(preloads, options);
  }
  return options;
}

/** The options of a thread one of ours makes: what that thread was given. */
export function ownThreadOptions(): ThreadOptions {
  return { execArgv: undefined, env: process.env };
}

function checked(argv: readonly string[], skipPreloads: boolean, env: NodeJS.ProcessEnv): string[] | undefined {
  const list = withoutRefusedOrPreloads(argv, skipPreloads);
  if (list.length === argv.length) return undefined;
  // The probe is a thread: one that does not fit the address space would end the process.
  if (!roomForThread()) return list;
  try {
    const probe = new Worker('', { eval: true, execArgv: list, env });
    probe.on('error', () => {});
    void probe.terminate().catch(() => {});
    return list;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return [];
    const refused = refusedOptions((error as Error).message);
    return list.filter((a) => !refused.has(a));
  }
}
