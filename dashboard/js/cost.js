// The monitor's own cost, from /api/status: CPU and memory against the overhead budget, the
// back-off in effect, ingestion, drops, the collector's lag and the series against the limit.
import { bytes, duration, el, num } from './format.js';

function fact(label, value, warn = false) {
  return [el('dt', {}, label), el('dd', { class: warn ? 'warn' : '' }, value)];
}

export function renderCost(container, s) {
  const o = s.overhead;
  const faults = s.faults.total;
  container.replaceChildren(
    ...fact('CPU', o.cpuPercent === null ? '–' : `${num(o.cpuPercent)} % of a core (budget ${num(o.budget.cpuPercent)} %)`, o.overBudget.cpu),
    ...fact('memory', `${bytes(o.memoryBytes)} (budget ${bytes(o.budget.memoryBytes)}); shared buffers touched ${bytes(s.memory.touchedBytes)}`, o.overBudget.memory),
    ...fact('back-off', o.backedOff ? `level ${o.level}: ${o.actions.join('; ')}` : 'none'),
    ...fact('ingestion', `${num(s.ingestion.ratePerSecond)} samples/s, ${num(s.ingestion.ingested)} in all`),
    ...fact('dropped', num(s.ingestion.dropped), s.ingestion.dropped > 0),
    ...fact('collector', `${s.collector.state}, lag ${duration(s.collector.lagMs)}, ${s.collector.restarts} restarts`, s.collector.restarts > 0),
    ...fact('series', `${num(s.series.count)} of ${num(s.series.limit)} (own ${s.series.own.count})`),
    ...fact('faults', num(faults), faults > 0),
    ...fact('uptime', duration(s.uptimeMs)),
  );
}
