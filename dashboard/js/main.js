// The page: default charts of the metrics every monitor records, charts of any metric the
// reader asks for, alerts, the latest report and the monitor's own cost, refreshed by the
// event stream (new buckets, alert transitions) and, only while it is down, by polling.
import * as api from './api.js';
import { AlertsPanel } from './alerts.js';
import { Chart } from './chart.js';
import { renderCost } from './cost.js';
import { parseTags, seriesName } from './format.js';
import { renderReport } from './report.js';

/** Series every monitor records (src/engine/metrics.ts); the request ones once the service calls recordRequest(). */
const DEFAULT_CHARTS = [
  { id: 'cpu', title: 'CPU (machine)', queries: [{ metric: 'cpu_usage', stats: ['value'] }] },
  { id: 'memory', title: 'Memory in use (machine)', queries: [{ metric: 'memory_usage', stats: ['value'] }] },
  { id: 'process-memory', title: 'Process memory: heap and rss', queries: [{ metric: 'heap_used', stats: ['value'] }, { metric: 'rss', stats: ['value'] }] },
  { id: 'event-loop-lag', title: 'Event-loop lag (p99 per interval)', queries: [{ metric: 'event_loop_lag', stats: ['value'] }] },
  { id: 'response-time', title: 'Response time p50 / p99 per endpoint', queries: [{ metric: 'response_time', stats: ['p50', 'p99'] }] },
  { id: 'throughput', title: 'Throughput per endpoint', queries: [{ metric: 'throughput', stats: ['value'], rates: true }] },
  { id: 'error-rate', title: 'Error rate per endpoint', queries: [{ metric: 'error_rate', stats: ['value'], rates: true }] },
];
const POLL_MS = 5000;
const HISTORY_SHOWN = 100;
/** Recorded by the collector every interval, whatever else is sampled (src/engine/metrics.ts). */
const TICK_METRIC = 'monitor_ingested';

const $ = (id) => document.getElementById(id);
const state = { rangeMs: Number($('range').value), charts: [], live: false, busy: false, again: false, lastRefresh: 0, timer: 0, alertsBusy: false, alertsAgain: false };
const alerts = new AlertsPanel({ list: $('alerts'), count: $('alert-count'), history: $('alert-history') });

function showError(error) {
  $('error').hidden = !error;
  $('error').textContent = error ? String(error.message ?? error) : '';
}

// A busy server (429) is waited for, said calmly apart from the errors (api.js).
api.whenBusy((waitMs) => {
  $('busy').hidden = waitMs === null;
  $('busy').textContent = waitMs === null ? '' : `The server is busy answering other requests; the dashboard asks again in ${Math.ceil(waitMs / 1000)} s.`;
});

function addChart(spec, removable) {
  const chart = new Chart($('charts'), spec, removable ? (c) => {
    c.remove();
    state.charts.splice(state.charts.indexOf(c), 1);
  } : undefined);
  state.charts.push(chart);
  return chart;
}

/**
 * Whether a metric is charted as rates: a counter (per second) or a ratio (per step). Their raw
 * samples are an increment or a 0 and a 1, no rate: drawn as they were, 10 requests a second
 * read "1/s" and one failure in ten a spike to 100 %.
 */
const chartedAsRates = (answer) => answer.kind === 'counter' || answer.unit === 'ratio';

/**
 * A chart's queries over [from, to], the busiest series in the range first. A query of rates
 * asks for buckets over the whole range (stored history included), with a counter's watched
 * seconds without a sample at 0; one of "Any metric" learns from its first answer whether it
 * is one, and asks again when that answer held raw samples.
 */
async function drawChart(chart, from, to) {
  const ask = (q) => api.history({ metric: q.metric, tags: q.tags, from, to, maxPoints: chart.maxPoints(), rates: q.rates }).catch((e) => e);
  const answers = await Promise.all(
    chart.spec.queries.map(async (q) => {
      const answer = await ask(q);
      if (q.rates !== undefined || answer instanceof Error) return answer;
      q.rates = chartedAsRates(answer);
      return q.rates && answer.series.some((s) => s.resolution === 'raw') ? ask(q) : answer;
    }),
  );
  chart.set(answers, { from, to });
}

async function refreshStatus() {
  const s = await api.status();
  $('state').textContent = s.paused ? 'paused' : s.state;
  $('state').dataset.state = s.paused ? 'paused' : s.state;
  renderCost($('cost'), s);
}

