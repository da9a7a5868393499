/**
 * The report as one self-contained HTML file: the same sections as the Markdown report,
 * and a chart per main series drawn by uPlot (MIT, ~50 KB), whose script and stylesheet are
 * inlined from node_modules so the file opens offline, anywhere, with nothing to fetch.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isolated } from '../isolate.js';
import { changeText, duration, evidenceLine, fmt, iso, scoreText, seriesLabel } from './markdown.js';
import { noScore } from './score.js';
import type { PerformanceReport } from './types.js';

let uplot: { js: string; css: string } | undefined;

/** uPlot's browser build and stylesheet, read once per thread. */
function uplotAssets(): { js: string; css: string } {
  if (!uplot) {
    const require = createRequire(import.meta.url);
    uplot = {
      js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
      css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    };
  }
  return uplot;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function table(head: string[], rows: string[][], numeric: boolean[] = []): string {
  const th = head.map((h, i) => `<th${numeric[i] ? ' class="n"' : ''}>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="n"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1200px;color:#1d232a;padding:0 16px}
h1{margin-bottom:4px}h2{margin-top:32px;border-bottom:1px solid #dde;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}td,th{border:1px solid #dde;padding:3px 8px;text-align:left}
th{background:#f3f5f8}.n{text-align:right;font-variant-numeric:tabular-nums}
.score{font-size:40px;font-weight:700}.sev-critical{color:#b3261e}.sev-warning{color:#a65b00}.sev-info{color:#365f9c}
.note{background:#f7f3e3;border-left:4px solid #d9b600;padding:6px 10px;margin:6px 0}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:16px}
.chart h3{font-size:13px;margin:0 0 4px;font-weight:600}
`;

const CHART_SCRIPT = `
(function(){
  var charts = JSON.parse(document.getElementById('chart-data').textContent);
  // Axis labels with SI prefixes, so that bytes and rates fit the axis.
  function si(v){
    var a = Math.abs(v), units = [[1e12,'T'],[1e9,'G'],[1e6,'M'],[1e3,'k']];
    for (var i = 0; i < units.length; i++) if (a >= units[i][0]) return +(v / units[i][0]).toPrecision(3) + units[i][1];
    return +v.toPrecision(3) + '';
  }
  charts.forEach(function(c, i){
    var el = document.getElementById('chart-' + i);
    var t = c.t.map(function(x){ return x / 1000; });
    new uPlot({ width: 540, height: 220, legend: { show: true },
      series: [{}, { label: c.label, stroke: '#2f6fdf', width: 1.5, fill: 'rgba(47,111,223,0.08)' }],
      axes: [{}, { size: 60, values: function(u, vals){ return vals.map(si); } }] }, [t, c.v], el);
  });
})();
`;

export function renderHtml(r: PerformanceReport): string {
  const assets = uplotAssets();
  const parts: string[] = [];
  const title = `Performance report ${iso(r.window.from)} – ${iso(r.window.to)}`;
  parts.push(`<h1>Performance report</h1><p>Window: ${escapeHtml(iso(r.window.from))} – ${escapeHtml(iso(r.window.to))} (${escapeHtml(duration(r.window.durationMs))}); generated ${escapeHtml(iso(r.generatedAt))}; ${r.summary.series} series, ${escapeHtml(fmt(r.summary.samples))} samples.</p>`);
  for (const note of r.notes) parts.push(`<p class="note">${escapeHtml(note)}</p>`);

  parts.push(`<h2>Score</h2><p class="score">${r.score.overall === null ? escapeHtml(noScore(r.score)) : `${escapeHtml(fmt(r.score.overall))} / 100`}</p>`);
  parts.push(
    table(
      ['part', 'metric', 'statistic', 'unit', 'value', '100 at', '0 at', 'weight', 'score'],
      r.score.parts.map((p) => [p.name, p.metric, p.statistic, p.unit, fmt(p.value), fmt(p.good), fmt(p.bad), String(p.weight), p.score === null ? (p.note ?? 'no data') : fmt(p.score)]),
      [false, false, false, false, true, true, true, true, true],
    ),
  );
  parts.push(`<p><small>${escapeHtml(r.score.formula)}</small></p>`);

  if (r.charts.length) {
    parts.push('<h2>Charts</h2><div class="charts">');
    r.charts.forEach((c, i) => parts.push(`<div class="chart"><h3>${escapeHtml(seriesLabel(c.metric, c.tags))}${c.unit ? ` (${escapeHtml(c.unit)})` : ''}</h3><div id="chart-${i}"></div></div>`));
    parts.push('</div>');
  }

  parts.push('<h2>Diagnoses</h2>');
  if (r.diagnoses.length === 0) parts.push('<p>No rule fired: nothing crossed a diagnosis threshold in this window.</p>');
  for (const d of r.diagnoses) {
    parts.push(`<h3 class="sev-${d.severity}">[${d.severity}] ${escapeHtml(d.title)}</h3><p>${escapeHtml(d.summary)}</p>`);
    parts.push(`<p>Evidence:</p><ul>${d.evidence.map((e) => `<li>${escapeHtml(evidenceLine(e))}</li>`).join('')}</ul>`);
    parts.push(`<p>Actions:</p><ol>${d.actions.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ol>`);
  }
  if (r.recommendations) {
    parts.push('<h2>Recommendations</h2>');
    if (r.recommendations.length === 0) parts.push('<p>None: no diagnosis or alert finding calls for a change.</p>');
    else parts.push(`<ul>${r.recommendations.map((rec) => `<li><b>${escapeHtml(rec.title)}</b> (${rec.priority} priority, ${escapeHtml(rec.category)}): ${escapeHtml(rec.actions.join(' '))}<ul>${rec.evidence.map((e) => `<li>${escapeHtml(evidenceLine(e))}</li>`).join('')}</ul></li>`).join('')}</ul>`);
  }
  parts.push('<h2>Anomalies</h2>');
  if (r.anomalies.length === 0) parts.push('<p>None: no bucket deviated from its baseline (robust z ≥ 3.5) long or far enough.</p>');
  else {
    parts.push(
      table(
        ['series', 'kind', 'start', 'buckets', 'value', 'baseline median', 'size', 'peak z'],
        r.anomalies.map((a) => [seriesLabel(a.metric, a.tags), `${a.kind} ${a.direction}`, iso(a.start), String(a.buckets), fmt(a.value), fmt(a.baselineMedian), fmt(a.size), scoreText(a)]),
        [false, false, false, true, true, true, true, true],
      ),
    );
  }
  if (r.alerts) {
    const a = r.alerts;
    parts.push('<h2>Alerts</h2>');
    if (!a.available) parts.push('<p>No alert history available.</p>');
    else {
      parts.push(`<p>${a.firings} firings (${escapeHtml(Object.entries(a.bySeverity).map(([s, n]) => `${s} ${n}`).join(', '))}); ${a.unresolved} still firing at the end; median time to resolve ${a.timeToResolve.medianMs === null ? '–' : escapeHtml(duration(a.timeToResolve.medianMs))}.</p>`);
      if (a.flapping.length) parts.push(`<p>Flapping: ${escapeHtml(a.flapping.map((f) => `${isolated(f.ruleName)} (${f.firings} firings)`).join('; '))}</p>`);
    }
  }
  parts.push('<h2>Metrics</h2>');
  parts.push(
    table(
      ['metric', 'kind', 'unit', 'series', 'count', 'mean', 'p50', 'p95', 'p99', 'max', 'rate/s'],
      r.metrics.map((m) => [m.name, m.kind, m.unit, String(m.series), fmt(m.count), fmt(m.mean), fmt(m.p50), fmt(m.p95), fmt(m.p99), fmt(m.max), fmt(m.rate)]),
      [false, false, false, true, true, true, true, true, true, true, true],
    ),
  );
  parts.push('<h2>Series</h2>');
  parts.push(
    table(
      ['series', 'count', 'min', 'mean', 'median', 'p90', 'p95', 'p99', 'max', 'stddev', 'rate/s', 'trend/h (r²)', 'change'],
      r.series.map((s) => [seriesLabel(s.name, s.tags), fmt(s.count), fmt(s.min), fmt(s.mean), fmt(s.median), fmt(s.p90), fmt(s.p95), fmt(s.p99), fmt(s.max), `${fmt(s.stddev)} (${s.stddevMethod})`, fmt(s.rate), s.trend ? `${fmt(s.trend.slopePerHour)} (${fmt(s.trend.r2)})` : '–', changeText(s)]),
      [false, true, true, true, true, true, true, true, true, true, true, true, true],
    ),
  );
  const data = r.charts.map((c) => ({ label: seriesLabel(c.metric, c.tags), t: c.t, v: c.v }));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${assets.css}</style><style>${STYLE}</style>
</head><body>
${parts.join('\n')}
<script type="application/json" id="chart-data">${scriptJson(data)}</script>
<script>${assets.js.replace(/<\/script/gi, '<\\/script')}</script>
<script>${CHART_SCRIPT}</script>
</body></html>
`;
}
