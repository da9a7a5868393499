/**
 * A hub's socket path: claimed before it listens, and proven ours before anything there is
 * removed.
 *
 * A Unix socket file outlives a process killed with SIGKILL, and nothing in it says who made
 * it. So beside its socket a hub writes an owner record, `<path>.owner`: the device, inode and
 * change time (ns) of the very socket file it made, its pid and uid. A socket file at the path
 * is removed only when that record names it (the inode alone would not do: a file made since in
 * its place often gets the inode number freed by the one removed before it),
 * it belongs to this user, and a connection to it is refused (ECONNREFUSED: nobody listens
 * there). Anything else stays where it is, and a hub told to listen there stops with an error
 * naming the path: a file that is not a socket, a socket something answers on, a socket
 * without our record (another program's, or a hub's from before records), a connect that
 * fails otherwise (EACCES, ...).
 *
 * Two hubs started at once on a stale path both found it stale, and the second to remove it
 * could remove the first one's new socket and listen in its place, each then a hub on the path
 * (the first one unreachable). So a hub holds a claim, `<path>.claim` made exclusively, from
 * before it looks at the path until it listens there (holdClaim): the other stops with an error.
 * A claim is removed only when its content is a claim's, to the byte (claimBody): until
 * 2026-12-06 any file of that name whose content was not a live pid, or older than 10 s, was
 * removed, a user's file too.
 *
 * A node:cluster primary's socket has a fresh name in the temporary folder,
 * `perfwatch-hub-<pid>-<random>.sock`; a primary killed leaves it behind. Each primary that
 * starts removes those of dead pids that pass the same proof (sweepStale).
 */
import { accessSync, constants, lstatSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync, type BigIntStats, type Stats } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { wallNow } from '../engine/real-timers.js';
import { InvalidArgumentError } from '../errors.js';
import { processAlive } from '../process-alive.js';

/** The name of a cluster primary's socket: perfwatch-hub-<pid>-<12 hex>.sock. */
export const CLUSTER_SOCKET = /^perfwatch-hub-(\d+)-[0-9a-f]{12}\.sock$/;

interface OwnerRecord {
  perfwatch: 'hub';
  pid: number;
  uid: number;
  dev: string;
  ino: string;
  ctimeNs: string;
}

const ownerPath = (path: string): string => `${path}.owner`;
const claimFile = (path: string): string => `${path}.claim`;
/** What a claim file holds, and nothing else: the proof that a hub of ours made it. */
const claimBody = (pid: number): string => `${JSON.stringify({ perfwatch: 'hub-claim', pid })}\n`;
const CLAIM_BODY = /^\{"perfwatch":"hub-claim","pid":(\d{1,10})\}\n$/;
/**
 * A claim lasts the few ms of a hub's look at its path and its listen: one older than this was
 * left by a hub killed meanwhile (its pid may run again as another process by now).
 */
const CLAIM_STALE_MS = 10_000;

/**
 * Takes the claim of `path` for a hub about to look at it and listen there, and returns its
 * release; throws an error naming the path and the field while another hub holds it. A claim
 * that cannot be made (a folder that does not exist, or is not ours) is no claim: the listen
 * there fails and says why (listenError).
 */
