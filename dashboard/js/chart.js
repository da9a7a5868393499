// A chart card: one or more metrics' series over the chosen range, drawn by uPlot. A card's
// data attributes say what it drew (data-series, data-points), for people inspecting the
// page and for the browser test.
import uPlot from '../vendor/uPlot.esm.js';
import { el, seriesName, withUnit } from './format.js';

export const PALETTE = ['#2f7ed8', '#e4572e', '#29a36a', '#a05ec4', '#f0a202', '#17a2b8', '#c2185b', '#6d7b8d'];
const HEIGHT = 180;

/** Series with at most this many values are drawn with their points too. */
const FEW_POINTS = 60;

/**
 * [x seconds[], y[]] of one series' points, for one statistic (p50, p99, value, …); points
 * without one are left out. Bucketed points (`stepMs` wide) that leave steps between them
 * (no sample there: for a counter asked with zero_fill, a time the monitor did not watch) get
 * a null after the last step held, where uPlot breaks the line: joined across, a counter's
 * idle time was drawn at its last rate.
 */
function table(points, stat, stepMs) {
  const xs = [];
  const ys = [];
  let end = Infinity;
  for (const p of points) {
    const v = p[stat] ?? p.value;
    if (!Number.isFinite(v)) continue;
    if (stepMs > 0 && p.t > end) {
      xs.push(end / 1000);
      ys.push(null);
    }
    xs.push(p.t / 1000);
    ys.push(v);
    end = p.t + stepMs;
  }
  return [xs, ys];
}

/**
 * Whether to draw a series' points: uPlot draws a line, and a value with no neighbour (one
 * sample in the range, or one between gaps) makes no line, so it was not drawn at all (a
 * single failed request: nothing on the error-rate chart). Few values, or a lone one: points.
 */
function showPoints(ys) {
  if (ys.filter((y) => y !== null).length <= FEW_POINTS) return true;
  return ys.some((y, i) => y !== null && (ys[i - 1] ?? null) === null && (ys[i + 1] ?? null) === null);
}

/** The y axis' font, set (near uPlot's default) so that its labels can be measured. */
const AXIS_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif';
let measurer;

/**
 * The y axis' width: its widest label and the ticks' 15 px. A fixed 70 px cut `143.1 MiB` to
 * `.43.1 MiB`.
 */
function axisSize(_u, values) {
  if (!values || values.length === 0) return 50;
  measurer ??= document.createElement('canvas').getContext('2d');
  measurer.font = AXIS_FONT;
  const widest = Math.max(...values.map((v) => measurer.measureText(String(v)).width));
  return Math.max(50, Math.ceil(widest) + 15 + 8);
}

/**
 * A short time label (uPlot's own take two lines and crowd a narrow card): the day too past a
 * day's range. Short labels let ticks come 40 px apart, one a minute on a 5 m range in a card.
 */
function tickTime(seconds, range) {
  const d = new Date(seconds * 1000);
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
  return range.to - range.from > 86_400_000 ? `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${hm}` : hm;
}

/**
 * The series' tables on one x axis, a row per point of each: samples that share a time (raw
 * samples taken within one tick of the clock) all stay, where uPlot.join keeps one per x.
 * Each series is undefined on the others' rows, which uPlot draws across; its own nulls (a
 * gap: table()) stay nulls, which it breaks at.
 */
function joinAll(tables) {
  const rows = [];
  tables.forEach(([xs, ys], s) => xs.forEach((x, i) => rows.push([x, s, ys[i]])));
  rows.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out = [rows.map((r) => r[0]), ...tables.map(() => new Array(rows.length).fill(undefined))];
  rows.forEach(([, s, y], i) => {
    out[s + 1][i] = y;
  });
  return out;
}

/** The whole scale of a bounded unit, as its values are: a ratio 0–1 (drawn as 0–100 %), a percent 0–100. */
const BOUNDED = { ratio: 1, percent: 100 };

/**
 * The y range: uPlot's own, except for a bounded unit: a flat series gets its whole scale, and
 * any other stays within it. uPlot ranges a series flat at 0 as 0–100 whatever its unit, which
 * an error rate at 0 throughout (a ratio, its ticks ×100) read as 0–10,000 %, and pads a
 * range by a tenth, which drew an error rate of 0–100 % on a 0–110 % scale.
 */
