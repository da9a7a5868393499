/**
 * Tool-argument validation with answers an agent can act on. A zod schema stays the single
 * source of truth (the SDK lists its JSON Schema in tools/list); this wrapper only changes
 * how a failure reads: the first problem, as `samples[3].value must be a finite number, got
 * "abc"`, instead of every issue of a 100,000-element array joined into one message.
 */
import type { StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, PerfwatchError, describeValue, keyField, unknownKeyRule } from '../errors.js';
import { plainRule, refusedKey } from '../schema-errors.js';
import { TAG_NAME_RULE } from '../engine/registry.js';
import { knownKeys } from '../schema-keys.js';
import { didYouMean } from '../suggest.js';

/** `samples[3].value` from a zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out = keyField(out, String(key));
  }
  return out;
}

/** The value at `path` of `input`, or undefined. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * The error of the first issue, in one sentence: the field, the rule, and what was given; an
 * unknown argument with the one of `schema` a typo most likely meant (`metric_type` for
 * `metric_types`), as the library's options and queries say it.
 */
export function issueError(issue: z.core.$ZodIssue, input: unknown, schema?: z.ZodType): PerfwatchError {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key;
    const known = schema ? knownKeys(schema, issue.path) : [];
    // Nothing near it (the library's `names` for `metric_types`): the arguments there are, as the library's errors list its fields.
    const meant = key.length <= 100 ? didYouMean(key, known) : '';
    const listed = meant === '' && known.length > 0 ? ` (the arguments: ${known.join(', ')})` : '';
    return new InvalidArgumentError(`${path ? `${path}.` : ''}${shown}`, `${unknownKeyRule('argument')}${meant}${listed}`);
  }
  const refused = refusedKey(issue);
  if (refused) return new InvalidArgumentError(formatPath(refused.path), refused.rule);
  const value = valueAt(input, issue.path);
  const field = path || 'arguments';
  // Our schemas' messages as written; zod's own wording ("Too small: expected string to have
  // >=1 characters") said in plain words by the issue's code, type and limits instead.
  const rule = plainRule(issue);
  if (value === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_value')) return new InvalidArgumentError(field, `is required: it ${rule}`);
  if (issue.code === 'custom' && issue.path.length === 0) return new PerfwatchError('PW_ERR_INVALID_ARG', { rule });
  // A refinement of an object (`has 17 tags; …`) says what it found: "got object" would add nothing.
  if (issue.code === 'custom' && value !== null && typeof value === 'object' && !Array.isArray(value)) return new InvalidArgumentError(field, rule);
  return new InvalidArgumentError(field, rule, { value });
}

/** How a tool's input (or output) is checked besides its zod schema. */
export interface ToolSchemaOptions {
  /** A cheap refusal before parsing (e.g. an array far over its limit). */
  precheck?: (input: unknown) => PerfwatchError | undefined;
  /**
   * A fast acceptance for the common shape of a large input: true only for inputs the schema
   * accepts unchanged (no defaults or transforms apply). Anything else goes through zod, which
   * gives the verdict and the message. The fast lane's hook (fast-lane/index.ts).
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

/** A check that says what is wrong (see issueError), or gives the value. */
export type Checker<T> = (input: unknown) => { value: T } | { error: PerfwatchError };

/**
 * The check of a zod schema with the options above: the first issue as one sentence, or the
 * value (the input itself where it was accepted unchanged).
 */
export function checker<S extends z.ZodType>(schema: S, options: ToolSchemaOptions = {}): Checker<z.output<S>> {
  const { precheck, accepts, checkedItems } = options;
  return (input) => {
    // What was given is known only by the error it makes here (see STAND_IN_KEY).
    const standIn = standInError(input);
    if (standIn !== undefined) return { error: standIn };
    const early = precheck?.(input);
    if (early !== undefined) return { error: early };
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
      return { error: issueError({ ...issue, path } as z.core.$ZodIssue, input, schema) };
    }
    const parsed = schema.safeParse(input);
    if (parsed.success) return { value: parsed.data };
    return { error: issueError(parsed.error.issues[0]!, input, schema) };
  };
}

/** A StandardSchemaWithJSON over a zod schema: JSON Schema from zod, validation by checker(). */
export function toolSchema<S extends z.ZodType>(schema: S, options: ToolSchemaOptions = {}): StandardSchemaWithJSON<z.input<S>, z.output<S>> {
  const check = checker(schema, options);
  return {
    '~standard': {
      version: 1,
      vendor: 'perfwatch',
      jsonSchema: jsonSchemaOf(schema),
      validate(input: unknown) {
        const checked = check(input);
        return 'error' in checked ? { issues: [{ message: checked.error.message }] } : { value: checked.value };
      },
    },
  };
}