export function holdClaim(path: string, field: string): () => void {
  const file = claimFile(path);
  for (let tries = 0; ; tries++) {
    try {
      writeFileSync(file, claimBody(process.pid), { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          unlinkSync(file);
        } catch {
          // Gone already.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return () => {};
    }
    const found = tries === 0 ? lookAtClaim(file) : 'held';
    if (typeof found === 'object') throw new InvalidArgumentError(field, `${path}: ${file} ${found.not}, not a claim of a perfwatch hub: not removed; remove it, or choose another path`);
    if (found === 'stale') {
      try {
        unlinkSync(file);
      } catch {
        // Another hub removed it first: the next try says whether it holds one now.
      }
      continue;
    }
    throw new InvalidArgumentError(field, `${path}: another hub is taking this path now (its claim ${file}): two hubs were started on it at once; stop one of them or choose another path`);
  }
}

/**
 * What is at a claim's name: a claim held (by a running process, made less than
 * CLAIM_STALE_MS ago), a claim left by a hub killed meanwhile (stale: removed), or something
 * that is no claim of ours (`not` says what), never removed.
 */
function lookAtClaim(file: string): 'held' | 'stale' | { not: string } {
  let stat;
  let body;
  try {
    stat = lstatSync(file);
    if (!stat.isFile()) return { not: stat.isDirectory() ? 'is a folder' : stat.isSymbolicLink() ? 'is a symbolic link' : 'is not a regular file' };
    // A claim is a few dozen bytes: a larger file is not read whole to find that out.
    if (stat.size > 64) return { not: `holds ${stat.size} bytes` };
    body = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Gone meanwhile: the next try tells.
    if (code === 'ENOENT') return 'held';
    return { not: `cannot be read (${code ?? (error as Error).message})` };
  }
  const m = CLAIM_BODY.exec(body);
  const pid = m ? Number(m[1]) : 0;
  if (!m || body !== claimBody(pid)) return { not: 'holds something else' };
  return wallNow() - stat.mtimeMs < CLAIM_STALE_MS && pid > 0 && processAlive(pid) ? 'held' : 'stale';
}

function readOwner(path: string): OwnerRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(ownerPath(path), 'utf8')) as Partial<OwnerRecord>;
    return r.perfwatch === 'hub' && typeof r.pid === 'number' && typeof r.uid === 'number' && typeof r.dev === 'string' && typeof r.ino === 'string' && typeof r.ctimeNs === 'string' ? (r as OwnerRecord) : undefined;
  } catch {
    return undefined;
  }
}

const uid = (): number => process.getuid?.() ?? -1;

/** Whether the socket file `stat` describes is the one our owner record beside it names. */
function recorded(path: string, stat: BigIntStats): boolean {
  const r = readOwner(path);
  return r !== undefined && r.dev === String(stat.dev) && r.ino === String(stat.ino) && r.ctimeNs === String(stat.ctimeNs) && r.uid === uid() && Number(stat.uid) === uid();
}

/** The error code of a connection to `path`; undefined when something accepts it. */
function connectError(path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(undefined);
    });
    s.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** The folder or file at `path`, symbolic links followed; undefined when there is none. */