function yRange(chart) {
  return (_u, min, max) => {
    if (min === null || max === null) return [null, null];
    const top = BOUNDED[chart.unit];
    if (top !== undefined && !(max > min)) return [Math.min(0, min), Math.max(top, max)];
    const [low, high] = uPlot.rangeNum(min, max, 0.1, true);
    if (top === undefined) return [low, high];
    return [Math.max(low, Math.min(0, min)), Math.min(high, Math.max(top, max))];
  };
}

export class Chart {
  /** spec: { id, title, unit?, queries: [{ metric, tags?, stats: ['value'] | ['p50', 'p99'] | … }] } */
  constructor(parent, spec, onRemove) {
    this.spec = spec;
    this.plot = null;
    this.labels = '';
    this.unit = spec.unit ?? '';
    this.body = el('div', { class: 'plot' });
    this.note = el('p', { class: 'empty' }, 'Waiting for data…');
    const remove = onRemove ? el('button', { type: 'button', class: 'remove', title: 'remove this chart', onclick: () => onRemove(this) }, '×') : null;
    this.card = el('article', { class: 'card', 'data-chart': spec.id }, el('h3', {}, spec.title, remove), this.note, this.body);
    parent.append(this.card);
    this.resizer = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT }));
    this.resizer.observe(this.body);
  }

  width() {
    return Math.max(200, this.body.clientWidth);
  }

  /** Points per series worth asking for: about one per pixel. */
  maxPoints() {
    return Math.min(2000, Math.max(100, Math.round(this.width())));
  }

  /** Draws the answers of the spec's queries (a MetricHistory each, or an Error). */
  set(answers, range) {
    const tables = [];
    const series = [{}];
    const problems = [];
    answers.forEach((answer, qi) => {
      const query = this.spec.queries[qi];
      if (answer instanceof Error) return problems.push(`${query.metric}: ${answer.message}`);
      if (!this.spec.unit) this.unit = answer.unit;
      // The page asked is the busiest series in the range (order=busiest): say which, and how to see others.
      if (answer.totalSeries > answer.series.length) {
        const which = answer.unranked ? 'the first registered (too many to rank by activity)' : 'the busiest in this range';
        problems.push(`${query.metric}: ${answer.series.length} of ${answer.totalSeries} series shown, ${which} (choose others by tags below)`);
      }
      if (answer.hint) problems.push(`${query.metric}: ${answer.hint}`);
      for (const s of answer.series) {
        // Raw points are single samples, with no quantiles of their own: one line of them.
        const stats = s.points.some((p) => p[query.stats[0]] !== undefined) ? query.stats : ['value'];
        for (const stat of stats) {
          const [xs, ys] = table(s.points, stat, s.stepMs);
          if (xs.length === 0) continue;
          tables.push([xs, ys]);
          const label = `${seriesName(answer.metric, s.tags)}${stats !== query.stats ? ' samples' : stats.length > 1 || stat !== 'value' ? ` ${stat}` : ''}`;
          series.push({ label, stroke: PALETTE[(series.length - 1) % PALETTE.length], width: 1.5, value: (_u, v) => withUnit(v, this.unit), points: { show: showPoints(ys) } });
        }
      }
    });
    const points = tables.reduce((n, [, ys]) => n + ys.filter((y) => y !== null).length, 0);
    this.card.dataset.series = String(tables.length);
    this.card.dataset.points = String(points);
    this.note.hidden = tables.length > 0 && problems.length === 0;
    this.note.textContent = problems.length ? problems.join('; ') : 'No data in this range yet.';
    if (tables.length === 0) {
      this.destroyPlot();
      return;
    }
    const data = tables.length === 1 ? tables[0] : joinAll(tables);
    // A series' points shown or not is part of its options, which setData keeps.
    const labels = series.slice(1).map((s) => `${s.label} ${s.points.show}`).join('\n');
    // The x scale shows the whole range asked for, data or not (setData re-reads it).
    this.range = range;
    if (this.plot && labels === this.labels) {
      this.plot.setData(data);
      return;
    }
    this.destroyPlot();
    this.labels = labels;
    this.plot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        series,
        scales: { x: { time: true, range: () => [this.range.from / 1000, this.range.to / 1000] }, y: { range: yRange(this) } },
        axes: [{ space: 40, values: (_u, ticks) => ticks.map((t) => tickTime(t, this.range)) }, { size: axisSize, font: AXIS_FONT, values: (_u, ticks) => ticks.map((v) => withUnit(v, this.unit)) }],
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      },
      data,
      this.body,
    );
  }

  destroyPlot() {
    this.plot?.destroy();
    this.plot = null;
    this.labels = '';
  }

  remove() {
    this.resizer.disconnect();
    this.destroyPlot();
    this.card.remove();
  }
}
