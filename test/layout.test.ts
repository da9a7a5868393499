/**
 * The shared buffers' layouts, declared as data (src/engine/layout.ts): each table's cells
 * are aligned, apart and inside their region, a line promised to one writer has one, the
 * buffers are as large as their tables say, and the constants the modules index with are
 * the tables' own.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as control from '../dist/src/engine/control.js';
import { CELL_BYTES, LINE_BYTES, layoutTable, writersOf, type Layout } from '../dist/src/engine/layout.js';
import * as ring from '../dist/src/engine/ring.js';
import { TABLE_HEADER, createSharedTable, sharedTableBytes } from '../dist/src/engine/shared-table.js';
import * as store from '../dist/src/engine/store/layout.js';

const LAYOUTS: Layout<string>[] = [control.CONTROL_LAYOUT, ring.RING_HEADER, store.STORE_META, store.SERIES_HOT, store.SERIES_SLOT, store.BUCKET_RECORD, TABLE_HEADER];

function cellsOf(layout: Layout<string>): { name: string; offset: number; end: number; writers: readonly string[] }[] {
  return Object.entries(layout.cells)
    .map(([name, cell]) => ({ name, offset: cell.offset, end: cell.offset + CELL_BYTES[cell.type], writers: writersOf(cell) }))
    .sort((a, b) => a.offset - b.offset);
}

/** The writers of each 64-byte line, those that set a value before the buffer is shared left out. */
function lineWriters(layout: Layout<string>): Map<number, Set<string>> {
  const lines = new Map<number, Set<string>>();
  for (const c of cellsOf(layout)) {
    const line = Math.floor(c.offset / LINE_BYTES);
    const set = lines.get(line) ?? new Set<string>();
    for (const w of c.writers) if (w !== 'creator') set.add(w);
    lines.set(line, set);
  }
  return lines;
}

describe.each(LAYOUTS.map((l) => [l.name, l] as const))('the %s layout', (_name, layout) => {
  it('has cells aligned to their size, inside the region, none overlapping another', () => {
    const cells = cellsOf(layout);
    for (const c of cells) {
      expect(c.offset % (c.end - c.offset), `${c.name} at ${c.offset}`).toBe(0);
      expect(c.end, `${c.name} ends past the region's ${layout.bytes} bytes`).toBeLessThanOrEqual(layout.bytes);
    }
    for (let i = 1; i < cells.length; i++) {
      expect(cells[i]!.offset, `${cells[i]!.name} overlaps ${cells[i - 1]!.name}`).toBeGreaterThanOrEqual(cells[i - 1]!.end);
    }
  });

  it('keeps each 64-byte line to one writer where it promises it, and names why a line is shared', () => {
    const shared = new Map((layout.sharedLines ?? []).map((s) => [s.line, s.why]));
    for (const [line, writers] of lineWriters(layout)) {
      if (!layout.oneWriterPerLine) continue;
      if (shared.has(line)) {
        expect(shared.get(line)!.length, `line ${line} is shared without a reason`).toBeGreaterThan(20);
        expect(writers.size, `line ${line} is listed as shared but has one writer`).toBeGreaterThan(1);
      } else {
        expect([...writers], `line ${line} has more than one writer`).toHaveLength(Math.min(1, writers.size));
      }
    }
    for (const line of shared.keys()) expect(lineWriters(layout).has(line), `shared line ${line} holds no cell`).toBe(true);
  });
});

describe('the constants and buffers', () => {
  it('index cells where the tables put them', () => {
    for (const [module, layout] of [
      [control, control.CONTROL_LAYOUT],
      [ring, ring.RING_HEADER],
      [store, store.STORE_META],
      [store, store.SERIES_HOT],
      [store, store.SERIES_SLOT],
      [store, store.BUCKET_RECORD],
    ] as const) {
      for (const [name, cell] of Object.entries(layout.cells)) {
        const exported = (module as Record<string, unknown>)[name];
        if (exported === undefined) continue;
        expect(exported, `${layout.name}: ${name}`).toBe(cell.offset / CELL_BYTES[cell.type]);
      }
    }
  });

  it('are as large as their layouts', () => {
    expect(control.createControl().byteLength).toBe(control.CONTROL_LAYOUT.bytes);
    expect(control.CONTROL_BYTES).toBe(control.CONTROL_LAYOUT.bytes);
    expect(ring.HEADER_BYTES).toBe(ring.RING_HEADER.bytes);
    expect(ring.createRing(1024).byteLength).toBe(ring.bytesFor(1024));
    expect(ring.bytesFor(1024)).toBe(ring.RING_HEADER.bytes + 1024 * (4 + 8));
    expect(store.META_BYTES).toBe(store.STORE_META.bytes);
    expect(store.HOT_F64 * 8).toBe(store.SERIES_HOT.bytes);
    expect(store.BUCKET_F64 * 8).toBe(store.BUCKET_RECORD.bytes);
    expect(store.DIR_OFFSET_BYTES).toBe(store.SERIES_SLOT.bytes);
    const sizes = { capacity: 100, arenaBytes: 1000, extraInts: 2 };
    expect(createSharedTable(sizes).byteLength).toBe(sharedTableBytes(sizes));
    expect(sharedTableBytes(sizes)).toBeGreaterThan(TABLE_HEADER.bytes);
  });

  it('are the tables docs/architecture.md prints', () => {
    const doc = readFileSync(new URL('../docs/architecture.md', import.meta.url), 'utf8');
    for (const layout of LAYOUTS) expect(doc, layout.name).toContain(layoutTable(layout));
  });

  it('put no cell of the producers, the collector, the alert, storage or exporter actor on a line of another', () => {
    // The control block's lines, named: the layout test above keeps each to its writer.
    const lines = lineWriters(control.CONTROL_LAYOUT);
    expect([...lines.entries()].map(([line, w]) => [line, [...w].sort()])).toEqual([
      [0, ['collector', 'main thread', 'producer']],
      [1, ['collector']],
      [2, ['collector']],
      [3, ['collector']],
      [4, ['alert actor']],
      [5, ['main thread']],
      [6, ['storage actor']],
      [7, ['exporter actor']],
      [8, ['main thread', 'storage actor', 'watchdog']],
      [9, ['producer']],
      [10, ['collector']],
    ]);
  });
});
