/**
 * Whose a database file is, told from its bytes alone, before anything opens it: opening with
 * perfwatch's pragmas writes (journal_mode WAL rewrites the header of a file in rollback mode,
 * and a WAL connection checkpoints into the file as it closes), and the start's chmod of its
 * files comes before the storage actor opens it. So another application's perfwatch.db, or
 * one of a newer perfwatch, was changed by the very start that refused it.
 *
 * What the header says (https://sqlite.org/fileformat.html): the application id at byte 68,
 * the user version (perfwatch's schema version) at byte 60, and the schema table's root,
 * page 1, from byte 100 (its cell count: whether the file has tables). A file in WAL mode may
 * have a newer page 1 in its `-wal`, not yet checkpointed (a process killed before it closed
 * the file): the newest committed one there is read instead.
 */
import { closeSync, existsSync, fstatSync, lstatSync, openSync, readSync, readlinkSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { StorageError } from '../errors.js';
import { notAFile } from './file-kind.js';

/** The application id in the header, "PWAT": marks the file as perfwatch's. */
export const APPLICATION_ID = 0x50574154;

const MAGIC = 'SQLite format 3\0';
/** The header and page 1's b-tree header: what is read. */
const HEAD = 108;
/** The WAL's header, and each frame's. */
const WAL_HEADER = 32;
const FRAME_HEADER = 24;

/**
 * The refusal of `file` when it is not perfwatch's to open (not SQLite, another application's,
 * or of a newer schema version than `known`, or no file at all: a directory), read without writing; undefined for a file that
 * is absent, empty, or perfwatch's of that version or older (openSchema takes it).
 */
export function refusalOf(file: string, known: number): StorageError | undefined {
  // A directory (a FIFO, …) in its place: opened, it was "not a usable SQLite database
  // (ConnectionFailed(…: 14))", the driver's words and SQLite's code for "cannot open".
  const what = kindOf(file);
  if (what !== undefined) return new StorageError(file, `is ${what}, not perfwatch's database file: move it away (perfwatch never deletes what it did not make), or choose another dataDir`);
  const dangling = danglingLink(file);
  if (dangling !== undefined) {
    return new StorageError(file, `is a symbolic link to ${dangling}, whose directory ${dirname(dangling)} does not exist (ENOENT); it was left untouched: create that directory, point the link at a file that can be made, or choose another dataDir`);
  }
  const head = readHead(file);
  if (head === undefined || head.length === 0) return undefined;
  const page1 = page1Of(file, head);
  // Not SQLite's bytes, or its header cut short (SQLite writes page 1 whole): no database.
  if (page1 === undefined) {
    return new StorageError(file, 'is not a usable SQLite database (file is not a database); it was left untouched: move it away or choose another dataDir');
  }
  const damaged = damageOf(page1);
  if (damaged !== undefined) {
    // Told as another application's (a garbled application id is not ours), a perfwatch.db whose header was overwritten sent its owner looking for the wrong culprit.
    return new StorageError(file, `is not a usable SQLite database (its header is damaged: ${damaged}); it was left untouched: move it away or choose another dataDir`);
  }
  const version = page1.readUInt32BE(60);
  const appId = page1.readUInt32BE(68);
  // Page 1 is the schema table's root: an interior page (0x05), or a leaf (0x0d) with cells.
  const tables = page1[100] !== 0x0d || page1.readUInt16BE(103) > 0;
  return refusal(file, { appId, version, tables }, known);
}

/**
 * Whether `file` is a perfwatch database by its bytes (the application id of its header, or of
 * the newest page 1 its `-wal` holds): what tells a dataDir an earlier perfwatch made from a
 * directory that merely holds one. False for a file that is absent, empty or anything else.
 */
export function isPerfwatchDatabase(file: string): boolean {
  const head = readHead(file);
  const page1 = head === undefined ? undefined : page1Of(file, head);
  return page1 !== undefined && page1.readUInt32BE(68) === APPLICATION_ID;
}

/**
 * Why a database of this application id, schema version and tables is not perfwatch's to
 * open: another application's (a file with tables or a version and not our id), or a newer
 * release's; undefined when it is ours (or empty). Read from the header here, from pragmas
 * by migrate().
 */
export function refusal(file: string, db: { appId: number; version: number; tables: boolean }, known: number): StorageError | undefined {
  if (db.appId !== APPLICATION_ID && (db.tables || db.version !== 0)) {
    return new StorageError(file, 'is an SQLite database of another application (no perfwatch application id); it was left untouched: move it away or choose another dataDir');
  }
  if (db.version > known) {
    return new StorageError(file, `has schema version ${db.version}, newer than this perfwatch knows (${known}): it was written by a newer release; upgrade perfwatch or choose another dataDir`);
  }
  return undefined;
}

/**
 * What is wrong with a header of SQLite's magic whose fixed fields no SQLite writes
 * (https://sqlite.org/fileformat.html, 1.3), or undefined: the page size (a power of two from
 * 512 to 32,768, or 1 for 65,536), the format versions (1 or 2), the payload fractions (64, 32,
 * 32) and page 1's b-tree page type (0x05 or 0x0d, the schema table's root).
 */
function damageOf(page1: Buffer): string | undefined {
  const size = page1.readUInt16BE(16);
  if (size !== 1 && (size < 512 || (size & (size - 1)) !== 0)) return `page size ${size}`;
  for (const at of [18, 19]) if (page1[at] !== 1 && page1[at] !== 2) return `file format version ${page1[at]} at byte ${at}`;
  if (page1[21] !== 64 || page1[22] !== 32 || page1[23] !== 32) return `payload fractions ${page1[21]}, ${page1[22]}, ${page1[23]}`;
  if (page1[100] !== 0x05 && page1[100] !== 0x0d) return `page 1 of b-tree type ${page1[100]}`;
  return undefined;
}

/**
 * The newest committed page 1 of the database whose first bytes are `head` (the `-wal`'s, or
 * the file's own), or undefined when those bytes are not SQLite's or its header is cut short.
 */
function page1Of(file: string, head: Buffer): Buffer | undefined {
  if (head.toString('latin1', 0, 16) !== MAGIC) return undefined;
  return newestPage1(`${file}-wal`) ?? (head.length === HEAD ? head : undefined);
}

/** What `file` is when it is there and no regular file (symbolic links followed), else undefined. */
function kindOf(file: string): string | undefined {
  try {
    return notAFile(statSync(file));
  } catch {
    return undefined;
  }
}

/**
 * The target of `file` when it is a symbolic link whose target's directory does not exist, or
 * undefined: SQLite cannot make the database there, and opening it failed with the driver's
 * words and SQLite's code ("not a usable SQLite database (ConnectionFailed(… 14))"), as if the
 * file were no database. A link to a missing file in a directory that exists is followed, and
 * the database made there, as before.
 */
function danglingLink(file: string): string | undefined {
  try {
    if (!lstatSync(file).isSymbolicLink() || existsSync(file)) return undefined;
    const target = resolve(dirname(file), readlinkSync(file));
    return existsSync(dirname(target)) ? undefined : target;
  } catch {
    return undefined;
  }
}

/** The first HEAD bytes of `file` (fewer when it is shorter), or undefined when it cannot be read (absent). */
function readHead(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(HEAD);
    return buf.subarray(0, readSync(fd, buf, 0, HEAD, 0));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * The first HEAD bytes of the newest committed page 1 in the WAL `wal`, or undefined (no WAL,
 * none there). Frames count while their salts are the header's (older ones are left from
 * before the WAL was last restarted); a page counts once a commit frame follows it.
 */
function newestPage1(wal: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(wal, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const header = Buffer.alloc(WAL_HEADER);
    if (readSync(fd, header, 0, WAL_HEADER, 0) < WAL_HEADER || (header.readUInt32BE(0) & ~1) !== 0x377f0682) return undefined;
    const pageSize = header.readUInt32BE(8);
    const frame = Buffer.alloc(FRAME_HEADER);
    let pending: Buffer | undefined;
    let committed: Buffer | undefined;
    for (let at = WAL_HEADER; at + FRAME_HEADER + pageSize <= size; at += FRAME_HEADER + pageSize) {
      readSync(fd, frame, 0, FRAME_HEADER, at);
      if (frame.readUInt32BE(8) !== header.readUInt32BE(16) || frame.readUInt32BE(12) !== header.readUInt32BE(20)) break;
      if (frame.readUInt32BE(0) === 1) {
        pending = Buffer.alloc(HEAD);
        readSync(fd, pending, 0, HEAD, at + FRAME_HEADER);
      }
      if (frame.readUInt32BE(4) !== 0) {
        committed = pending ?? committed;
        pending = undefined;
      }
    }
    return committed;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
