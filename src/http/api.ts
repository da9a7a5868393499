/**
 * The JSON API: thin routes over the library's calls, with its validation (a library error
 * naming a field becomes a 400 naming the query parameter). Every list answer is bounded by
 * default (`limit`) and says how to get more (`next`, the URL of the following page).
 */
import type { ServerResponse } from 'node:http';
import type { PerformanceMonitor } from '../monitor/monitor.js';
import type { MetricHistory } from '../monitor/history.js';
import { MAX_WINDOW_SECONDS } from '../monitor/query.js';
import { ByteBudget, readBody, type BodyCounters, type BodyRefusal } from '../mcp/http-body.js';
import { MAX_REPORT_PAGE_ROWS, REPORT_PAGE_ROWS, bodyRow, reportPage, type ReportFormat, type ReportPageAsk } from './report-page.js';
import { tagHint } from './tag-hint.js';
import { HttpError, boolParam, checkAnswerPoints, checkFromBeforeNow, intParam, namesParam, queryParams, sendError, sendJson, tagsParam, timeParam, type Route, type RouteContext } from './router.js';

/**
 * The most series one /api/metrics page summarises. The summaries run on the host's thread,
 * a window's sketches merged per series: a page of 10,000, the cap until 2026-12-02, held its
 * event loop for a second on a shared machine. The dashboard asks for 1,000.
 */
const MAX_PAGE_SERIES = 1_000;
/** The report options a request may set (the others are functions or signals). */
const REPORT_KEYS = ['from', 'to', 'includeRecommendations', 'includeAlerts', 'format', 'limit', 'offset'];
const REPORT_BODY_BYTES = 16 * 1024;
/** A report request's body refused (too long, or the bodies' budget spent): in the JSON API's error shape, field `body`. */
const REPORT_BODY_REFUSAL: BodyRefusal = {
  advice: 'a report request holds its options alone (from, to, includeRecommendations, includeAlerts, format, limit, offset)',
  send: (res, status, message, headers) => sendError(res, new HttpError(status, message, 'body', headers)),
};

export interface ApiDeps {
  monitor: PerformanceMonitor;
  maxConcurrentReports: number;
  /** The server's own state, shown in /api/status. */
  serverStatus(): unknown;
}

/** The URL of the next page: the request's own with `offset` moved on. */
function nextPage(url: URL, offset: number): string {
  const next = new URL(url.href);
  next.searchParams.set('offset', String(offset));
  return `${next.pathname}${next.search}`;
}

/** Runs a route, answering what it throws; `rename` maps a library field to its parameter. */
function route(method: Route['method'], path: string, handle: (ctx: RouteContext) => Promise<void> | void, rename?: (field: string) => string): Route {
  return {
    method,
    path,
    handle: async (ctx) => {
      try {
        await handle(ctx);
      } catch (error) {
        sendError(ctx.res, error, rename);
      }
    },
  };
}

const HISTORY_FIELDS: Record<string, string> = { maxPoints: 'max_points', zeroFill: 'zero_fill' };