/**
 * The schema a tool is listed with, whose validation accepts anything: the tool checks its
 * arguments itself (defineTool), so that a bad argument is answered like every other error
 * of the tool (`PW_ERR_INVALID_ARG: …`), not in the SDK's words.
 */
export function listedSchema<S extends z.ZodType>(schema: S): StandardSchemaWithJSON<z.input<S>, z.output<S>> {
  return {
    '~standard': {
      version: 1,
      vendor: 'perfwatch',
      jsonSchema: jsonSchemaOf(schema),
      validate: (input: unknown) => ({ value: input as z.output<S> }),
    },
  };
}

type JsonSchema = Record<string, unknown>;
const converted = new WeakMap<z.ZodType, { input?: JsonSchema; output?: JsonSchema }>();

/**
 * The JSON Schema a tool is listed with, made once per schema (tools/list asks on every call)
 * and without what every agent would pay for in context and no client needs: `$schema` (MCP
 * fixes the dialect), `propertyNames: { type: string }` (JSON keys are strings),
 * `additionalProperties: {}` (any value), and on answers `additionalProperties: false` and
 * `required`: the server checks each answer against its whole zod schema before it sends it,
 * so these restate a guarantee, at ~3 KB of every agent's context for the tools (an
 * answer's fields are listed with their types all the same; a field that may be absent says
 * so in its description where it matters). Arguments keep both: an unknown argument is
 * refused and a required one must be given, and the client should know. Within an answer, an
 * object listed with its properties and an array with its items leave out their `type`
 * (750 bytes over the thirteen tools), which those already say to a reader.
 */
function jsonSchemaOf<S extends z.ZodType>(schema: S): StandardSchemaWithJSON<z.input<S>, z.output<S>>['~standard']['jsonSchema'] {
  const make = (io: 'input' | 'output'): JsonSchema => {
    let cached = converted.get(schema);
    if (!cached) converted.set(schema, (cached = {}));
    return (cached[io] ??= shareRepeats(compact(z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema, io)));
  };
  return { input: () => make('input'), output: () => make('output') };
}

/** Subschemas repeated in one schema, at least this long, are defined once in `$defs`. */
const SHARED_MIN_CHARS = 48;

/**
 * One definition per repeated subschema: an answer that lists alerts, rules and history
 * repeats the severity enum, the tags map and more; each becomes a `$defs` entry and a
 * `$ref` where it was, when that is shorter.
 */
function shareRepeats(root: JsonSchema): JsonSchema {
  const seen = new Map<string, number>();
  const count = (node: unknown, top: boolean): void => {
    if (node === null || typeof node !== 'object') return;
    if (!top && !Array.isArray(node)) {
      const text = JSON.stringify(node);
      if (text.length >= SHARED_MIN_CHARS) seen.set(text, (seen.get(text) ?? 0) + 1);
    }
    for (const value of Object.values(node)) count(value, false);
  };
  count(root, true);
  const names = new Map<string, string>();
  for (const [text, n] of seen) {
    const ref = `{"$ref":"#/$defs/d${names.size}"}`.length;
    // Worth it when n copies cost more than one definition and n references.
    if (n > 1 && n * text.length > text.length + 8 + n * ref) names.set(text, `d${names.size}`);
  }
  if (names.size === 0) return root;
  const defs: JsonSchema = {};
  const replace = (node: unknown, top: boolean): unknown => {
    if (node === null || typeof node !== 'object') return node;
    if (!top && !Array.isArray(node)) {
      const text = JSON.stringify(node);
      const name = names.get(text);
      if (name !== undefined) {
        defs[name] ??= JSON.parse(text);
        return { $ref: `#/$defs/${name}` };
      }
    }
    if (Array.isArray(node)) return node.map((x) => replace(x, false));
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, replace(v, false)]));
  };
  const out = replace(root, true) as JsonSchema;
  out.$defs = defs;
  return out;
}

function compact(node: unknown, io: 'input' | 'output', nested = false): JsonSchema {
  if (Array.isArray(node)) return node.map((x) => compact(x, io, true)) as unknown as JsonSchema;
  if (node === null || typeof node !== 'object') return node as JsonSchema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema') continue;
    // An answer's object or array within it says what it is by its properties or items; the
    // answer itself keeps its `type: object`, which MCP asks of an output schema.
    if (key === 'type' && io === 'output' && nested && ((value === 'object' && 'properties' in node) || (value === 'array' && 'items' in node))) continue;
    if (key === 'propertyNames' && (value as JsonSchema).type === 'string' && Object.keys(value as JsonSchema).length === 1) continue;
    if ((key === 'additionalProperties' && value === false) || key === 'required') {
      if (io === 'output') continue;
    }
    // `additionalProperties: {}` (any value) says nothing.
    if (key === 'additionalProperties' && value !== null && typeof value === 'object' && Object.keys(value).length === 0) continue;
    out[key] = key === 'properties' || key === '$defs' ? Object.fromEntries(Object.entries(value as JsonSchema).map(([k, v]) => [k, compact(v, io, true)])) : compact(value, io, true);
  }
  return out;
}

