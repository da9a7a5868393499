/**
 * Loading a JSON options file for the fronts. The file must be a regular file of at most
 * 1 MB; its content is validated against the options schema and errors name the field, but
 * never echo the file back (a path to some other file must not leak its contents).
 *
 * A path from a remote caller (the MCP tools' config_path) is confined to a directory the
 * operator chose: resolved from it, symlinks followed (realpath), it must land inside it.
 * Whatever else happens to such a path (outside, missing, unreadable, a directory, a FIFO)
 * gets one and the same error, so that the answer tells nothing about files elsewhere. Only
 * a file inside the directory gets errors about its size or content. The file is opened
 * once and checked and read through that descriptor, without following a last symlink or
 * waiting on a FIFO.
 */
import { constants } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { InvalidArgumentError, PerfwatchError, unknownKeyRule } from '../errors.js';
import { MonitorOptionsSchema, resolveOptions, type MonitorOptions } from '../monitor/options.js';
import { jsonFault, lineColumn } from './json-syntax.js';

export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Loads an options file the operator named (the CLI's --config): errors say what is wrong. */
export async function loadConfig(path: string, field = 'config_path'): Promise<MonitorOptions> {
  let file: FileHandle;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new InvalidArgumentError(field, `cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return readOptions(file, field, () => new InvalidArgumentError(field, 'must name a regular file'), true);
}

/**
 * Loads an options file a remote caller named, only from inside `root` (relative paths start
 * there). Resolves to the options and the file's real path.
 */
export async function loadConfigWithin(root: string, path: string, field = 'config_path'): Promise<{ options: MonitorOptions; path: string }> {
  const refused = (): InvalidArgumentError =>
    new InvalidArgumentError(field, `must name a readable JSON options file inside ${root}, the directory this server takes config files from (relative paths start there)`);
  let real: string;
  let file: FileHandle;
  try {
    const base = await realpath(root);
    const wanted = resolve(base, path);
    if (!within(base, wanted)) throw refused();
    real = await realpath(wanted);
    if (!within(base, real)) throw refused();
    file = await open(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    throw refused();
  }
  return { options: await readOptions(file, field, refused), path: real };
}

/** Whether `path` lies strictly inside the directory `base` (both absolute and resolved). */
function within(base: string, path: string): boolean {
  const rel = relative(base, path);
  return rel !== '' && !isAbsolute(rel) && rel.split(sep)[0] !== '..';
}

/**
 * Reads and validates the options of an open file, then closes it. `operators`: the file is
 * the operator's own (the CLI's --config), so an unknown key in it may be named.
 */
async function readOptions(file: FileHandle, field: string, notAFile: () => PerfwatchError, operators = false): Promise<MonitorOptions> {
  let text: string;
  try {
    const info = await file.stat().catch(() => undefined);
    if (!info?.isFile()) throw notAFile();
    // Read to one byte past the limit: a size from stat can lie (procfs) or change meanwhile.
    const buffer = Buffer.allocUnsafe(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await file.read(buffer, length, buffer.length - length, length);
      length += bytesRead;
      if (bytesRead === 0 || length === buffer.length) break;
    }
    if (info.size > MAX_CONFIG_BYTES || length > MAX_CONFIG_BYTES) throw new InvalidArgumentError(field, `is over ${MAX_CONFIG_BYTES} bytes, the limit`);
    text = buffer.toString('utf8', 0, length);
  } finally {
    await file.close().catch(() => {});
  }
  // A byte order mark, as Windows editors and PowerShell write one, is no part of the JSON.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Where it breaks only in the operator's own file: a remote caller learns no more of a file than that it is not JSON.
    throw new InvalidArgumentError(field, operators ? notJson(text) : 'is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError(field, 'must hold a JSON object of monitor options');
  try {
    resolveOptions(parsed as MonitorOptions);
  } catch (error) {
    throw sanitize(error, field, operators);
  }
  return parsed as MonitorOptions;
}

/** The rule of a file that is not JSON: where it breaks and what JSON takes there, without a character of the file. */
function notJson(text: string): string {
  const fault = jsonFault(text);
  if (!fault) return 'is not valid JSON';
  const { line, column } = lineColumn(text, fault.at);
  return `is not valid JSON: at line ${line}, column ${column}, JSON takes ${fault.at >= text.length && fault.expected !== 'nothing after the value' ? `${fault.expected}, but the file ends` : fault.expected}`;
}

const KNOWN = new Set(Object.keys(MonitorOptionsSchema.shape));

/**
 * Keeps an options error useful without echoing the file: it names a known option and its
 * rule, never a value. An unknown key is named (with the known one it likely meant) only in
 * the operator's own file, and only a plain key; in a file a remote caller named it is "an
 * unknown option".
 */
function sanitize(error: unknown, field: string, operators: boolean): PerfwatchError {
  if (!(error instanceof PerfwatchError)) return new InvalidArgumentError(field, 'holds invalid options');
  const option = error.field ?? '';
  if (!KNOWN.has(option.split('.')[0]!) || error.rule.startsWith(unknownKeyRule('option'))) {
    if (operators && /^[\w$.-]{1,128}$/.test(option)) return new InvalidArgumentError(`${field}: ${option}`, error.rule);
    return new InvalidArgumentError(field, 'holds an option perfwatch does not know; see the options schema');
  }
  return new InvalidArgumentError(`${field}: ${option}`, error.rule);
}
