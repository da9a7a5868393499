/**
 * Answers whose bulk was serialised before. An agent or dashboard polling every series gets
 * mostly the summaries it got last time, and JSON.stringify of their numbers is the largest
 * part of what the server spends on such an answer. A handler marks an array in its
 * structuredContent with that array's JSON text (built from texts it kept); the stdio
 * transport splices the text in where JSON.stringify would have written the array.
 */
import { randomBytes } from 'node:crypto';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';

const texts = new WeakMap<object, string>();

/** Marks `value` as serialising to `json` (which must be exactly JSON.stringify(value)). */
export function withJson<T extends object>(value: T, json: string): T {
  texts.set(value, json);
  return value;
}

/** Stands for the array while the rest is serialised: random, so no answer can contain it. */
const MARK = `perfwatch-prebuilt-${randomBytes(12).toString('hex')}`;
const QUOTED_MARK = `"${MARK}"`;

/** One JSON-RPC message as a line: JSON.stringify(message) + '\n', with marked arrays spliced in. */
export function serializeLine(message: JSONRPCMessage): string {
  const result = (message as { result?: { structuredContent?: unknown } }).result;
  const sc = result?.structuredContent;
  if (sc !== null && typeof sc === 'object' && !Array.isArray(sc)) {
    const fields = sc as Record<string, unknown>;
    for (const key in fields) {
      const value = fields[key];
      const json = value !== null && typeof value === 'object' ? texts.get(value) : undefined;
      if (json === undefined) continue;
      const text = JSON.stringify({ ...message, result: { ...result, structuredContent: { ...fields, [key]: MARK } } });
      const at = text.indexOf(QUOTED_MARK);
      if (at < 0 || text.indexOf(QUOTED_MARK, at + 1) >= 0) break;
      return `${text.slice(0, at)}${json}${text.slice(at + QUOTED_MARK.length)}\n`;
    }
  }
  return `${JSON.stringify(message)}\n`;
}
