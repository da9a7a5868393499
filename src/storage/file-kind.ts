/**
 * What a path that is no regular file is, in words (a directory, a FIFO, …): the dataDir's
 * perfwatch.lock and perfwatch.db are files perfwatch makes, and one of another kind was
 * made by someone else; the error says what it is, not what a driver made of opening it.
 */
import type { Stats } from 'node:fs';

/** `stats`' kind in words; undefined for a regular file. */
export function notAFile(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined;
  return stats.isDirectory() ? 'a directory' : stats.isFIFO() ? 'a FIFO' : stats.isSocket() ? 'a socket' : 'a device';
}