export function apiRoutes(deps: ApiDeps): Route[] {
  const { monitor } = deps;
  let reportsRunning = 0;
  const budget = new ByteBudget(deps.maxConcurrentReports * REPORT_BODY_BYTES);
  const refused: BodyCounters = { tooLarge: 0, busy: 0 };

  return [
    route('GET', '/api/status', ({ url, res }) => {
      queryParams(url, []);
      sendJson(res, 200, { monitor: monitor.status(), http: deps.serverStatus() });
    }),

    route('GET', '/api/metrics', ({ url, res }) => {
      const p = queryParams(url, ['names', 'tags', 'window', 'sampled', 'limit', 'offset']);
      const names = namesParam(p, 'names');
      const window = intParam(p, 'window', 1, MAX_WINDOW_SECONDS, 60);
      const limit = intParam(p, 'limit', 1, MAX_PAGE_SERIES, 200);
      const offset = intParam(p, 'offset', 0, Number.MAX_SAFE_INTEGER, 0);
      const tags = tagsParam(p);
      // The order stays id order, which a consumer pages through; on a service whose tags churn
      // its first pages are series recorded once, and `sampled=true` reads the live ones alone.
      const sampled = p.has('sampled') ? boolParam(p, 'sampled', true) : undefined;
      // Only the page is summarised: at 20,000 series all of them held this thread for a second.
      const query = { ...(names ? { names } : {}), ...(tags ? { tags } : {}) };
      const judged = sampled === undefined ? query : { ...query, sampled, windowSeconds: window };
      const metrics = monitor.getMetrics({ ...judged, windowSeconds: window, offset, limit });
      const total = monitor.countMetrics(judged);
      const more = offset + metrics.length < total;
      sendJson(res, 200, { total, offset, limit, metrics, ...(more ? { next: nextPage(url, offset + metrics.length) } : {}), ...(total === 0 ? tagHint(monitor, names, tags) : {}) });
    }, (f) => (f === 'windowSeconds' ? 'window' : f)),

    route('GET', '/api/names', ({ url, res }) => {
      const p = queryParams(url, ['limit', 'offset']);
      const limit = intParam(p, 'limit', 1, MAX_PAGE_SERIES, MAX_PAGE_SERIES);
      const offset = intParam(p, 'offset', 0, Number.MAX_SAFE_INTEGER, 0);
      const all = monitor.getMetricNames();
      const names = all.slice(offset, offset + limit);
      const more = offset + names.length < all.length;
      sendJson(res, 200, { total: all.length, offset, limit, names, ...(more ? { next: nextPage(url, offset + names.length) } : {}) });
    }),

    route('GET', '/api/history', async ({ url, res, away }) => {
      const p = queryParams(url, ['metric', 'tags', 'from', 'to', 'max_points', 'resolution', 'limit', 'offset', 'order', 'zero_fill']);
      const metric = p.get('metric');
      if (metric === undefined) throw new HttpError(400, 'metric is required: the name of the metric whose history to read', 'metric');
      const limit = intParam(p, 'limit', 1, 1000, 20);
      const offset = intParam(p, 'offset', 0, Number.MAX_SAFE_INTEGER, 0);
      const maxPoints = intParam(p, 'max_points', 1, 100_000, 500);
      checkAnswerPoints(p, limit, maxPoints);
      const from = timeParam(p, 'from');
      const to = timeParam(p, 'to');
      checkFromBeforeNow(from, to, monitor.now());
      const tags = tagsParam(p);
      // Checked by the library, which names the field and lists the values it takes.
      const resolution = p.get('resolution') as 'auto' | undefined;
      const order = p.get('order') as 'id' | undefined;
      const zeroFill = boolParam(p, 'zero_fill', false);
      const history: MetricHistory = await monitor.getMetricHistory({
        metric,
        maxPoints,
        limit,
        offset,
        ...(tags ? { tags } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        ...(resolution !== undefined ? { resolution } : {}),
        ...(order !== undefined ? { order } : {}),
        ...(zeroFill ? { zeroFill } : {}),
        // Its waits for the storage actor give the request's place back (a large file's read).
      }, away);
      const more = offset + history.series.length < history.totalSeries;
      const hint = history.totalSeries === 0 ? tagHint(monitor, [metric], tags) : {};
      sendJson(res, 200, { ...history, offset, limit, ...(more ? { next: nextPage(url, offset + history.series.length) } : {}), ...hint });
    }, (f) => HISTORY_FIELDS[f] ?? f),

    route('GET', '/api/alerts', ({ url, res }) => {
      const p = queryParams(url, ['state', 'severity', 'history', 'from', 'to', 'rule', 'limit', 'offset']);
      const limit = intParam(p, 'limit', 1, 10_000, 100);
      const offset = intParam(p, 'offset', 0, Number.MAX_SAFE_INTEGER, 0);
      const state = p.get('state') as 'active' | undefined;
      const severity = p.get('severity') as 'critical' | undefined;
      const rule = p.get('rule');
      const ofRule = rule === undefined ? undefined : ruleMatcher(monitor, rule);
      const alerts = monitor.getAlerts({ ...(state !== undefined ? { state } : {}), ...(severity !== undefined ? { severity } : {}) }).filter((a) => ofRule?.(a) ?? true);
      const body: Record<string, unknown> = { total: alerts.length, offset, limit, alerts: alerts.slice(offset, offset + limit) };
      const history = p.get('history');
      if (history !== undefined && history !== 'true' && history !== 'false') throw new HttpError(400, `history must be true or false, got "${history.slice(0, 64)}"`, 'history');
      // Taken without a word, a from or to without history=true seemed to bound the answer,
      // which held the alerts active now whatever the window asked.
      if (history !== 'true') {
        for (const name of ['from', 'to']) {
          if (p.has(name)) throw new HttpError(400, `${name} bounds the alert history: add history=true, or leave ${name} out (the active alerts are those of now)`, name);
        }
      }
      if (history === 'true') {
        const from = timeParam(p, 'from');
        const to = timeParam(p, 'to');
        checkFromBeforeNow(from, to, monitor.now());
        const transitions = monitor.getAlertHistory({ ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) }).filter((t) => ofRule?.(t) ?? true);
        // The newest ones: a page of history is the recent past, and `offset` goes back from it.
        body.historyTotal = transitions.length;
        body.history = transitions.slice(Math.max(0, transitions.length - offset - limit), Math.max(0, transitions.length - offset));
      }
      // Past 10,000 alerts (a rule over many series) a larger limit cannot reach them: pages can.
      if (alerts.length > offset + limit || (body.historyTotal as number) > offset + limit) {
        body.more = `${limit} of each from offset ${offset}: the next page is \`next\`, or narrow by state, severity, from/to or rule`;
        body.next = nextPage(url, offset + limit);
      }
      sendJson(res, 200, body);
    }),

    route('GET', '/api/reports/latest', ({ url, res }) => {
      const p = queryParams(url, ['optional', 'limit', 'offset', 'format']);
      const optional = p.get('optional');
      if (optional !== undefined && optional !== 'true' && optional !== 'false') throw new HttpError(400, `optional must be true or false, got "${optional.slice(0, 64)}"`, 'optional');
      const ask = pageAsk(intParam(p, 'limit', 1, MAX_REPORT_PAGE_ROWS, REPORT_PAGE_ROWS), intParam(p, 'offset', 0, Number.MAX_SAFE_INTEGER, 0), p.get('format'));
      const report = monitor.getLatestReport();
      const none = 'no report has been generated yet: POST /api/reports builds one';
      // optional=true: none yet is an answer, not a 404, which a browser logs as an error (the
      // dashboard asks so on every load of a fresh monitor); other clients keep the 404.
      if (report === undefined && optional === 'true') sendJson(res, 200, { report: null, reason: none });
      else if (report === undefined) throw new HttpError(404, none, 'report');
      else sendReport(res, reportPage(report, ask));
    }),

    route('POST', '/api/reports', async ({ req, res, url, away }) => {
      queryParams(url, []);
      if (reportsRunning >= deps.maxConcurrentReports) throw new HttpError(503, `${reportsRunning} reports are being built, the limit (maxConcurrentReports): retry shortly`, undefined, { 'Retry-After': '1' });
      const raw = await readBody(req, res, REPORT_BODY_BYTES, budget, refused, REPORT_BODY_REFUSAL);
      if (raw === undefined) return;
      let options: unknown = {};
      if (raw.length > 0) {
        try {
          options = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new HttpError(400, `the body must be a JSON object of report options (${REPORT_KEYS.join(', ')})`, 'body');
        }
      }
      if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new HttpError(400, 'the body must be a JSON object of report options', 'body');
      const unknown = Object.keys(options).find((k) => !REPORT_KEYS.includes(k));
      if (unknown !== undefined) throw new HttpError(400, `unknown report option "${unknown}"; the options are ${REPORT_KEYS.join(', ')}`, unknown);
      const { limit, offset, format, ...body } = options as Record<string, unknown>;
      for (const name of ['from', 'to'] as const) if (body[name] !== undefined) body[name] = bodyTime(body[name], name);
      // Built as JSON and paged here: a page of a report of 10,000 series is rendered from 200 rows, not 10,000.
      const ask = pageAsk(bodyRow(limit, 'limit') ?? REPORT_PAGE_ROWS, bodyRow(offset, 'offset') ?? 0, format);
      checkFromBeforeNow(body.from as number | undefined, body.to as number | undefined, monitor.now());
      const abort = new AbortController();
      const gone = (): void => abort.abort();
      res.once('close', gone);
      reportsRunning++;
      try {
        // Built in the pool: the request's place of the call gate goes to others meanwhile.
        const building = monitor.generateReport({ ...body, signal: abort.signal });
        const report = await (away ? away(building) : building);
        sendReport(res, reportPage(report, ask));
      } finally {
        reportsRunning--;
        res.off('close', gone);
      }
    }),
  ];
}

