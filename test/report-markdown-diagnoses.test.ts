/**
 * The diagnoses in the markdown report render as written. Their sentences are plain text shared
 * by every format, and name series by their tag values and captures by the functions and files of
 * a profile, all of them the service's own text: a tag value `<script>alert(1)</script>`,
 * `*bold*` or `[a](http://evil)` was live markup in a diagnosis of the markdown report (and of
 * the MCP answer that gives it), and `https://evil.example/x` a link, while the tables beside
 * them escaped the same values. The JSON and the MCP text keep every value as it is.
 */
import { describe, expect, it } from 'vitest';
import { reportOut, reportText } from '../dist/src/mcp/report-answer.js';
import { evidenceLine, markdownText, renderMarkdown } from '../dist/src/reports/markdown.js';
import { tagsText } from '../dist/src/series-text.js';
import type { CaptureNote } from '../dist/src/index.js';
import { T0, synthetic } from './synthetic.js';

/** Three slow endpoints, slowest first (the diagnosis names three), whose tags hold markup, a pipe, a URL, a host and an address; keys in the order the registry keeps them. */
const HOSTILE: [Record<string, string>, number][] = [
  [{ endpoint: '<script>alert(1)</script>', method: '*bold*' }, 3000],
  [{ endpoint: '`x`', method: '[a](http://evil)' }, 2500],
  [{ endpoint: '| pipe', host: 'www.evil.example', method: 'https://evil.example/x', user: 'a@evil.example' }, 2000],
];

/** A CPU capture whose top function and file are named with markup and a URL, taken when an alert rule fired whose name holds a line break and a heading (a rule's name may hold any character). */
const SITE = '*foo* at [x](https://evil.example/y)_z.js:3';
const RULE = 'slow\n# Injected';
const CAPTURE: CaptureNote = { id: 9, kind: 'cpu', at: T0 + 30_000, seconds: 10, headline: `70% of samples in ${SITE} (self)`, file: '/p/9.cpuprofile', top: [], lead: { site: SITE, share: 0.7 }, rule: RULE, idle: 0.1 };

/** The text a line renders: each backslash escape of ASCII punctuation read as the character it escapes. */
const rendered = (line: string): string => line.replace(/\\([!-/:-@[-`{-~])/g, '$1');

/**
 * What of `line` Markdown would read as markup or a link: an inline construct's character no
 * backslash escapes (an underscore inside a word opens nothing), and the start of a GFM autolink
 * (`scheme://`, `www.`, an address's `@`) not broken by an escaped character.
 */
function live(line: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && /[!-/:-@[-`{-~]/.test(line[i + 1] ?? '')) {
      i++;
      continue;
    }
    const word = (x: string | undefined): boolean => x !== undefined && /[A-Za-z0-9]/.test(x);
    if (c === '_' && word(line[i - 1]) && word(line[i + 1])) continue;
    if ('\\`*_[]<>&~!@'.includes(c)) found.push(`${c} at ${i}`);
    if (c === ':' && line.startsWith('//', i + 1)) found.push(`:// at ${i}`);
    if (c === '.' && /www$/i.test(line.slice(0, i))) found.push(`www. at ${i}`);
  }
  return found;
}

describe('diagnoses in the markdown report', () => {
  const s = synthetic();
  s.fill(
    120,
    HOSTILE.map(([tags, ms]) => [s.id('response_time', tags), () => [ms, ms + 10, ms + 20]]),
  );
  const report = s.report({ profiles: [CAPTURE] });
  const markdown = renderMarkdown(report);
  const lines = markdown.split('\n');
  const section = (heading: string): string[] => {
    const from = lines.indexOf(heading);
    const to = lines.findIndex((l, i) => i > from && l.startsWith('## '));
    return lines.slice(from + 1, to);
  };

  it('keeps the tag values and the profile site as they are in the JSON and the MCP text', () => {
    const slow = report.diagnoses.find((d) => d.id === 'slow-endpoints')!;
    for (const [tags] of HOSTILE) expect(slow.summary).toContain(tagsText(tags));
    const profile = report.diagnoses.find((d) => d.id === 'cpu-profile')!;
    expect(profile.summary).toContain(SITE);
    expect(profile.actions.join('\n')).toContain(`Start with ${SITE}`);
    const text = reportText(reportOut(report, undefined));
    for (const [tags] of HOSTILE) expect(text).toContain(tagsText(tags));
    expect(text).toContain(SITE);
  });

  it("writes the name of the rule a capture fired for on one line, in every format", () => {
    // Its line break written as JSON writes it (isolate.ts), not one that starts a heading of the Markdown.
    const profile = report.diagnoses.find((d) => d.id === 'cpu-profile')!;
    expect(profile.summary).toContain('when "slow\\n# Injected" fired');
    expect(profile.summary).not.toContain('\n');
    expect(lines.filter((l) => l.startsWith('# '))).toEqual(['# Performance report']);
  });

  it('escapes every sentence, evidence line and action of a diagnosis as markdownText does, and reads as the plain text', () => {
    for (const d of report.diagnoses) {
      expect(lines).toContain(`### [${d.severity}] ${markdownText(d.title)}`);
      expect(lines).toContain(markdownText(d.summary));
      for (const a of d.actions) expect(lines.some((l) => l.endsWith(`. ${markdownText(a)}`) && rendered(l).endsWith(a))).toBe(true);
      // Escaped once: the evidence line renders as the plain one (the series' Prometheus escapes kept).
      for (const e of d.evidence) expect(lines.map(rendered)).toContain(`- ${evidenceLine(e)}`);
    }
  });

  it('leaves no markup or link of the service in the diagnoses, the recommendations and the series table', () => {
    const diagnoses = section('## Diagnoses');
    expect(diagnoses.join('\n')).toContain('\\<script\\>alert(1)\\</script\\>');
    for (const line of diagnoses) {
      // The report's own markup: the heading's severity in brackets.
      const own = line.replace(/^### \[(critical|warning|info)\] /, '');
      expect(live(own), line).toEqual([]);
    }
    for (const line of section('## Recommendations')) {
      const own = line.replace(/^- \*\*(.*?[^\\])\*\* /, '- $1 ');
      expect(live(own), line).toEqual([]);
    }
    // The tables escaped markup already; a bare URL in a tag value was a link there too.
    const rows = section('## Series').filter((l) => l.startsWith('| response_time{'));
    expect(rows).toHaveLength(HOSTILE.length);
    for (const row of rows) expect(live(row), row).toEqual([]);
  });
});
