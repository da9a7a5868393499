/**
 * The options whose values are credentials: a webhook's or a receiver's URL (its user info,
 * a Slack or Discord token in its path, a key in its query) and request headers (an
 * Authorization, an API key). An error about such a value must not carry it: a service that
 * fails to start logs the error whole (an uncaught exception's print, `console.error(err)`, a
 * logger's error serializer writes `given` beside the message), so a URL refused for its port
 * put its password, and a header value refused for a pasted `…` its token, into the logs.
 * The error shows a URL as status shows it (url-credentials.ts shownUrl), and anything else
 * by its kind and length alone.
 */
import type { z } from 'zod';
import { describeValue, type Given } from './errors.js';
import { formsOf, schemaAt } from './schema-keys.js';
import { shownUrl } from './url-credentials.js';

const bearing = new WeakSet<z.ZodType>();

/** Marks `schema` as one whose values are credentials; returns it. */
export function credentialSchema<T extends z.ZodType>(schema: T): T {
  bearing.add(schema);
  return schema;
}

/** Whether the value at `path` of `schema`, or one it lies within (a header of a headers record), is a credential. */
export function holdsCredential(schema: z.ZodType, path: readonly PropertyKey[]): boolean {
  for (let i = 0; i <= path.length; i++) {
    if (formsOf(schemaAt(schema, path.slice(0, i))).some((form) => bearing.has(form))) return true;
  }
  return false;
}

/**
 * What an error shows of a credential: a URL as shownUrl shows it (no user info, query or
 * path past its plain words; a URL of another scheme by its scheme and host), as the value
 * too; any other string by its length, a number or other value by its kind, keeping none.
 */
export function withheldGiven(value: unknown, shown?: string): Given {
  if (typeof value === 'string') {
    const url = safeUrl(value);
    return url === undefined ? { value: undefined, shown: `a string of ${value.length} characters` } : { value: url, shown: JSON.stringify(url) };
  }
  return { value: undefined, shown: shown ?? describeValue(value) };
}

function safeUrl(text: string): string | undefined {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return undefined;
  }
  if (u.protocol === 'http:' || u.protocol === 'https:') return shownUrl(text);
  return `${u.protocol}${u.host === '' ? '' : `//${u.host}`}…`;
}