/**
 * tools/call arguments the SDK would refuse or change before any tool sees them, and which the
 * transports therefore replace by a stand-in (normalizeToolCall): an object whose one key no
 * client can send (random per process), holding the error the tool's check answers like any
 * other bad argument. (The SDK copies arguments on their way to the tool, so the stand-in is
 * known by its key, not by its identity.) Two cases:
 * - arguments that are not an object (null, an array, a number), which the SDK refuses with
 *   its validator's raw issue list;
 * - an own `__proto__` key anywhere in them, which JSON.parse makes from `"__proto__": …` and
 *   every zod object or record leaves out of its copy without a word: the SDK's record of
 *   arguments drops `arguments.__proto__`, and the tags and labels records drop
 *   `tags.__proto__`, so a filter on it matched every series and a tag on it was not recorded.
 */
const STAND_IN_KEY = `perfwatch-arguments-${randomBytes(12).toString('hex')}`;

interface StandIn {
  field: string;
  rule: string;
}

function standInError(input: unknown): InvalidArgumentError | undefined {
  if (input === null || typeof input !== 'object') return undefined;
  const given = (input as Record<string, unknown>)[STAND_IN_KEY] as StandIn | undefined;
  return given === undefined ? undefined : new InvalidArgumentError(given.field, given.rule);
}

/** The rule said of a `__proto__` key, by the record it is a key of: a tag name as canonicalTags says it. */
function protoRule(parent: PropertyKey | undefined): string {
  if (parent === 'tags') return TAG_NAME_RULE;
  if (parent === 'labels') return 'is not a valid label name: __proto__ is not allowed';
  return unknownKeyRule('argument');
}

/**
 * Deepest a search for `__proto__` looks: no tool's arguments hold objects more than 3 deep
 * (arguments > samples > [i] > tags), so one below this lies in a value the schema refuses
 * anyway. And the bound keeps the recursion on the call stack: JSON.parse takes arrays nested
 * 200,000 deep, and a throw here would end the transport's read (a walk with a stack of its
 * own instead took 5-10 times as long on a 100,000-sample batch).
 */
const PROTO_SEARCH_DEPTH = 16;

/**
 * The path of the first own `__proto__` key in a JSON value, or undefined. A walk of every
 * object: ~4 ms for a 100,000-sample batch against ~60-120 ms for its JSON.parse (the stdio
 * fast lane's batches come with their samples already read, as null).
 */
function protoPath(node: object, path: PropertyKey[]): PropertyKey[] | undefined {
  if (path.length > PROTO_SEARCH_DEPTH) return undefined;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const item: unknown = node[i];
      if (item === null || typeof item !== 'object') continue;
      path.push(i);
      const found = protoPath(item, path);
      if (found) return found;
      path.pop();
    }
    return undefined;
  }
  if (Object.hasOwn(node, '__proto__')) return path;
  for (const key in node) {
    const value: unknown = (node as Record<string, unknown>)[key];
    if (value === null || typeof value !== 'object') continue;
    path.push(key);
    const found = protoPath(value, path);
    if (found) return found;
    path.pop();
  }
  return undefined;
}

/** Replaces a tools/call request's `arguments` the SDK would refuse or change by a stand-in (see STAND_IN_KEY). */
export function normalizeToolCall(message: unknown): void {
  if (message === null || typeof message !== 'object') return;
  const m = message as { method?: unknown; params?: unknown };
  if (m.method !== 'tools/call' || m.params === null || typeof m.params !== 'object') return;
  const params = m.params as { arguments?: unknown };
  if (!('arguments' in params) || params.arguments === undefined) return;
  const args = params.arguments;
  let standIn: StandIn | undefined;
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    standIn = { field: 'arguments', rule: `must be an object of named arguments, got ${describeValue(args)}` };
  } else {
    const path = protoPath(args, []);
    if (path) standIn = { field: formatPath([...path, '__proto__']), rule: protoRule(path.at(-1)) };
  }
  if (standIn !== undefined) params.arguments = { [STAND_IN_KEY]: standIn };
}
