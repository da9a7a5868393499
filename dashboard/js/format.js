// Formatting and DOM helpers shared by the panels. Text always goes in through textContent
// (el's string children), never innerHTML: metric names, tags and alert descriptions are
// the monitored service's data.

/** An element with attributes and children (strings become text nodes; null is skipped). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

const BYTES = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  let i = 0;
  while (Math.abs(n) >= 1024 && i < BYTES.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${BYTES[i]}`;
}

/** A number with about three significant digits. */
export function num(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return n.toExponential(2);
  return n.toLocaleString('en', { maximumFractionDigits: a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3 });
}

/** A value in its metric's unit (see src/engine/metrics.ts UNITS). */
export function withUnit(n, unit) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  switch (unit) {
    case 'bytes': return bytes(n);
    case 'bytes_per_second': return `${bytes(n)}/s`;
    case 'percent': return `${num(n)} %`;
    case 'ratio': return `${num(n * 100)} %`;
    case 'ms': return `${num(n)} ms`;
    case 'seconds': return `${num(n)} s`;
    case 'requests': return `${num(n)}/s`;
    default: return num(n);
  }
}

export function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

/** A time in the reader's locale and zone, the zone named (`12/6/2026, 3:03:07 PM GMT+1`): without it a time read against a report's UTC was hours off. */
export function time(ms) {
  return ms === null || ms === undefined ? '–' : new Date(ms).toLocaleString([], { timeZoneName: 'short' });
}

/**
 * `name{k="v",…}` as Prometheus writes a series: `\`, `"` and a line break in a value escaped
 * (`\\`, `\"`, `\n`), so {route:'a', x:'1'} and {route:'a",x="1'} read as two series.
 */
export function seriesName(metric, tags) {
  const pairs = Object.entries(tags ?? {}).map(([k, v]) => `${k}="${String(v).replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`);
  return pairs.length ? `${metric}{${pairs.join(',')}}` : metric;
}

/** `k=v, k=v` typed by a person, as a tags object; throws naming the bad part. */
export function parseTags(text) {
  const tags = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const at = part.indexOf('=');
    if (at <= 0) throw new Error(`tags: "${part}" is not name=value`);
    tags[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return tags;
}
