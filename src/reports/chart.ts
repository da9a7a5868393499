/**
 * A series' chart in a report: its closed records (pieces) in at most about CHART_POINTS
 * points, each the records of an equal stretch of time. A counter's point is its rate over the
 * part of its stretch the monitor watched, the time between its records included (a counter
 * took no sample there), and a watched stretch with no record at all is drawn at zero: over
 * its records' own seconds alone, a counter recorded once every 3 s drew a flat line at 1 a
 * second for a rate of 0.33.
 */
import type { SeriesInfo } from '../engine/registry.js';
import { pieceValue, type Pieces } from '../analysis/stats.js';
import { ALWAYS_WATCHED, coveredSeconds, type Watched } from '../analysis/watched.js';
import type { ChartSeries } from './types.js';

const CHART_POINTS = 300;

/**
 * The chart's points (t, v) of one series; `intervalMs`: a bucket's width; `closedEnd`: where
 * the closed buckets end (the range's end, or the open bucket's start), the last point's time
 * reaching there.
 */
export function chartPoints(kind: SeriesInfo['kind'], pieces: Pieces, intervalMs: number, closedEnd: number, watched: Watched = ALWAYS_WATCHED): Pick<ChartSeries, 't' | 'v'> {
  const t: number[] = [];
  const v: number[] = [];
  if (pieces.n === 0) return { t, v };
  const { start, width } = pieces;
  const counter = kind === 'counter';
  const watchedMs = (from: number, to: number): number => (to > from ? (coveredSeconds(from, to, watched) ?? 0) * 1000 : 0);
  const push = (at: number, value: number): void => {
    if (!Number.isFinite(value)) return;
    t.push(at);
    v.push(Number(value.toPrecision(6)));
  };
  const span = start[pieces.n - 1]! + width[pieces.n - 1]! - start[0]!;
  const stretch = Math.max(intervalMs, Math.ceil(span / CHART_POINTS / intervalMs) * intervalMs);
  let lastEnd = Number.NaN;
  for (let i = 0; i < pieces.n; ) {
    const from = start[i]!;
    // A watched bucket or more between the last point's stretch and this one with no record: zero there.
    if (counter && watchedMs(lastEnd, from) >= intervalMs) {
      push(lastEnd, 0);
      if (from - intervalMs > lastEnd) push(from - intervalMs, 0);
    }
    let count = 0;
    let sum = 0;
    let covered = 0;
    let end = from;
    for (; i < pieces.n && start[i]! < from + stretch; i++) {
      count += pieces.count[i]!;
      sum += pieces.sum[i]!;
      if (counter) covered += watchedMs(end, start[i]!) + width[i]!;
      end = Math.max(end, start[i]! + width[i]!);
    }
    // The rest of the stretch after its last record is its time too (a record may outlast it: a minute's rollup).
    const stretchEnd = Math.max(end, from + stretch);
    if (counter) covered += watchedMs(end, Math.min(stretchEnd, i < pieces.n ? start[i]! : closedEnd));
    lastEnd = i < pieces.n ? Math.min(stretchEnd, start[i]!) : end;
    push(from, pieceValue(kind, { count, sum, widthMs: covered }));
  }
  return { t, v };
}
