// The alerts panel: active alerts (pending and firing) and the history of transitions,
// newest first. Rendered whole from what the API answers; an event of the stream adds its
// transition at the next frame, before the next answer confirms it.
import { serverNow } from './api.js';
import { el, num, seriesName, time, duration } from './format.js';

/** Transitions kept between two answers of the API (the stream adds them meanwhile). */
const HISTORY_KEPT = 200;
/** Active alerts listed, the most severe first; the count says how many there are in all. */
const ACTIVE_SHOWN = 100;

function badge(severity) {
  return el('span', { class: `sev sev-${severity}` }, severity);
}

function alertRow(a) {
  return el(
    'li',
    { class: `alert state-${a.state}`, 'data-fingerprint': a.fingerprint, 'data-state': a.state },
    badge(a.severity),
    el('strong', {}, a.ruleName),
    el('span', { class: 'state' }, a.state),
    el('code', {}, seriesName(a.metric, a.tags)),
    el('span', {}, `${num(a.value)} (threshold ${num(a.threshold)})`),
    el('span', { class: 'since', title: time(a.firedAt ?? a.activeSince) }, `for ${duration(serverNow() - (a.firedAt ?? a.activeSince))}`),
    a.description ? el('p', { class: 'desc' }, a.description) : null,
  );
}

function transitionRow(t) {
  return el(
    'li',
    { 'data-fingerprint': t.fingerprint, 'data-to': t.to },
    el('time', { dateTime: new Date(t.at).toISOString() }, time(t.at)),
    ' ',
    badge(t.severity),
    ' ',
    el('strong', {}, t.ruleName),
    ` ${t.from} → ${t.to} `,
    el('code', {}, seriesName(t.metric, t.tags)),
    ` = ${num(t.value)}`,
  );
}

export class AlertsPanel {
  constructor({ list, count, history }) {
    this.list = list;
    this.count = count;
    this.history = history;
    this.active = [];
    this.total = 0;
    this.transitions = [];
    this.frame = 0;
  }

  /**
   * The API's answer: the active alerts (a page of them), how many are active in all, and the
   * latest transitions. The count is the total: a rule over many series made a page of 100
   * of 150 firing alerts read "100".
   */
  set(active, total, transitions) {
    this.active = active;
    this.total = total;
    this.transitions = [...transitions].sort((a, b) => b.at - a.at);
    this.render();
  }

  /**
   * A transition from the event stream: shown at the next frame, the alert's row updated or
   * added. A burst (a rule over many series fires them all in one pass) is drawn once, not
   * once per transition: 500 redraws of 500 rows froze the tab.
   */
  transition(t) {
    this.transitions = [t, ...this.transitions.filter((x) => !(x.fingerprint === t.fingerprint && x.at === t.at && x.to === t.to))].slice(0, HISTORY_KEPT);
    const rest = this.active.filter((a) => a.fingerprint !== t.fingerprint);
    if (t.to === 'pending' || t.to === 'firing') {
      const known = this.active.find((a) => a.fingerprint === t.fingerprint);
      rest.push({ description: '', labels: {}, activeSince: t.at, firedAt: t.to === 'firing' ? t.at : null, resolvedAt: null, ...known, ...t, state: t.to });
    }
    this.active = rest;
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.render();
      });
    }
  }

  render() {
    const order = { emergency: 0, critical: 1, warning: 2, info: 3 };
    const active = [...this.active].sort((a, b) => (order[a.severity] ?? 9) - (order[b.severity] ?? 9) || a.activeSince - b.activeSince);
    // Transitions since the last answer may have added some; the next answer says.
    const total = Math.max(this.total, active.length);
    const more = total - Math.min(active.length, ACTIVE_SHOWN);
    this.count.textContent = String(total);
    this.count.dataset.firing = String(active.some((a) => a.state === 'firing'));
    const shown = active.length ? el('ul', { class: 'alerts' }, active.slice(0, ACTIVE_SHOWN).map(alertRow)) : el('p', { class: 'empty' }, 'No active alerts.');
    // replaceChildren() writes a null as the text "null": the note goes in only when there is one.
    if (more > 0) this.list.replaceChildren(shown, el('p', { class: 'more' }, `and ${more} more (all of them: /api/alerts, page by page with limit and offset)`));
    else this.list.replaceChildren(shown);
    this.history.replaceChildren(...this.transitions.map(transitionRow));
  }
}
