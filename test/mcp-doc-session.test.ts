/**
 * docs/mcp.md's "A session" is a recording of `perfwatch mcp`: its block of calls and answers,
 * then the structuredContent of one answer. It drifted from the server unseen (alert values,
 * the notification's data, status and report lines), since nothing read it. This replays the
 * session from the doc's own text, call for call over stdio with the SDK v2 client, and holds
 * each answer that does not vary run to run to the doc's words, with the times, ids and the
 * part of the window watched set aside. The answers that read the machine or the monitor's
 * timing (status, history, report, optimisation) are replayed, not held; the doc says so.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { ChildTransport, call, quietConfig, text } from './mcp-helpers.js';

const DOC = new URL('../docs/mcp.md', import.meta.url);
/** The answers that read the machine or the monitor's timing: replayed, not compared. */
const VARYING = new Set(['get_monitoring_status', 'get_metric_history', 'generate_performance_report', 'optimize_performance']);

type Step =
  | { kind: 'call'; name: string; args: Record<string, unknown>; isError: boolean; answer: string }
  | { kind: 'notification'; level: string; logger: string; data: string };

/** The session's steps and the structuredContent line, read from the section "## A session". */
function recording(): { steps: Step[]; structured: string } {
  const doc = readFileSync(DOC, 'utf8');
  const section = doc.slice(doc.indexOf('\n## A session\n'));
  const blocks = [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)];
  const session = blocks[0]![2]!;
  const structured = blocks[1]![2]!.trim();
  const steps: Step[] = [];
  for (const chunk of session.trim().split(/\n\n+/)) {
    const lines = chunk.split('\n');
    const notice = /^← notifications\/message \((\w+), ([\w.]+)\): (.*)$/.exec(lines[0]!);
    if (notice) {
      steps.push({ kind: 'notification', level: notice[1]!, logger: notice[2]!, data: notice[3]! });
      continue;
    }
    const request = /^→ (\w+) (.*)$/.exec(lines[0]!);
    expect(request, `a step of the session that is neither a call nor a notification: ${lines[0]}`).not.toBeNull();
    expect(lines[1], `the answer of ${lines[0]}`).toMatch(/^← /);
    const first = lines[1]!.slice(2);
    const isError = first.startsWith('(isError) ');
    // The answer's later lines are indented by two spaces in the block.
    const rest = lines.slice(2).map((l) => {
      expect(l, `a line of the answer to ${lines[0]}`).toMatch(/^ {2}/);
      return l.slice(2);
    });
    steps.push({ kind: 'call', name: request![1]!, args: JSON.parse(request![2]!) as Record<string, unknown>, isError, answer: [isError ? first.slice('(isError) '.length) : first, ...rest].join('\n') });
  }
  return { steps, structured };
}

/** The text with what varies run to run set aside: times, ids, fingerprints, the part of the window watched. */
function steady(s: string): string {
  return s
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<time>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')
    .replace(/"fingerprint":"[0-9a-f]+"/g, '"fingerprint":"<hex>"')
    .replace(/this monitor watched [\d.]+s of it/g, 'this monitor watched <n>s of it')
    .replace(/"covered_seconds":[\d.]+/g, '"covered_seconds":<n>');
}

describe("docs/mcp.md's recorded session", () => {
  it('answers its calls, replayed over stdio, with the texts the doc shows, but for the times, ids and the answers it says vary', async () => {
    const { steps, structured } = recording();
    const calls = steps.filter((s) => s.kind === 'call');
    // The doc's block read as a session: a reformatted block must not leave this test nothing to hold.
    expect(calls.length).toBeGreaterThanOrEqual(12);
    expect(steps.some((s) => s.kind === 'notification')).toBe(true);
    // The rule must not be breached by the samples recorded before it: a window rule is judged as
    // each bucket closes, and the value it fired at then hung on whether a bucket closed before the
    // next sample came (over 300 it fired at 337.988, the p99 of the three, in a CI run under load).
    const rule = calls.find((s) => s.name === 'create_performance_alert_rule')!;
    expect(rule.args).toMatchObject({ aggregation: 'p99', operator: '>' });
    const before = (JSON.parse(structured) as { metrics: { p99: number }[] }).metrics[0]!.p99;
    expect(before, "the p99 the session shows before its rule, against the rule's threshold").toBeLessThanOrEqual(rule.args.threshold as number);

    const client = new Client({ name: 'session', version: '1.0.0' });
    const notices: { level: string; logger?: string; data: unknown }[] = [];
    client.setNotificationHandler('notifications/message', (n) => void notices.push(n.params as never));
    await client.connect(new ChildTransport(['mcp', '--config', quietConfig({ system: { enabled: true } })]));
    try {
      let held = 0;
      let seen = 0;
      for (const step of steps) {
        if (step.kind === 'notification') {
          await expect.poll(() => notices.length > seen, { timeout: 10_000 }).toBe(true);
          const got = notices[seen++]!;
          expect({ level: got.level, logger: got.logger, data: steady(JSON.stringify(got.data)) }).toEqual({ level: step.level, logger: step.logger, data: steady(step.data) });
          held++;
          continue;
        }
        const r = await call(client, step.name, step.args);
        expect(r.isError ?? false, `${step.name} ${JSON.stringify(step.args)}: ${text(r)}`).toBe(step.isError);
        if (step.name === 'get_performance_metrics' && !step.isError) {
          // The block after the session: this answer's structuredContent, its first series.
          const sc = r.structuredContent as { metrics: unknown[] };
          expect(steady(JSON.stringify({ ...sc, metrics: sc.metrics.slice(0, 1) }))).toBe(steady(structured));
        }
        if (VARYING.has(step.name)) continue;
        expect(steady(text(r)), `${step.name} ${JSON.stringify(step.args)}`).toBe(steady(step.answer));
        held++;
      }
      expect(held).toBeGreaterThanOrEqual(9);
    } finally {
      await client.close();
    }
  }, 60_000);
});
