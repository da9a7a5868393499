/**
 * What makes two alert rules the same rule: every field but the id and the creation time.
 * createAlertRule() answers a rule whose definition it already holds instead of adding it
 * again, so that a service which creates its rules at every start keeps one of each.
 */
import type { AlertRule } from './schema.js';

/**
 * The rule's fields (the name given or derived included) as one string: keys in order, at
 * every level, and fields without a value or with no entries (`tags: {}`, which matches as no
 * tags do) left out, so a rule read back from the database reads as the same input again.
 */
export function ruleDefinition(rule: AlertRule): string {
  const { id: _id, createdAt: _createdAt, ...fields } = rule;
  return JSON.stringify(canonical(fields));
}

/** A value with its objects as [key, value] pairs in key order, empty and undefined entries dropped. */
function canonical(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.keys(value)
    .sort()
    .map((key): [string, unknown] => [key, canonical((value as Record<string, unknown>)[key])])
    .filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0));
}
