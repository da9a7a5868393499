/**
 * `mkdir -p` without Node's recursive mkdir, which never returns for a path whose parent
 * exists but cannot hold it: under /proc, or through a dangling symlink, the kernel answers
 * ENOENT, which `fs.mkdir(dir, { recursive: true })` takes for a missing parent; it makes the
 * parent (EEXIST) and tries again, forever, at 100% of a CPU (the sync form in the calling
 * thread, the async one in a libuv thread with its promise never settled; Node 18 to 22).
 * A service that named such a dataDir or profile directory would have had a thread of its
 * own spinning. Here each missing directory is made once, from the deepest one that exists,
 * and an error after its parent exists is the answer.
 */
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * Makes `dir` and its missing parents; `dir` itself, when made here, with `mode` (the parents
 * with the default). Rejects with the filesystem's error (ENOENT, ENOTDIR, EACCES, ...) naming
 * the directory that could not be made.
 */
export async function makeDirs(dir: string, mode?: number): Promise<void> {
  const missing: string[] = [];
  let p = resolve(dir);
  while (!(await stat(p).then(
    () => true,
    () => false,
  ))) {
    missing.push(p);
    if (dirname(p) === p) break;
    p = dirname(p);
  }
  const leaf = resolve(dir);
  for (const d of missing.reverse()) await mkdir(d, d === leaf ? mode : undefined).catch(existing);
  if (!(await stat(dir)).isDirectory()) throw notDirectory(dir);
}

/** makeDirs() for a thread that may block (the storage actor's). */
export function makeDirsSync(dir: string, mode?: number): void {
  const missing: string[] = [];
  let p = resolve(dir);
  while (!exists(p)) {
    missing.push(p);
    if (dirname(p) === p) break;
    p = dirname(p);
  }
  const leaf = resolve(dir);
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, d === leaf ? mode : undefined);
    } catch (error) {
      existing(error);
    }
  }
  if (!statSync(dir).isDirectory()) throw notDirectory(dir);
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** A directory made meanwhile by someone else is as good as ours; any other error is the answer. */
function existing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
}

function notDirectory(dir: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR', path: dir, syscall: 'mkdir' });
}
