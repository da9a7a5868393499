/**
 * The profile files: each capture's .cpuprofile or .heapprofile (the inspector's JSON, which
 * Chrome DevTools opens as it is), in one directory, bounded in number and in bytes: after
 * each write the oldest of ours go until both bounds hold. Only files named as we name them
 * are counted or deleted, so a directory shared with anything else loses nothing else.
 *
 * A directory that cannot be written is not an error of the capture: write() answers why
 * the file is missing, and the summary goes out without it; what a failed write left (a file
 * cut short by a full disk) is deleted.
 */
import { readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makeDirs } from '../make-dirs.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../private-files.js';
import type { ProfileKind } from './limits.js';
import { claimOwnTempDir, isOwnTempDir, reapExitedTempDirs } from './temp-dirs.js';

const EXT: Record<ProfileKind, string> = { cpu: '.cpuprofile', heap: '.heapprofile' };
/** perfwatch-<ISO time without colons>-<pid>-<id>.<ext>: names sort by time (and tell our files from others': the monitor's privateAgain). */
export const OURS = /^perfwatch-\d{8}T\d{6}\.\d{3}Z-\d+-\d+\.(cpuprofile|heapprofile)$/;

export interface FileBounds {
  maxFiles: number;
  maxBytes: number;
}

/** What the directory holds of ours against the bounds (status().profiling.files). */
export interface ProfileFilesStatus {
  count: number;
  bytes: number;
  maxFiles: number;
  maxBytes: number;
  /**
   * When the directory files go to now was last read (at construction, at start() and stop(),
   * whose lock may move it, and after each write); null while it has not been read, `count`
   * and `bytes` then 0 (another directory's read is not this one's).
   */
  scannedAt: number | null;
  /** Why the last profile has no file (the directory cannot be written, the profile is over maxBytes); null once one is written. */
  lastError: string | null;
}

/** A file of ours that a write deleted to keep the bounds, and which bound (`profiling.maxFiles (20)`). */
export interface Pruned {
  file: string;
  bound: string;
}

/** The file written (or why none was), and the older files deleted to keep the bounds after it. */
export type Written = { file: string; bytes: number; error: null; pruned: Pruned[] } | { file: null; bytes: number; error: string; pruned: Pruned[] };

export function profileFileName(kind: ProfileKind, at: number, id: number): string {
  const stamp = new Date(at).toISOString().replace(/[-:]/g, '');
  return `perfwatch-${stamp}-${process.pid}-${id}${EXT[kind]}`;
}

/**
 * What to do about a directory a profile cannot be written to. A read-only container (its root
 * and /tmp read-only, an emptyDir the one place it may write) met the bare error, EROFS at
 * mkdir of the temporary directory, with nothing naming the option that moves the files.
 */
function unwritableAdvice(dir: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  // This process's temporary directory is made anew where it is missing: its parent is what must be writable.
  const temp = isOwnTempDir(dir);
  const fix = code === 'EROFS' || code === 'EACCES' || code === 'EPERM' ? `give this process write access to ${temp ? dirname(dir) : dir}, or ` : code === 'ENOSPC' || code === 'EDQUOT' ? 'free space on its file system, or ' : '';
  return `: the capture's summary is kept without its file; ${fix}set profiling.dir${temp ? ' (or TMPDIR, where it goes with no dataDir of its own)' : ''} to a directory this process may write`;
}

export class ProfileFiles {
  private readonly where: () => string;
  private readonly bounds: FileBounds;
  /** The last read: of which directory, and what it held of ours then. */
  private held = { dir: '', count: 0, bytes: 0, scannedAt: null as number | null };
  /** Reads started, and the newest whose result is in `held`: a read that ends after a later one is not kept. */
  private reads = 0;
  private heldRead = 0;
  private lastError: string | null = null;
  /** Whether the directories that exited processes left beside our own temporary one were looked for (once, at its first write). */
  private reaped = false;

  /** `dir` a function when the directory depends on state (a dataDir's, only while its lock is held). */
  constructor(dir: string | (() => string), bounds: FileBounds) {
    this.where = typeof dir === 'string' ? () => dir : dir;
    this.bounds = bounds;
  }

  /** Where files go now. */
  get dir(): string {
    return this.where();
  }

