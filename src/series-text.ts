/**
 * A series as people and agents read it: `name{k="v",…}`, each tag value quoted and escaped as
 * Prometheus writes a label value (`\` as `\\`, `"` as `\"`, a line break as `\n`), then isolated
 * for direction (isolate.ts). The markdown report, the MCP answers' texts (and so the CLI's
 * report and alert notices) and the alert rules' notes all write a series with it.
 *
 * Unquoted and unescaped, two series read alike: {route:'a', x:'1'} and {route:'a,x=1'} were
 * both `amb{route=a,x=1}` in an MCP answer, and {route:'a', x:'1'} and {route:'a",x="1'} both
 * `amb{route="a",x="1"}` in the markdown report. Escaped, each series has its own text, the one
 * /metrics gives it. Metric and tag names are ASCII of [a-zA-Z0-9_:] (the registry's rule) and
 * written as they are.
 */
import { isolated } from './isolate.js';

/** A tag value as Prometheus writes a label value, without its quotes: `\`, `"` and line breaks escaped (/metrics writes its labels with it too: http/text-format.ts). */
export function labelValue(value: string): string {
  if (!/[\\"\n]/.test(value)) return value;
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** `k="v",…` of `tags`, each value escaped (labelValue) and isolated; `value` may mark a value up further (the markdown report's escapes). */
export function tagsText(tags: Readonly<Record<string, string>>, value: (v: string) => string = (v) => v): string {
  let inner = '';
  for (const k in tags) inner += `${inner ? ',' : ''}${k}="${value(isolated(labelValue(tags[k]!)))}"`;
  return inner;
}

/** `name{k="v",…}`, or the name alone for a series without tags. */
export function seriesText(name: string, tags: Readonly<Record<string, string>>, value?: (v: string) => string): string {
  const inner = tagsText(tags, value);
  return inner ? `${name}{${inner}}` : name;
}