function statOrNone(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function lstatOrNone(path: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}

/**
 * Whose a socket something accepts connections on is, as far as can be proven: a running hub of
 * ours when our owner record names that very file and its pid runs, else some other process's
 * (until 2026-12-06 any live socket was called "the socket of a running hub").
 */
function liveSocket(path: string, stat: BigIntStats): string {
  const pid = recorded(path, stat) ? readOwner(path)?.pid : undefined;
  if (pid !== undefined && processAlive(pid)) return `is the socket of a running perfwatch hub (pid ${pid}, its record ${ownerPath(path)} says)`;
  return `is a live socket of another process (something accepts connections on it; no perfwatch hub's record says a hub of ours made it)`;
}

function removeOwned(path: string): void {
  unlinkSync(path);
  try {
    unlinkSync(ownerPath(path));
  } catch {
    // Gone already: what mattered was the socket.
  }
}

/**
 * What a hub would meet at `path`, looked at without changing anything: nothing there ('free'),
 * or a stale socket of ours that it will reclaim; anything else throws the error naming the path
 * (and the field) with what is there. The monitor asks this before its storage starts
 * (checkListenPath), so that a path it cannot use leaves no dataDir made for nothing.
 */
async function lookAtPath(path: string, field: string): Promise<'free' | 'ours'> {
  const stat = lstatOrNone(path);
  if (!stat) return 'free';
  if (!stat.isSocket()) throw new InvalidArgumentError(field, `${path} exists and is not a socket: not replaced; choose another path or remove it`);
  const code = await connectError(path);
  if (code === undefined) throw new InvalidArgumentError(field, `${path} ${liveSocket(path, stat)}: left alone; stop that process, or choose another path`);
  if (code !== 'ECONNREFUSED') throw new InvalidArgumentError(field, `${path} is a socket this process cannot connect to (${code}): not replaced; choose another path`);
  if (!recorded(path, stat)) {
    throw new InvalidArgumentError(field, `${path} is a socket nobody listens on, but no perfwatch hub's record (${ownerPath(path)}) says it made it: not removed; remove it if it is stale, or choose another path`);
  }
  return 'ours';
}

/** Makes `path` free for a hub to listen on, or throws an error naming it (and the field) with what is there. */
export async function claimPath(path: string, field: string): Promise<'free' | 'reclaimed'> {
  if ((await lookAtPath(path, field)) === 'free') return 'free';
  removeOwned(path);
  return 'reclaimed';
}

/**
 * Throws the error a hub's listen on `path` would end with, found before anything is made: its
 * folder missing, not a folder, or not writable by this process, or something at the path that
 * is not a stale socket of ours. Changes nothing; the listen itself still claims the path and
 * says what happened meanwhile. Until 2026-12-06 a monitor learnt of a bad path only once its
 * storage had started: `perfwatch serve --hub /nonexistent/dir/hub.sock` failed with the right
 * words and left ./perfwatch-data/perfwatch.db behind.
 */
export async function checkListenPath(path: string, field: string): Promise<void> {
  const folderFault = folderError(path, field);
  if (folderFault) throw folderFault;
  try {
    accessSync(dirname(resolve(path)), constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EACCES';
    throw new InvalidArgumentError(field, `${path}: this process may not make a socket in ${dirname(resolve(path))} (${code}): choose another path`);
  }
  await lookAtPath(path, field);
}

/** The error for a socket path whose folder does not exist or is not a folder; undefined when it is one. */
function folderError(path: string, field: string): InvalidArgumentError | undefined {
  const dir = dirname(resolve(path));
  // stat, not lstat: a folder reached through a symbolic link (macOS's /var, a mounted volume's link) is a folder.
  const folder = statOrNone(dir);
  if (!folder) return new InvalidArgumentError(field, `${path}: its folder ${dir} does not exist: create it or choose another path`);
  if (!folder.isDirectory()) return new InvalidArgumentError(field, `${path}: ${dir} is not a folder: choose another path`);
  return undefined;
}

/**
 * The error of a listen on a claimed path that failed, naming the path and the field. Node
 * says `listen EACCES: permission denied` for a folder that does not exist too, so the folder
 * is looked at first.
 */
export function listenError(path: string, field: string, error: unknown): InvalidArgumentError {
  const dir = dirname(resolve(path));
  const folderFault = folderError(path, field);
  if (folderFault) return folderFault;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EACCES' || code === 'EPERM') return new InvalidArgumentError(field, `${path}: this process may not make a socket in ${dir} (${code}): choose another path`);
  return new InvalidArgumentError(field, `${path}: cannot listen on it (${code ?? (error as Error | undefined)?.message ?? String(error)}): choose another path`);
}

/**
 * Writes the owner record of the socket this hub now listens on. A record that cannot be
 * written (or a file of that name that is not one of ours) costs only the reclaim of this path
 * after a kill, which then needs a hand.
 */
export function recordOwner(path: string): void {
  const stat = lstatOrNone(path);
  if (!stat?.isSocket()) return;
  const body = JSON.stringify({ perfwatch: 'hub', pid: process.pid, uid: uid(), dev: String(stat.dev), ino: String(stat.ino), ctimeNs: String(stat.ctimeNs) } satisfies OwnerRecord);
  try {
    writeFileSync(ownerPath(path), body, { flag: 'wx', mode: 0o600 });
  } catch {
    if (readOwner(path) === undefined) return;
    try {
      writeFileSync(ownerPath(path), body, { mode: 0o600 });
    } catch {
      // Not reclaimable later, as said above.
    }
  }
}

/** Removes the owner record of a hub that stopped (its server removed the socket itself). */
export function dropOwner(path: string): void {
  if (readOwner(path)?.pid !== process.pid) return;
  try {
    unlinkSync(ownerPath(path));
  } catch {
    // Gone already.
  }
}

/** Removes the sockets (and their records) of cluster primaries that died in `dir`, each proven ours and refused; returns how many. Never throws. */
export async function sweepStale(dir: string): Promise<number> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = CLUSTER_SOCKET.exec(name);
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    const path = join(dir, name);
    const stat = lstatOrNone(path);
    if (!stat?.isSocket() || !recorded(path, stat)) continue;
    if ((await connectError(path)) !== 'ECONNREFUSED') continue;
    try {
      removeOwned(path);
      removed++;
    } catch {
      // Someone else's sweep got there first.
    }
  }
  return removed;
}
