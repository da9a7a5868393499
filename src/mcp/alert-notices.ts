/**
 * Alert transitions as notifications to connected clients: a log message (2025-era clients,
 * level by severity) and resources/updated for perfwatch://alerts (every era).
 *
 * Grouped, as Alertmanager's group_wait groups: the transitions of a short window after the
 * first go out as one message, with counts per rule and change and the first few in full.
 * 300 alerts firing at once were 300 messages in an agent's context; now they are one.
 */
import type { AlertTransition } from '../alerts/schema.js';
import { exact, num, seriesLabel } from './format.js';
import { isolated } from '../isolate.js';
import { ALERTS_URI } from './resources.js';
import { derivedRules, transitionOut, valueText } from './alert-shapes.js';
import type { Front, LogLevel } from './front.js';
import { clearTimeout, setTimeout } from '../engine/real-timers.js';

/** How long transitions are gathered after the first before they go out as one message. */
export const GROUP_WAIT_MS = 1000;
/** Transitions listed in full in a group message; the rest are counted. */
const LISTED = 5;
/** Distinct (rule, change) counts in a group message. */
const COUNTED = 10;

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/** The log level of a transition: a firing alert at its severity, other changes at notice/info. */
export function levelOf(t: AlertTransition): LogLevel {
  if (t.to === 'firing') return t.severity;
  return t.severity === 'info' ? 'info' : 'notice';
}

function message(t: AlertTransition, derived: ReadonlySet<string>): string {
  return `${t.to.toUpperCase()} ${t.severity} ${isolated(t.ruleName)}: ${seriesLabel(t.metric, t.tags)} = ${valueText(t.value, t.threshold, derived.has(t.ruleId))} (threshold ${exact(t.threshold)})${t.reason ? `: ${t.reason}` : ''}`;
}

/**
 * One notification's data for a group of transitions (one transition: as it always was).
 * `derived`: the rules whose values are derived (derivedRules), rounded in the message.
 */
export function groupData(group: readonly AlertTransition[], derived: ReadonlySet<string> = new Set()): { level: LogLevel; data: Record<string, unknown> } {
  const level = group.map(levelOf).reduce((a, b) => (LEVELS.indexOf(b) > LEVELS.indexOf(a) ? b : a));
  if (group.length === 1) return { level, data: { event: 'alert', message: message(group[0]!, derived), ...transitionOut(group[0]!) } };
  const counts = new Map<string, { rule_name: string; severity: string; to: string; count: number }>();
  for (const t of group) {
    const key = `${t.ruleId}\u0000${t.to}`;
    const c = counts.get(key);
    if (c) c.count++;
    else counts.set(key, { rule_name: t.ruleName, severity: t.severity, to: t.to, count: 1 });
  }
  const changes = [...counts.values()].sort((a, b) => b.count - a.count);
  const shown = changes.slice(0, COUNTED);
  const summary = shown.map((c) => `${c.count} ${c.to} ${c.severity} ${isolated(c.rule_name)}`).join('; ');
  const more = changes.length > shown.length ? `; ${changes.length - shown.length} more (rule, change) pairs` : '';
  return {
    level,
    data: {
      event: 'alerts',
      message: `${group.length} alert changes: ${summary}${more}. get_performance_alerts lists them`,
      count: group.length,
      changes: shown,
      first: group.slice(0, LISTED).map(transitionOut),
    },
  };
}

/** Carries the alert transitions of the host's monitor (and of later ones) to the clients, grouped. */
export function forwardAlerts(front: Front, groupWaitMs: number): () => void {
  let group: AlertTransition[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    const sent = group;
    group = [];
    const { level, data } = groupData(sent, derivedRules(front.host.monitor.listAlertRules()));
    front.log(level, 'perfwatch.alerts', data);
    front.resourceUpdated(ALERTS_URI);
  };
  const detach = front.host.attach((monitor) => {
    const listener = (t: AlertTransition): void => {
      group.push(t);
      if (timer === undefined) {
        timer = setTimeout(flush, groupWaitMs);
        timer.unref();
      }
    };
    // A capture's note arrives seconds after its firing: a message of its own, not grouped.
    const profiled = (t: AlertTransition): void => {
      if (!t.profile) return;
      front.log(levelOf(t), 'perfwatch.alerts', { event: 'alert-profile', message: `PROFILE ${isolated(t.ruleName)}: ${t.profile.headline}${t.profile.file ? ` (${t.profile.file})` : ''}`, ...transitionOut(t) });
      front.resourceUpdated(ALERTS_URI);
    };
    monitor.on('alert', listener);
    monitor.on('alert-profile', profiled);
    return () => {
      monitor.off('alert', listener);
      monitor.off('alert-profile', profiled);
    };
  });
  return () => {
    clearTimeout(timer);
    detach();
  };
}