/**
 * A report body's `from`/`to`: a number of ms as JSON gives it, or a string read as the query
 * routes read their times (timeParam: ms since the epoch or an ISO 8601 date), refused in the
 * same words.
 */
function bodyTime(value: unknown, name: 'from' | 'to'): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return timeParam(new Map([[name, typeof value === 'string' ? value : typeof value === 'number' ? String(value) : String(JSON.stringify(value))]]), name)!;
}

/** A report page asked for; a format none of json, markdown and html is refused as the library refuses it. */
function pageAsk(limit: number, offset: number, format: unknown): ReportPageAsk {
  if (format !== undefined && format !== 'json' && format !== 'markdown' && format !== 'html') throw new HttpError(400, `format must be one of json, markdown, html, got ${String(JSON.stringify(format)).slice(0, 64)}`, 'format');
  return { limit, offset, format: (format as ReportFormat | undefined) ?? 'json' };
}

function sendReport(res: ServerResponse, page: ReturnType<typeof reportPage>): void {
  if ('body' in page) return sendJson(res, 200, page.body);
  res.writeHead(200, { 'Content-Type': page.type, 'Content-Length': Buffer.byteLength(page.text), 'Cache-Control': 'no-store' });
  res.end(page.text);
}

/** Rules listed in an error naming an unknown one. */
const RULES_LISTED = 10;

/**
 * `rule` of /api/alerts: a rule's id or its name (the dashboard shows names), matching the
 * alerts and the transitions of every rule so named, and those of a deleted rule by its id.
 * One that matches nothing is refused, naming the rules, rather than answering empty lists.
 */
function ruleMatcher(monitor: PerformanceMonitor, rule: string): (a: { ruleId: string; ruleName: string }) => boolean {
  const rules = monitor.listAlertRules();
  const match = (a: { ruleId: string; ruleName: string }): boolean => a.ruleId === rule || a.ruleName === rule;
  if (rules.some((r) => r.id === rule || r.name === rule) || monitor.getAlertHistory({}).some(match)) return match;
  const listed = rules.slice(0, RULES_LISTED).map((r) => `"${r.name}" (${r.id})`).join(', ');
  const more = rules.length > RULES_LISTED ? ` and ${rules.length - RULES_LISTED} more` : '';
  throw new HttpError(400, `rule must be the id or name of an alert rule, got "${rule.slice(0, 64)}"; the rules: ${listed || 'none'}${more}`, 'rule');
}
