/**
 * The alerts answer of get_performance_alerts, shared with get_monitoring_status
 * (include_alerts) and the perfwatch://alerts resource: alerts by state and severity, counts
 * per rule, and on request the rules and the latest changes, within the read budget.
 */
import { z } from 'zod';
import { SEVERITIES, type Alert, type AlertTransition } from '../alerts/schema.js';
import type { PerformanceMonitor } from '../monitor/monitor.js';
import { AlertOut, RuleOut, TransitionOut, alertOut, derivedRules, ruleOut, transitionOut, valueText } from './alert-shapes.js';
import { ANSWER_BYTES, jsonBytes, sameNextOffset, take, textBytes, type Taken } from './budget.js';
import { exact, num, seriesLabel } from './format.js';
import { isolated } from '../isolate.js';
import { intRange } from './schemas.js';

/** Rules listed in an alerts answer's counts per rule. */
const BY_RULE = 10;

const STATE_QUERY = ['pending', 'firing', 'resolved', 'active', 'all'] as const;

export const AlertsArgs = z.strictObject({
  state: z.enum(STATE_QUERY, { error: `must be one of ${STATE_QUERY.join(', ')}` }).default('active').describe('active: pending and firing'),
  severity: z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` }).optional(),
  include_rules: z.boolean({ error: 'must be true or false' }).default(false),
  include_history: z.boolean({ error: 'must be true or false' }).default(false),
  limit: intRange(1, 1000).optional().describe('Per list (default: fits 8 KB)'),
  offset: intRange(0, 10_000_000).optional(),
});

/** Severity is the arguments' word, listed there (tools/list's budget). */
const RuleCount = z.object({ rule_id: z.string(), rule_name: z.string(), severity: z.string(), firing: z.number(), pending: z.number() });

export const AlertsOutput = z.object({
  alerts: z.array(AlertOut),
  total: z.number(),
  truncated: z.boolean(),
  counts: z.object({ pending: z.number(), firing: z.number(), rules: z.number() }),
  by_rule: z.array(RuleCount).describe(`active alerts per rule (top ${BY_RULE})`),
  rules: z.array(z.record(z.string(), z.unknown())).optional().describe('as create_performance_alert_rule'),
  rules_truncated: z.boolean().optional(),
  history: z.array(z.record(z.string(), z.unknown())).optional().describe('as notifications'),
  history_truncated: z.boolean().optional(),
  next_offset: z.number().optional(),
});

export type AlertsAnswer = z.output<typeof AlertsOutput>;

/**
 * The profile a firing took (or why none), for the text: the structured answer carries it on
 * the history entry, but a model reading the text saw a firing without the function to blame.
 */
function profileText(p: AlertTransition['profile'] | z.output<typeof TransitionOut>['profile']): string {
  if (!p) return '';
  return p.id > 0 ? `; profile ${p.id} (capture_performance_profile { id: ${p.id} }): ${p.headline}` : `; ${p.headline}`;
}

function alertLine(a: z.output<typeof AlertOut>, derived: ReadonlySet<string>, profile?: AlertTransition['profile']): string {
  const since = a.state === 'resolved' ? `resolved ${a.since}` : `${a.state} since ${a.since}`;
  return `${a.severity.toUpperCase()} ${isolated(a.rule_name)}: ${seriesLabel(a.metric_type, a.tags)} = ${valueText(a.value, a.threshold, derived.has(a.rule_id))} (threshold ${exact(a.threshold)}), ${since}${profileText(profile)}`;
}

function ruleLine(r: z.output<typeof RuleOut>): string {
  return `  ${r.id} ${isolated(r.name)}: ${r.condition} (${r.severity}${r.duration ? `, for ${r.duration}s` : ''})`;
}

function transitionLine(t: z.output<typeof TransitionOut>, derived: ReadonlySet<string>): string {
  return `  ${t.at} ${isolated(t.rule_name)} ${seriesLabel(t.metric_type, t.tags)}: ${t.from} → ${t.to} at ${valueText(t.value, t.threshold, derived.has(t.rule_id))}${profileText(t.profile)}${t.reason ? `: ${t.reason}` : ''}`;
}

/** Active alerts per rule, most first. */
function byRule(active: readonly Alert[]): z.output<typeof RuleCount>[] {
  const counts = new Map<string, z.output<typeof RuleCount>>();
  for (const a of active) {
    let c = counts.get(a.ruleId);
    if (!c) counts.set(a.ruleId, (c = { rule_id: a.ruleId, rule_name: a.ruleName, severity: a.severity, firing: 0, pending: 0 }));
    if (a.state === 'firing') c.firing++;
    else if (a.state === 'pending') c.pending++;
  }
  return [...counts.values()].sort((x, y) => y.firing + y.pending - (x.firing + x.pending));
}

/**
 * The profile of each firing alert's episode, by fingerprint: the note on the history entry of
 * its firing, for the alerts of rules with a capture (the history is read from the earliest
 * firing among them, and only when there is one).
 */
function episodeProfiles(monitor: PerformanceMonitor, alerts: readonly Alert[]): Map<string, NonNullable<AlertTransition['profile']>> {
  const out = new Map<string, NonNullable<AlertTransition['profile']>>();
  const captured = new Set(monitor.listAlertRules().filter((r) => r.capture).map((r) => r.id));
  const firing = alerts.filter((a) => a.state === 'firing' && a.firedAt !== null && captured.has(a.ruleId));
  if (firing.length === 0) return out;
  const firedAt = new Map(firing.map((a) => [a.fingerprint, a.firedAt!]));
  const from = firing.reduce((min, a) => Math.min(min, a.firedAt!), Infinity);
  for (const t of monitor.getAlertHistory({ from })) {
    const at = firedAt.get(t.fingerprint);
    if (t.profile && t.to === 'firing' && at !== undefined && t.at >= at) out.set(t.fingerprint, t.profile);
  }
  return out;
}

/** What to do for the items an alerts answer left out, where it takes no offset (status, the resource). */
const MORE_ALERTS = 'pass limit (up to 1000) for more, get_performance_alerts (offset) for every alert, or state and severity to choose';

/**
 * Where the alerts shown from `offset` stand among `total`: past the end, cut (and, where the
 * answer takes an offset, where the next page starts), or nothing to say.
 */
function pageNote(shown: number, total: number, offset: number | undefined, more: string): string {
  const from = offset ? ` from offset ${offset}` : '';
  if (shown === 0 && total > 0 && offset !== undefined && offset > 0) return `none${from}: offset counts from 0 to ${total - 1}`;
  if ((offset ?? 0) + shown >= total) return from ? `showing ${shown}${from}` : '';
  return `showing ${shown}${from}: ${offset === undefined ? more : `pass offset ${offset + shown} for the next page (limit: up to 1000 a page), ${more}`}`;
}

/** The same for the rules or the history listed beside the alerts (their offset is the alerts'). */
function listNote(shown: number, total: number, offset: number | undefined): string {
  const start = offset ?? 0;
  if (start === 0 && shown >= total) return '';
  if (offset === undefined) return ` (${shown} of ${total}: pass limit for more)`;
  if (shown === 0) return ` (none of ${total} from offset ${start})`;
  const from = start ? ` from offset ${start}` : '';
  const next = start + shown < total ? `: pass offset ${start + shown} for the next page` : '';
  return ` (${shown} of ${total}${from}${next})`;
}

/**
 * The alerts answer shared by the tool, the status tool and the resource; `status`, the
 * alert counts, for a caller that has read the monitor's status already. Without a limit,
 * the lists share `budget` bytes in order: alerts, rules, history.
 */
export function alertsAnswer(
  monitor: PerformanceMonitor,
  args: z.output<typeof AlertsArgs>,
  status: { pending: number; firing: number; rules: number } = monitor.status().alerts,
  budget = ANSWER_BYTES,
): { structured: AlertsAnswer; text: string } {
  // Newest first, and in a fixed order among alerts of one moment, so that pages by offset
  // neither repeat nor skip one while the alerts stand still.
  const all = monitor
    .getAlerts({ state: args.state, ...(args.severity ? { severity: args.severity } : {}) })
    .sort((a, b) => b.activeSince - a.activeSince || (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0));
  const rules = byRule(args.state === 'active' || args.state === 'all' ? all : monitor.getAlerts({ state: 'active' }));
  let counts = rules.slice(0, BY_RULE);
  // Ten rules of 200-character names (800 bytes each in UTF-8 at most) would fill the budget
  // before any alert: past an eighth of it in JSON (a quarter with the text), the names are
  // cut (their rules hold them whole).
  if (jsonBytes(counts) > budget / 8) counts = counts.map((c) => ({ ...c, rule_name: c.rule_name.length > 32 ? `${c.rule_name.slice(0, 32)}…` : c.rule_name }));
  const head = `${status.firing} firing, ${status.pending} pending, ${status.rules} rules; ${all.length} ${args.state === 'all' ? '' : `${args.state} `}alert${all.length === 1 ? '' : 's'}${args.state === 'all' ? ' in any state' : ''}${args.severity ? ` of severity ${args.severity}` : ''}`;
  const countLine = counts.length ? `by rule: ${counts.map((c) => `${isolated(c.rule_name)} (${c.severity}) ${c.firing} firing${c.pending ? `, ${c.pending} pending` : ''}`).join('; ')}${rules.length > counts.length ? `; ${rules.length - counts.length} more rules` : ''}` : '';
  // The fixed part (counts, the envelope) first; the lists share what is left.
  let left = budget - 600 - 2 * textBytes(head) - textBytes(countLine) - jsonBytes(counts);
  const lists = 1 + (args.include_rules ? 1 : 0) + (args.include_history ? 1 : 0);
  const profiles = episodeProfiles(monitor, all);
  const offset = args.offset;
  const min = offset === undefined ? 0 : 1;
  const derived = derivedRules(monitor.listAlertRules());
  const alerts = take(all.map(alertOut), (a) => alertLine(a, derived, profiles.get(a.fingerprint)), args.limit, left / lists, offset ?? 0, min, ['rule_name', 'tags']);
  left -= alerts.bytes;
  const pages: [Taken, number][] = [[alerts, all.length]];
  const allRules = args.include_rules ? monitor.listAlertRules() : [];
  const r = args.include_rules ? take(allRules.map(ruleOut), ruleLine, args.limit, left / (lists - 1), offset ?? 0, min, ['name', 'condition', 'description', 'tags']) : undefined;
  if (r) {
    left -= r.bytes;
    pages.push([r, allRules.length]);
  }
  const allHistory = args.include_history ? monitor.getAlertHistory() : [];
  // The newest 1,000 from offset, newest first (a page holds at most that many).
  const end = Math.max(0, allHistory.length - (offset ?? 0));
  const h = args.include_history ? take(allHistory.slice(Math.max(0, end - 1000), end).reverse().map(transitionOut), (t) => transitionLine(t, derived), args.limit, left, 0, min, ['rule_name', 'tags', 'reason']) : undefined;
  if (h) pages.push([h, allHistory.length]);
  const next = offset === undefined ? undefined : sameNextOffset(pages, offset);
  const structured: AlertsAnswer = { alerts: alerts.shown, total: all.length, truncated: (offset ?? 0) + alerts.shown.length < all.length, counts: { pending: status.pending, firing: status.firing, rules: status.rules }, by_rule: counts };
  const note = pageNote(alerts.shown.length, all.length, offset, offset === undefined ? MORE_ALERTS : 'or state and severity to choose');
  const lines = [`${head}${note ? ` (${note})` : ''}`];
  if (countLine) lines.push(countLine);
  lines.push(...alerts.lines);
  if (r) {
    structured.rules = r.shown;
    structured.rules_truncated = (offset ?? 0) + r.shown.length < allRules.length;
    lines.push(`rules${listNote(r.shown.length, allRules.length, offset)}:`, ...r.lines);
  }
  if (h) {
    structured.history = h.shown;
    structured.history_truncated = (offset ?? 0) + h.shown.length < allHistory.length;
    lines.push(`history, newest first${listNote(h.shown.length, allHistory.length, offset)}:`, ...h.lines);
  }
  if (next !== undefined) structured.next_offset = next;
  const cut = ([[alerts, 'alert'], [r, 'rule'], [h, 'change']] as const).filter(([list]) => list?.clipped && list.shown.length > 0).map(([, what]) => what);
  if (cut.length > 0) {
    const at = offset ?? 0;
    const them = cut.length === 1 ? 'it' : 'them';
    lines.push(`the ${cut.join(' and the ')} at offset ${at} ${cut.length === 1 ? 'was' : 'were'} cut to fit ${budget / 1024} KB (clipped names the fields cut, each ending in …): pass offset ${at} and limit 1 for ${them} whole`);
  }
  return { structured, text: lines.join('\n') };
}
