/**
 * The Node options each of our threads starts with: the host's own (`process.execArgv`, which a
 * Worker inherits by default), less those a Worker refuses. `--input-type` is one: a host run
 * as `node --input-type=module -e '…'` (or with its code on stdin) has it, and Node ends every
 * Worker that inherits it at once ("--input-type can only be used with string input via
 * --eval, --print, or STDIN"); the watchdog, started again for its actors, died in a loop that
 * took a core, and start() never settled.
 */

/** `argv` without the options a Worker refuses (`--input-type=X`, or `--input-type X`). */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
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