/** Charts and status now; a call while one runs makes it run once more afterwards. */
async function refresh() {
  if (state.busy) {
    state.again = true;
    return;
  }
  state.busy = true;
  try {
    const to = api.serverNow();
    const from = to - state.rangeMs;
    await Promise.all([...state.charts.map((c) => drawChart(c, from, to)), refreshStatus()]);
    showError(null);
  } catch (error) {
    showError(error);
  } finally {
    state.busy = false;
    state.lastRefresh = Date.now();
    if (state.again) {
      state.again = false;
      schedule();
    }
  }
}

/** A refresh no more often than the range warrants (a point is range/600 wide; 1 s to 1 min). */
function schedule() {
  if (state.timer) return;
  const gap = Math.min(60_000, Math.max(1000, state.rangeMs / 600));
  const wait = Math.max(0, state.lastRefresh + gap - Date.now());
  state.timer = setTimeout(() => {
    state.timer = 0;
    void refresh();
  }, wait);
}

/**
 * The alerts from the API; a call while one runs makes it run once more afterwards. Each
 * transition on the stream asks for one, so a burst of them (a rule over many series) reads
 * the alerts once or twice instead of once each: 150 transitions were 150 reads, each
 * building the alerts and their history on the host's thread.
 */
async function refreshAlerts() {
  if (state.alertsBusy) {
    state.alertsAgain = true;
    return;
  }
  state.alertsBusy = true;
  try {
    const answer = await api.alerts(HISTORY_SHOWN);
    alerts.set(answer.alerts, answer.total, answer.history);
  } catch (error) {
    showError(error);
  } finally {
    state.alertsBusy = false;
    if (state.alertsAgain) {
      state.alertsAgain = false;
      void refreshAlerts();
    }
  }
}

async function loadReport() {
  try {
    renderReport($('report'), await api.latestReport());
  } catch (error) {
    showError(error);
  }
}

async function loadMetricNames() {
  try {
    const names = await api.metricNames();
    $('metric-names').replaceChildren(...names.map((n) => Object.assign(document.createElement('option'), { value: n })));
  } catch (error) {
    showError(error);
  }
}

/** While the stream is up it is the only source of updates; on (re)connecting, catch up on what it missed. */
function setLive(open) {
  if (open && !state.live) {
    void refresh();
    void refreshAlerts();
  }
  state.live = open;
  $('live').dataset.live = open ? 'on' : 'off';
  $('live').textContent = open ? 'live' : 'live: off (polling)';
}

$('range').addEventListener('change', () => {
  state.rangeMs = Number($('range').value);
  void refresh();
});

$('explore').addEventListener('submit', (e) => {
  e.preventDefault();
  try {
    const metric = $('explore-metric').value.trim();
    const tags = parseTags($('explore-tags').value);
    const stats = $('explore-stat').value.split(',');
    const chart = addChart({ id: `explore-${state.charts.length}`, title: seriesName(metric, tags), queries: [{ metric, tags, stats }] }, true);
    const to = api.serverNow();
    void drawChart(chart, to - state.rangeMs, to);
    showError(null);
  } catch (error) {
    showError(error);
  }
});

$('report-run').addEventListener('click', async () => {
  const button = $('report-run');
  button.disabled = true;
  button.textContent = 'Generating…';
  try {
    const to = api.serverNow();
    renderReport($('report'), await api.generateReport(to - state.rangeMs, to));
    showError(null);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
    button.textContent = 'Generate a report of this range';
  }
});

for (const spec of DEFAULT_CHARTS) addChart(spec, false);
setLive(false);
// One stream (a browser opens six connections to a server at most): alerts, and the
// buckets of a series the monitor records every interval, the clock of the charts' refresh.
api.subscribe(
  TICK_METRIC,
  {
    buckets: () => schedule(),
    alert: (t) => {
      alerts.transition(t);
      void refreshAlerts();
    },
  },
  setLive,
);
setInterval(() => {
  if (state.live) return;
  void refresh();
  void refreshAlerts();
}, POLL_MS);
void refresh();
void refreshAlerts();
void loadReport();
void loadMetricNames();
// For a look from the browser's console (and the browser test): the charts and their uPlot instances.
window.perfwatchDashboard = { charts: state.charts };
