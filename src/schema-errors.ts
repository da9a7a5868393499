/**
 * A schema's refusal as perfwatch's error: the first zod issue as an InvalidArgumentError that
 * names the field, says the rule in plain words and shows the value once; an unknown key is
 * named with the known key it most likely meant. Apart from errors.ts, which imports nothing
 * (a second copy of the package loads it alone).
 */
import type { z } from 'zod';
import { InvalidArgumentError, keyField, unknownKeyRule, type Given } from './errors.js';
import { knownKeys } from './schema-keys.js';
import { holdsCredential, withheldGiven } from './schema-credentials.js';
import { meantOrKnown } from './suggest.js';

/**
 * Turns the first schema issue into an InvalidArgumentError naming the field. An unknown key is
 * named, with the known key of `schema` it most likely meant, or the known keys when it is near
 * none (`schema` is the one that refused it: every caller names it, so none says the key
 * alone, as profile() and optimize() did until 2026-12-05); zod's own wording
 * ("Invalid input: expected boolean, received string") is said in plain words, the value
 * given shown once, after the rule.
 */
export function toInvalidArgument(error: z.ZodError, input: unknown, prefix: string, what: string, schema: z.ZodType): InvalidArgumentError {
  const issue = formTaken(error.issues[0]!);
  const path = fieldPath(prefix, issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    // `rule field` → `the fields: …`, `option` → `the options: …`.
    const hint = meantOrKnown(keys[0]!, knownKeys(schema, issue.path), `${what.split(' ').at(-1)}s`);
    return new InvalidArgumentError(path ? `${path}.${keys[0]}` : keys[0]!, `${unknownKeyRule(what)}${hint}`);
  }
  const refused = refusedKey(issue);
  if (refused) return new InvalidArgumentError(fieldPath(prefix, refused.path), refused.rule);
  let value: unknown = input;
  for (const key of issue.path) value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined;
  const said = plainRule(issue);
  // A rule that says what it got (`…, got a piscina pool itself: …`) is not followed by the value again.
  if (/, got /.test(said)) return new InvalidArgumentError(path || 'options', said);
  const given = givenOf(said, value);
  // A receiver's URL or headers are its credentials: shown as status shows them, never kept (schema-credentials.ts).
  return new InvalidArgumentError(path || 'options', said, holdsCredential(schema, issue.path) ? withheldGiven(value, given.shown) : given);
}

/**
 * The value an issue's message shows: a record or Map refused by a limit on its entries (its
 * rule says "at most 32 …") by its entries, as an array is by its length (`labels must have at
 * most 32 entries, got 1000 entries`: it read "got object"); any other value as describeValue
 * says it.
 */
export function givenOf(rule: string, value: unknown): Given {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Date || !/\bat (most|least) \d/.test(rule)) return { value };
  const n = value instanceof Map ? value.size : Object.keys(value).length;
  return { value, shown: `${n} ${n === 1 ? 'entry' : 'entries'}` };
}

/**
 * The issue of the one form of a union the value took: a webhook given as `{ url, headers }`
 * whose header value is an object failed the URL string's form at its root and the object's
 * form at `headers.Authorization`, and was refused as "none of the forms this option takes",
 * the header unnamed. The form whose first issue lies inside the value (the value has its
 * shape) is the one meant; its issue is said, at its full path. With none, or more than one,
 * the union's.
 */
