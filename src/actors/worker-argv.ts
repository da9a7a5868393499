/**
 * The Node options each of our threads starts with. By default a Worker inherits the host's
 * (`process.execArgv`), and that is what ours do, unless the host has one that a Worker
 * refuses: `--input-type`, which a host run as `node --input-type=module -e '…'` (or with its
 * code on stdin) has, and which ends every Worker that inherits it at once ("--input-type can
 * only be used with string input via --eval, --print, or STDIN"); the watchdog, started again
 * for its actors, died in a loop that took a core, and start() never settled.
 *
 * Then the threads get the host's options less that one, given explicitly; but an explicit
 * list is checked, and V8's and the process's options in it (`--max-old-space-size`,
 * `--stack-size`, …: they hold for every thread anyway) make `new Worker` throw
 * ERR_WORKER_INVALID_EXEC_ARGV. So the list is tried once on a thread that does nothing, and
 * the options Node names in its refusal are left out. Without `--input-type` nothing is given,
 * and nothing is checked: a host's V8 options never stop our threads.
 *
 * Their environment is the host's with NODE_NO_WARNINGS set (workerEnv): a Worker says again
 * the warnings of the options it inherits (--frozen-intrinsics' ExperimentalWarning, the
 * permission model's SecurityWarning for --allow-worker) and of the host's preloads, and each
 * thread of ours (the watchdog, the actors, the report pool, the /metrics renderer) printed a
 * copy into the host's stderr, each replacement one more. Nothing of ours speaks through a
 * warning on those threads: a fault is said by the main thread (src/monitor/faults.ts).
 */
import { Worker } from 'node:worker_threads';

/** `argv` without `--input-type=X` or `--input-type X`. */
function withoutInputType(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--input-type=')) continue;
    if (a === '--input-type') {
      i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/** The options Node names in an ERR_WORKER_INVALID_EXEC_ARGV ("… invalid execArgv flags: --a, --b"). */
function refusedOptions(message: string): Set<string> {
  const at = message.indexOf(': ');
  return new Set(at < 0 ? [] : message.slice(at + 2).split(', ').map((s) => s.trim()));
}

/** undefined: not worked out yet (null: inherit). */
let decided: string[] | null | undefined;

/**
 * The `execArgv` to give each of our Workers: undefined (inherit the host's, Node's default)
 * unless the host's hold `--input-type`; then the host's less it and less any a Worker refuses.
 */
export function workerExecArgv(): string[] | undefined {
  if (decided === undefined) decided = checked(process.execArgv);
  return decided ?? undefined;
}

function checked(argv: readonly string[]): string[] | null {
  const list = withoutInputType(argv);
  if (list.length === argv.length) return null;
  try {
    const probe = new Worker('', { eval: true, execArgv: list });
    probe.on('error', () => {});
    void probe.terminate().catch(() => {});
    return list;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return [];
    const refused = refusedOptions((error as Error).message);
    return list.filter((a) => !refused.has(a));
  }
}

/** The environment to give each of our Workers: the host's, without the warnings of its options (see above). */
export function workerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NODE_NO_WARNINGS: '1' };
}
