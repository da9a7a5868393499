/**
 * A profile's positions as the service's own stack traces give them. With source maps on
 * (`--enable-source-maps`, `process.setSourceMapsEnabled(true)`), Node maps an error's stack to
 * the source a file was compiled from, while V8's profiles keep naming the JavaScript it runs:
 * a TypeScript service's headline said `dist/svc.js:9` where its stack traces say
 * `src/svc.ts:13`. So the call frames (and a CPU profile's lines) are mapped through the
 * source maps Node holds for the process, as its stack traces are; without them, or where a map
 * has no entry for a line, V8's position stays. The summary is made from the mapped profile;
 * the profile's file keeps V8's positions (made before the mapping).
 */
import { findSourceMap, type SourceMap } from 'node:module';
import type { CpuProfile } from './cpu-summary.js';
import type { HeapProfile, HeapProfileNode } from './heap-summary.js';
import type { CallFrame } from './sites.js';

interface Position {
  url: string;
  /** 0-based, as V8's call frames and source maps count. */
  line: number;
  column: number;
}

/** Past any column: the last entry of a line. */
const LINE_END = 2 ** 31 - 1;

class SourcePositions {
  private readonly maps = new Map<string, SourceMap | null>();
  private readonly positions = new Map<string, Position | null>();

  /** The source position of a generated one, or null where no map has an entry on its line. */
  position(url: string, line: number, column: number): Position | null {
    const key = `${url}\u0000${line}\u0000${column}`;
    let p = this.positions.get(key);
    if (p === undefined) this.positions.set(key, (p = this.find(url, line, column)));
    return p;
  }

  private find(url: string, line: number, column: number): Position | null {
    const map = this.mapOf(url);
    if (!map) return null;
    try {
      // The entry at or before the column, if it is on this line (findEntry answers the one
      // before, on an earlier line, when the line's first entry is past the column), else the
      // line's last: the code a line starts with (its indentation) has no entry of its own.
      for (const at of [column, LINE_END]) {
        const e = map.findEntry(line, at) as Partial<{ generatedLine: number; originalSource: string; originalLine: number; originalColumn: number }>;
        if (e.generatedLine === line && typeof e.originalSource === 'string' && e.originalSource !== '' && typeof e.originalLine === 'number') {
          return { url: e.originalSource, line: e.originalLine, column: e.originalColumn ?? 0 };
        }
      }
    } catch {
      // A map Node could not read is no map: V8's position stays.
    }
    return null;
  }

  private mapOf(url: string): SourceMap | null {
    let map = this.maps.get(url);
    if (map === undefined) {
      try {
        // Native frames ('') and Node's own (`node:`) have none.
        map = (url !== '' && !url.startsWith('node:') && findSourceMap(url)) || null;
      } catch {
        map = null;
      }
      this.maps.set(url, map);
    }
    return map;
  }

  /** Maps a call frame in place; true when it moved. */
  frame(f: CallFrame): boolean {
    const p = this.position(f.url, f.lineNumber, f.columnNumber);
    if (!p) return false;
    f.url = p.url;
    f.lineNumber = p.line;
    f.columnNumber = p.column;
    return true;
  }
}

/** Maps a CPU profile's call frames, and the lines of their samples, to their sources in place. */
export function mapCpuProfile(profile: CpuProfile): void {
  const positions = new SourcePositions();
  for (const node of profile.nodes) {
    const { url } = node.callFrame;
    if (!positions.frame(node.callFrame) || !node.positionTicks) continue;
    // A line with no entry of the map is left out: its number is the generated file's, not the source's.
    const ticks = new Map<number, number>();
    for (const { line, ticks: n } of node.positionTicks) {
      const p = positions.position(url, line - 1, 0);
      if (p) ticks.set(p.line + 1, (ticks.get(p.line + 1) ?? 0) + n);
    }
    node.positionTicks = [...ticks].map(([line, n]) => ({ line, ticks: n }));
  }
}

/** Maps a heap profile's call frames to their sources in place. */
export function mapHeapProfile(profile: HeapProfile): void {
  const positions = new SourcePositions();
  const visit: HeapProfileNode[] = [profile.head];
  while (visit.length > 0) {
    const node = visit.pop()!;
    positions.frame(node.callFrame);
    for (const child of node.children) visit.push(child);
  }
}
