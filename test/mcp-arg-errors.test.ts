/**
 * A tool's argument errors in perfwatch's one shape, `<field> <rule>, got <value>`: zod's own
 * wording ("Too small: expected string to have >=1 characters", "Invalid input: expected
 * record, received string") reached agents from create_performance_alert_rule's name and
 * labels, which had no message of ours, and an empty tag or label name read `labels. is not
 * a valid label name`.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { monitorStarter } from './helpers.js';
import { connectInMemory, fails, type AnyClient } from './mcp-helpers.js';
import { issueError } from '../dist/src/mcp/validate.js';

const started = monitorStarter();

/** Words zod's English messages begin with or carry. */
const ZOD_WORDS = /Invalid input|Invalid option|Invalid string|Invalid key|Invalid element|Too (small|big)|expected \w+, received|expected \w+ to (have|be) [<>]=/;

const RULE = { metric_type: 'rt', operator: '>', threshold: 300, severity: 'critical' };

describe('argument errors', () => {
  it("say create_performance_alert_rule's name and labels in perfwatch's words", async () => {
    const client = (await connectInMemory(await started(), 'arg-errors')) as unknown as AnyClient;
    expect(await fails(client, 'create_performance_alert_rule', { ...RULE, name: '' })).toBe('PW_ERR_INVALID_ARG: name must be 1 to 200 characters, got ""');
    expect(await fails(client, 'create_performance_alert_rule', { ...RULE, name: 5 })).toBe('PW_ERR_INVALID_ARG: name must be a string of 1 to 200 characters, got 5');
    expect(await fails(client, 'create_performance_alert_rule', { ...RULE, labels: 'x' })).toBe('PW_ERR_INVALID_ARG: labels must be an object of label names to string values, got "x"');
    expect(await fails(client, 'create_performance_alert_rule', { ...RULE, description: 5 })).toBe('PW_ERR_INVALID_ARG: description must be a string of at most 1000 characters, got 5');
  });

  it('name the record of an empty tag or label name', async () => {
    const monitor = await started();
    // The library says it so too (the registry's check, and the rule schema's).
    expect(() => monitor.record('a', 1, { '': 'x' })).toThrow(/^tags must not have an empty tag name$/);
    await expect(monitor.createAlertRule({ metric: 'a', operator: '>', threshold: 1, labels: { '': 'x' } })).rejects.toThrow(/^labels must not have an empty label name$/);
    const client = (await connectInMemory(monitor, 'arg-errors')) as unknown as AnyClient;
    expect(await fails(client, 'create_performance_alert_rule', { ...RULE, labels: { '': 'x' } })).toBe('PW_ERR_INVALID_ARG: labels must not have an empty label name');
    expect(await fails(client, 'create_performance_alert_rule', { ...RULE, tags: { '': 'x' } })).toBe('PW_ERR_INVALID_ARG: tags must not have an empty tag name');
    expect(await fails(client, 'get_performance_metrics', { tags: { '': 'x' } })).toBe('PW_ERR_INVALID_ARG: tags must not have an empty tag name');
    expect(await fails(client, 'record_performance_metric', { metric_type: 'a', value: 1, tags: { '': 'x' } })).toBe('PW_ERR_INVALID_ARG: tags must not have an empty tag name');
  });

  it('quote a tag name with a control character in JSON escapes, as a metric name is, in the library and over MCP', async () => {
    // The raw newline was echoed in the field and the message (`tags.a b\n is not …`), splitting a one-line log.
    const monitor = await started();
    const e = (() => {
      try {
        monitor.record('x_ms', 1, { 'a b\n': 'v' });
      } catch (error) {
        return error as { field: string; message: string };
      }
      return undefined;
    })();
    expect(e?.field).toBe('tags["a b\\n"]');
    expect(e?.message).toBe('tags["a b\\n"] is not a valid tag name: it must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __, and be at most 100 characters');
    expect(e?.message).not.toMatch(/\n/);
    const client = (await connectInMemory(monitor, 'arg-errors')) as unknown as AnyClient;
    const said = await fails(client, 'record_performance_metric', { metric_type: 'x_ms', value: 1, tags: { 'a\tb': 'v' } });
    expect(said).toMatch(/^PW_ERR_INVALID_ARG: tags\["a\\tb"\] is not a valid tag name/);
    expect(said).not.toMatch(/\t/);
  });

  it('carry no zod wording for a wrong type or an empty value of any argument of any tool', async () => {
    const client = (await connectInMemory(await started(), 'arg-errors')) as unknown as AnyClient;
    const { tools } = await client.listTools();
    const seen: string[] = [];
    for (const tool of tools) {
      const props = (tool.inputSchema.properties ?? {}) as Record<string, { type?: string }>;
      for (const [key, prop] of Object.entries(props)) {
        const wrong = prop.type === 'string' ? [5, ''] : prop.type === 'object' ? ['x', { '': 'x' }, 5] : prop.type === 'array' ? ['x', [5], ['']] : ['x', {}];
        for (const value of wrong) {
          const r = (await client.callTool({ name: tool.name, arguments: { ...(tool.name === 'create_performance_alert_rule' ? RULE : {}), [key]: value } })) as { isError?: boolean; content: { text?: string }[] };
          if (!r.isError) continue;
          const message = r.content.map((c) => c.text ?? '').join('\n');
          seen.push(message);
          expect(message, `${tool.name} ${key}: ${JSON.stringify(value)}`).not.toMatch(ZOD_WORDS);
          expect(message, `${tool.name} ${key}: ${JSON.stringify(value)}`).toMatch(/^PW_ERR_[A-Z_]+: /);
        }
      }
    }
    // The walk met errors of most arguments (not a walk that refused nothing).
    expect(seen.length).toBeGreaterThan(40);
  });

  it('phrase any issue of a schema without messages by its code, type and limits', () => {
    const cases: [z.ZodType, unknown, string][] = [
      [z.object({ a: z.string().min(1) }), { a: '' }, 'a must not be empty, got ""'],
      [z.object({ a: z.string().min(3) }), { a: 'x' }, 'a must be at least 3 characters, got "x"'],
      [z.object({ a: z.string().max(2) }), { a: 'xyz' }, 'a must be at most 2 characters, got "xyz"'],
      [z.object({ a: z.record(z.string(), z.string()) }), { a: 'x' }, 'a must be an object, got "x"'],
      [z.object({ a: z.number().multipleOf(5) }), { a: 3 }, 'a must be a multiple of 5, got 3'],
      [z.object({ a: z.string().regex(/^b+$/) }), { a: 'x' }, 'a must match /^b+$/, got "x"'],
      [z.object({ a: z.email() }), { a: 'x' }, 'a must be a valid email, got "x"'],
      [z.object({ a: z.number().refine((n) => n > 1) }), { a: 0 }, 'a is not valid, got 0'],
      [z.object({ a: z.enum(['p', 'q']) }), { a: 'x' }, 'a must be "p" or "q", got "x"'],
    ];
    for (const [schema, input, message] of cases) {
      const parsed = schema.safeParse(input);
      expect(parsed.success).toBe(false);
      expect(issueError(parsed.error!.issues[0]!, input, schema).message).toBe(message);
    }
  });
});