function formTaken(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union') return issue;
  const forms = ((issue as { errors?: z.core.$ZodIssue[][] }).errors ?? []).filter((f) => f[0] !== undefined && f[0].path.length > 0);
  if (forms.length !== 1) return issue;
  const inner = forms[0]![0]!;
  return formTaken({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue);
}

/**
 * A record's key that its key schema refused (a tag or label name): zod 4 reports it as
 * `invalid_key` under the record's own message ("must be an object of tag names to string
 * values"), the key schema's issue nested in it. Its rule is the nested one, said of the key
 * (`tags.bad-key is not a valid tag name: …`), whose path shows the key, cut to 40 characters.
 */
export function refusedKey(issue: z.core.$ZodIssue): { path: PropertyKey[]; rule: string } | undefined {
  const inner = issue.code === 'invalid_key' ? (issue as { issues?: z.core.$ZodIssue[] }).issues?.[0] : undefined;
  if (inner === undefined) return undefined;
  const key = String(issue.path.at(-1) ?? '');
  const rule = plainRule(inner);
  // An empty name would read `tags. is not a valid tag name`: said of the record instead.
  if (key === '') return { path: issue.path.slice(0, -1), rule: `must not have an empty ${/ valid (\w+) name/.exec(rule)?.[1] ?? 'key'} name` };
  return { path: [...issue.path.slice(0, -1), key.length > 40 ? `${key.slice(0, 40)}…` : key], rule };
}

/**
 * A field's path as code writes it: `export.remoteWrite[0].url`, as recordBatch names
 * `samples[3].value`. A key of digits is an index too: an array a schema turns into an object
 * by position (instrument()'s `piscina: [pool]`) is still the caller's array.
 */
function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const key of path) out = typeof key === 'number' || /^\d+$/.test(String(key)) ? `${out}[${String(key)}]` : keyField(out, String(key));
  return out;
}

/** zod's default messages begin so; ours begin with "must" and are kept as written. */
const ZOD_WORDING = /^(Invalid|Too (big|small)|Unrecognized|Expected)\b/;

const TYPE_WORDS: Record<string, string> = { boolean: 'true or false', number: 'a number', string: 'a string', object: 'an object', record: 'an object', map: 'an object', array: 'an array', tuple: 'an array', set: 'an array', int: 'an integer', bigint: 'an integer', date: 'a date' };

/**
 * The rule of a schema issue in plain words: what the value must be, its range or its choices.
 * A message of ours is kept as written; zod's own wording never reaches a caller (the MCP
 * tools' errors are said by this too: mcp/validate.ts), each kind of issue phrased by its
 * code, expected type and limits.
 */
export function plainRule(issue: z.core.$ZodIssue): string {
  if (!ZOD_WORDING.test(issue.message)) return issue.message;
  const i = issue as z.core.$ZodIssue & { expected?: string; origin?: string; maximum?: number | bigint; minimum?: number | bigint; inclusive?: boolean; values?: unknown[]; format?: string; pattern?: string; divisor?: number };
  switch (i.code) {
    case 'invalid_type':
      return `must be ${TYPE_WORDS[i.expected ?? ''] ?? i.expected}`;
    case 'too_big':
    case 'too_small': {
      const big = i.code === 'too_big';
      const limit = String(big ? i.maximum : i.minimum);
      if (i.origin === 'array' || i.origin === 'set') return `must have ${big ? 'at most' : 'at least'} ${limit} items`;
      if (i.origin === 'string') return !big && limit === '1' ? 'must not be empty' : `must be ${big ? 'at most' : 'at least'} ${limit} characters`;
      return i.inclusive === false ? `must be ${big ? 'below' : 'above'} ${limit}` : `must be ${big ? 'at most' : 'at least'} ${limit}`;
    }
    case 'invalid_value':
      return `must be ${orList((i.values ?? []).map((v) => JSON.stringify(v)))}`;
    case 'invalid_union':
      return 'is none of the forms this option takes';
    case 'invalid_format':
      return i.format === 'regex' && i.pattern !== undefined ? `must match ${i.pattern}` : `must be a valid ${i.format ?? 'value'}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(i.divisor)}`;
    case 'invalid_key':
      return 'has a key that is not valid';
    case 'invalid_element':
      return 'has an element that is not valid';
    default:
      return 'is not valid';
  }
}

/** "a", "a or b", "a, b or c". */
function orList(words: string[]): string {
  return words.length < 2 ? (words[0] ?? 'nothing') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}
