// The latest report: its score and the parts it is made of, diagnoses with their evidence
// and actions, recommendations, and the notes that say what the report could not cover.
import { el, num, seriesName, time, duration } from './format.js';

function scoreClass(score) {
  if (score === null || score === undefined) return 'none';
  return score >= 80 ? 'good' : score >= 50 ? 'fair' : 'poor';
}

function scoreBlock(report) {
  const s = report.score;
  const parts = el(
    'table',
    { class: 'parts' },
    el('thead', {}, el('tr', {}, el('th', {}, 'part'), el('th', {}, 'score'), el('th', {}, 'weight'), el('th', {}, 'measured'))),
    el('tbody', {}, s.parts.map((p) => el('tr', {}, el('td', {}, p.name), el('td', {}, p.score === null ? (p.note ?? 'no data') : num(p.score)), el('td', {}, num(p.weight)), el('td', {}, p.value === null ? '–' : `${p.statistic} ${p.metric} = ${num(p.value)}`)))),
  );
  return el(
    'div',
    { class: 'score-block' },
    el('div', { class: `score score-${scoreClass(s.overall)}`, 'data-score': s.overall === null ? '' : String(s.overall) }, s.overall === null ? '–' : String(Math.round(s.overall)), el('small', {}, '/100')),
    el('div', {}, el('p', { class: 'meta' }, `${time(report.window.from)} – ${time(report.window.to)} (${duration(report.window.durationMs)}), ${report.summary.series} series, ${num(report.summary.samples)} samples`), el('details', { class: 'formula' }, el('summary', {}, 'how the score is computed'), s.formula), parts),
  );
}

function actions(list) {
  return list?.length ? el('ul', { class: 'actions' }, list.map((a) => el('li', {}, a))) : null;
}

/** An evidence's window when it is part of the report's (a burst's minutes), else nothing: the report's is said above. */
function within(w, whole) {
  if (!w || (w.from <= whole.from && w.to >= whole.to)) return null;
  return `, ${time(w.from)} – ${time(w.to)} (${duration(w.to - w.from)})`;
}

/**
 * A diagnosis' evidence, each with its series (tags) and, when shorter than the report, its
 * window: the per-endpoint evidence of an error rate read as the overall one again
 * ("mean over the window of error_rate = 0.095 ratio" twice), its {endpoint=…} left out.
 */
function evidence(list, report) {
  return list?.length
    ? el('ul', { class: 'evidence' }, list.map((e) => el('li', {}, `${e.statistic} of `, el('code', {}, seriesName(e.metric, e.tags)), ` = ${num(e.value)} ${e.unit} (threshold ${num(e.threshold)})`, within(e.window, report.window))))
    : null;
}

export function renderReport(container, report) {
  if (!report) {
    container.replaceChildren(el('p', { class: 'empty' }, 'No report yet: generate one.'));
    return;
  }
  const diagnoses = report.diagnoses.length
    ? el('ul', { class: 'findings' }, report.diagnoses.map((d) => el('li', { 'data-diagnosis': d.id }, el('span', { class: `sev sev-${d.severity}` }, d.severity), ' ', el('strong', {}, d.title), el('p', {}, d.summary), evidence(d.evidence, report), actions(d.actions))))
    : el('p', { class: 'empty' }, 'No diagnosis: nothing looked wrong.');
  const recs = report.recommendations?.length
    ? el('ul', { class: 'findings' }, report.recommendations.map((r) => el('li', { 'data-recommendation': r.id }, el('span', { class: `prio prio-${r.priority}` }, r.priority), ' ', el('strong', {}, r.title), actions(r.actions))))
    : el('p', { class: 'empty' }, 'No recommendation.');
  container.replaceChildren(
    el('article', { class: 'report', 'data-generated': String(report.generatedAt) },
      el('p', { class: 'meta' }, `generated ${time(report.generatedAt)} in ${duration(report.timing?.buildMs)}`),
      scoreBlock(report),
      report.notes.length ? el('ul', { class: 'notes' }, report.notes.map((n) => el('li', {}, n))) : null,
      el('h3', {}, `Diagnoses (${report.diagnoses.length})`), diagnoses,
      el('h3', {}, `Recommendations (${report.recommendations?.length ?? 0})`), recs),
  );
}
