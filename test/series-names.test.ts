/**
 * A series written for people and agents (the markdown report, the MCP answers' texts, the
 * dashboard) reads as its own: tag values quoted and escaped as Prometheus escapes a label
 * value, isolated for direction, and in Markdown escaped so that they render as written.
 * {route:'a', x:'1'}, {route:'a",x="1'} and {route:'a,x=1'} were two texts for three series.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { PerformanceMonitor } from '../dist/src/index.js';
// @ts-expect-error: the dashboard's modules are plain browser JavaScript, without types.
import { seriesName } from '../dashboard/js/format.js';
import { connectInMemory } from './mcp-helpers.js';

/** The cells of a Markdown table row, split where GFM splits them: at a `|` no backslash escapes. */
function cells(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 1; i < line.length - 1; i++) {
    if (line[i] === '\\') cur += line[i]! + (line[++i] ?? '');
    else if (line[i] === '|') (out.push(cur.trim()), (cur = ''));
    else cur += line[i];
  }
  return [...out, cur.trim()];
}

describe('series names', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  let client: Client;

  beforeAll(async () => {
    client = await connectInMemory(monitor, 'series-names');
    await monitor.start();
    monitor.record('amb', 20, { route: 'a', x: '1' });
    monitor.record('amb', 30, { route: 'a",x="1' });
    monitor.record('amb', 10, { route: 'a,x=1' });
    monitor.record('md', 150, { route: '<script>alert(1)</script>&amp;' });
    monitor.record('md', 160, { route: '`code`*bold*' });
    monitor.record('md', 170, { route: 'a\\|b' });
    monitor.record('rtl', 5, { route: '/a\u202eb' });
    await monitor.flush();
  });
  afterAll(async () => {
    await client.close();
    await monitor.stop();
  });

  it('writes each series of the markdown report once, its values escaped as Prometheus and Markdown escape them', async () => {
    const markdown = String(await monitor.generateReport({ format: 'markdown' }));
    const rows = markdown.split('\n').filter((l) => l.startsWith('| amb{') || l.startsWith('| md{'));
    const names = rows.map((l) => cells(l)[0]);
    expect(names.filter((n) => n!.startsWith('amb')).sort()).toEqual(['amb{route="a",x="1"}', 'amb{route="a,x=1"}', 'amb{route="a\\\\",x=\\\\"1"}'].sort());
    expect(names).toContain('md{route="\\<script\\>alert(1)\\</script\\>\\&amp;"}');
    expect(names).toContain('md{route="\\`code\\`\\*bold\\*"}');
    // a\|b: the value's backslash escaped twice (Prometheus, then Markdown), its pipe once (the cell): one cell.
    expect(names).toContain('md{route="a\\\\\\\\\\|b"}');
    const series = markdown.split('\n').find((l) => l.startsWith('| series | count'))!;
    for (const row of rows) expect(cells(row)).toHaveLength(cells(series).length);
  });

  it('writes each series of an MCP answer once, values quoted, escaped and isolated', async () => {
    const r = (await client.callTool({ name: 'get_performance_metrics', arguments: { metric_types: ['amb', 'rtl'] } })) as { content: { text: string }[] };
    const lines = r.content[0]!.text.split('\n').map((l) => l.trim());
    const amb = lines.filter((l) => l.startsWith('amb{')).map((l) => l.slice(0, l.indexOf('} ') + 1)).sort();
    expect(amb).toEqual(['amb{route="a",x="1"}', 'amb{route="a,x=1"}', 'amb{route="a\\",x=\\"1"}'].sort());
    expect(lines.some((l) => l.startsWith('rtl{route="\u2068/a\u202eb\u2069"} '))).toBe(true);
  });

  it('writes a series on the dashboard as Prometheus does', () => {
    expect(seriesName('amb', { route: 'a",x="1' })).toBe('amb{route="a\\",x=\\"1"}');
    expect(seriesName('amb', { route: 'a\\b' })).toBe('amb{route="a\\\\b"}');
    expect(seriesName('amb', {})).toBe('amb');
  });
});