  /**
   * What the directory files go to now holds of ours, as last read. A read of another one (the
   * temporary directory at construction, before a dataDir's lock is taken) says nothing of it:
   * it read as `<dataDir>/profiles` holding no file, read at construction, after a restart.
   */
  status(): ProfileFilesStatus {
    const { dir, count, bytes, scannedAt } = this.held;
    const read = dir === this.dir ? { count, bytes, scannedAt } : { count: 0, bytes: 0, scannedAt: null };
    return { ...read, maxFiles: this.bounds.maxFiles, maxBytes: this.bounds.maxBytes, lastError: this.lastError };
  }

  /** Reads what the directory holds of ours (a directory not made yet holds nothing). Never rejects. */
  async refresh(): Promise<void> {
    // Read once: the directory may change during the read (a monitor starting or stopping).
    const dir = this.dir;
    const read = ++this.reads;
    const files = await this.list(dir).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? [] : null));
    if (!files || read < this.heldRead) return;
    this.heldRead = read;
    this.held = { dir, count: files.length, bytes: files.reduce((a, f) => a + f.bytes, 0), scannedAt: Date.now() };
  }

  /** Writes the profile, then deletes the oldest files past the bounds. Never rejects. */
  async write(kind: ProfileKind, at: number, id: number, json: string): Promise<Written> {
    const bytes = Buffer.byteLength(json);
    if (bytes > this.bounds.maxBytes) {
      return this.missing(bytes, `the profile is ${bytes} bytes, over profiling.maxBytes (${this.bounds.maxBytes}): not kept; raise maxBytes or capture for fewer seconds`);
    }
    // Read once: the directory may change while the file is written (a monitor stopping).
    const dir = this.dir;
    const file = join(dir, profileFileName(kind, at, id));
    try {
      await makeDirs(dir, PRIVATE_DIR_MODE);
      if (isOwnTempDir(dir)) await claimOwnTempDir(dir);
      await writeFile(file, json, { mode: PRIVATE_FILE_MODE });
    } catch (error) {
      // A disk that filled during the write leaves the file cut short (or empty): no profile
      // DevTools can open, yet named as ours, counted against maxFiles and taking the room.
      await unlink(file).catch(() => {});
      return this.missing(bytes, `cannot write ${file}: ${(error as Error).message}${unwritableAdvice(dir, error)}`);
    }
    this.lastError = null;
    const pruned = await this.prune(dir, file).catch(() => []);
    if (!this.reaped && isOwnTempDir(dir)) {
      this.reaped = true;
      await reapExitedTempDirs(dirname(dir), OURS);
    }
    await this.refresh();
    return { file, bytes, error: null, pruned };
  }

  private missing(bytes: number, error: string): Written {
    this.lastError = error;
    return { file: null, bytes, error, pruned: [] };
  }

  /** Our files in `dir` (default: where files go now), oldest first, with their sizes. */
  async list(dir: string = this.dir): Promise<{ file: string; bytes: number }[]> {
    const names = (await readdir(dir)).filter((n) => OURS.test(n)).sort();
    const out: { file: string; bytes: number }[] = [];
    for (const name of names) {
      const file = join(dir, name);
      try {
        out.push({ file, bytes: (await stat(file)).size });
      } catch {
        // deleted meanwhile
      }
    }
    return out;
  }

  /**
   * Deletes the oldest of our files until both bounds hold, never `written`, the file just
   * written: names sort by the capture's start, and in a directory that processes share (a
   * cluster's workers) a long capture is written after the short ones that started later, so
   * its name sorts first, and it was deleted as it was answered, its capture naming a file
   * that was gone. It alone is within the bounds (a larger one is not written), so they hold.
   * Answers the files it deleted, for the captures that named them (profiler.ts).
   */
  private async prune(dir: string, written: string): Promise<Pruned[]> {
    const files = await this.list(dir);
    let total = files.reduce((a, f) => a + f.bytes, 0);
    let count = files.length;
    const pruned: Pruned[] = [];
    for (const f of files) {
      if (count <= this.bounds.maxFiles && total <= this.bounds.maxBytes) break;
      if (f.file === written) continue;
      const bound = count > this.bounds.maxFiles ? `profiling.maxFiles (${this.bounds.maxFiles})` : `profiling.maxBytes (${this.bounds.maxBytes})`;
      // Gone either way once ENOENT: another process sharing the directory deleted it first.
      if (await unlink(f.file).then(() => true, (error: NodeJS.ErrnoException) => error.code === 'ENOENT')) pruned.push({ file: f.file, bound });
      count--;
      total -= f.bytes;
    }
    return pruned;
  }
}
