/**
 * Tool-argument validation with answers an agent can act on. A zod schema stays the single
 * source of truth (the SDK lists its JSON Schema in tools/list); this wrapper only changes
 * how a failure reads: the first problem, as `samples[3].value must be a finite number, got
 * "abc"`, instead of every issue of a 100,000-element array joined into one message.
 */
import type { StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import { describeValue } from '../errors.js';

/** `samples[3].value` from a zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** One sentence for the first issue: the field, the rule, and what was given. */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key;
    return `${path ? `${path}.` : ''}${shown} is not a known argument`;
  }
  const value = valueAt(input, issue.path);
  const field = path || 'arguments';
  if (value === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_value')) return `${field} is required: it ${issue.message}`;
  if (issue.code === 'custom' && issue.path.length === 0) return issue.message;
  return `${field} ${issue.message}, got ${describeValue(value)}`;
}

/**
 * A StandardSchemaWithJSON over a zod schema: JSON Schema from zod, validation by zod, and a
 * single readable issue on failure.
 */
export interface ToolSchemaOptions {
  /** A cheap refusal before parsing (e.g. an array far over its limit). */
  precheck?: (input: unknown) => string | undefined;
  /**
   * A fast acceptance for the common shape of a large input: true only for inputs the schema
   * accepts unchanged (no defaults or transforms apply). Anything else goes through zod, which
   * gives the verdict and the message. It lets a 10,000-sample batch skip building a copy.
   */
  accepts?: (input: unknown) => boolean;
  /**
   * Items of the array at `key` that passed before are not checked again: for an answer that
   * carries mostly the frozen objects an earlier answer carried (see MetricSummaries). Only
   * for schemas whose items have no defaults or transforms, as the input is what is returned.
   */
  checkedItems?: { key: string; seen: WeakSet<object> };
}

/** The input with its array at `key` cut to the items not seen before, and their places. */
function uncheckedItems(input: unknown, key: string, seen: WeakSet<object>): { input: Record<string, unknown>; items: object[]; at: number[] } | undefined {
  if (input === null || typeof input !== 'object') return undefined;
  const all = (input as Record<string, unknown>)[key];
  if (!Array.isArray(all)) return undefined;
  const items: object[] = [];
  const at: number[] = [];
  for (let i = 0; i < all.length; i++) {
    const item: unknown = all[i];
    if (item !== null && typeof item === 'object' && seen.has(item)) continue;
    items.push(item as object);
    at.push(i);
  }
  return { input: { ...(input as Record<string, unknown>), [key]: items }, items, at };
}

export function toolSchema<S extends z.ZodType>(schema: S, options: ToolSchemaOptions = {}): StandardSchemaWithJSON<z.input<S>, z.output<S>> {
  const { precheck, accepts, checkedItems } = options;
  const std = schema['~standard'] as unknown as StandardSchemaWithJSON<z.input<S>, z.output<S>>['~standard'];
  return {
    '~standard': {
      version: 1,
      vendor: 'perfwatch',
      jsonSchema: std.jsonSchema,
      validate(input: unknown) {
        const early = precheck?.(input);
        if (early !== undefined) return { issues: [{ message: early }] };
        if (accepts?.(input)) return { value: input as z.output<S> };
        const cut = checkedItems && uncheckedItems(input, checkedItems.key, checkedItems.seen);
        if (cut) {
          const parsed = schema.safeParse(cut.input);
          if (parsed.success) {
            for (const item of cut.items) checkedItems.seen.add(item);
            return { value: input as z.output<S> };
          }
          const issue = parsed.error.issues[0]!;
          const path = issue.path[0] === checkedItems.key && typeof issue.path[1] === 'number' ? [checkedItems.key, cut.at[issue.path[1]]!, ...issue.path.slice(2)] : issue.path;
          return { issues: [{ message: describeIssue({ ...issue, path } as z.core.$ZodIssue, input) }] };
        }
        const parsed = schema.safeParse(input);
        if (parsed.success) return { value: parsed.data };
        return { issues: [{ message: describeIssue(parsed.error.issues[0]!, input) }] };
      },
    },
  };
}
