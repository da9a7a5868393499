/**
 * A shared buffer's layout declared once, as data: each cell's byte offset, type, the thread
 * that writes it once the buffer is shared (values set before it is shared do not count) and
 * what it means. The constants the modules index their views with come from it (a cell's
 * index in its own units: offset / 4 for an i32, offset / 8 for an f64 or i64), and
 * test/layout.test.ts checks every table: cells aligned, apart, within the region; and on a
 * layout that promises one writer per 64-byte line, one writer per line but for the lines it
 * names with the reason they are shared. docs/architecture.md prints the same tables.
 */

export type CellType = 'i32' | 'f64' | 'i64';

/** Who writes a cell while the buffer is shared. */
export type Writer = 'collector' | 'producer' | 'main thread' | 'alert actor' | 'storage actor' | 'exporter actor' | 'watchdog' | 'lock holder' | 'any thread (CAS)' | 'creator';

export interface CellSpec {
  offset: number;
  type: CellType;
  /** One writer, or the few that meet at this cell (a handshake). */
  writer: Writer | readonly Writer[];
  meaning: string;
}

export interface LayoutSpec<K extends string> {
  /** What the region is (shown in docs and test names). */
  name: string;
  /** Bytes of the region the cells live in. */
  bytes: number;
  /** Whether each 64-byte line has one writer (lines in `sharedLines` excepted). */
  oneWriterPerLine: boolean;
  /** Lines written by more than one thread by design, and why. */
  sharedLines?: readonly { line: number; why: string }[];
  cells: { readonly [name in K]: CellSpec };
}

export interface Layout<K extends string> extends LayoutSpec<K> {
  /** Each cell's index in views of its type (Int32Array for i32, Float64Array or BigInt64Array otherwise). */
  readonly index: { readonly [name in K]: number };
}

export const LINE_BYTES = 64;

export const CELL_BYTES: Readonly<Record<CellType, number>> = { i32: 4, f64: 8, i64: 8 };

export function defineLayout<K extends string>(spec: LayoutSpec<K>): Layout<K> {
  const index = {} as Record<K, number>;
  for (const name of Object.keys(spec.cells) as K[]) {
    const cell = spec.cells[name];
    index[name] = cell.offset / CELL_BYTES[cell.type];
  }
  return { ...spec, index };
}

/** The writers of a cell, as a list. */
export function writersOf(cell: CellSpec): readonly Writer[] {
  return typeof cell.writer === 'string' ? [cell.writer] : cell.writer;
}

/** A layout as the Markdown table docs/architecture.md prints (test/layout.test.ts keeps them equal). */
export function layoutTable(layout: Layout<string>): string {
  const rows = Object.entries(layout.cells)
    .sort(([, a], [, b]) => a.offset - b.offset)
    .map(([name, c]) => `| ${Math.floor(c.offset / LINE_BYTES)} | ${c.offset} | ${name} | ${c.type} | ${writersOf(c).join(', ')} | ${c.meaning} |`);
  const shared = (layout.sharedLines ?? []).map((l) => `Line ${l.line} is shared: ${l.why}.`);
  const promise = layout.oneWriterPerLine ? 'One writer per 64-byte line.' : 'Lines are not promised to one writer.';
  return [`${layout.name} (${layout.bytes} bytes). ${promise}${shared.length ? ` ${shared.join(' ')}` : ''}`, '', '| line | byte | cell | type | writer | meaning |', '|---:|---:|---|---|---|---|', ...rows].join('\n');
}
