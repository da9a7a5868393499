/**
 * A protocol request whose params the SDK's schema refuses (logging/setLevel with a level
 * that is none, resources/read without a uri, resources/subscribe with a number for one),
 * answered -32602 Invalid params in one sentence naming the field, instead of the SDK's
 * -32603 Internal error whose message is its validator's issue list as multi-line JSON.
 *
 * The SDK (v2) checks a spec method's params in the handler it stores for the method, and a
 * failure throws a plain Error carrying `JSON.stringify(issues)`, which its dispatch answers
 * as an internal error. Every handler the server holds is wrapped here, those its constructor
 * set and those set later, by their map (Protocol's `_requestHandlers`): an error of that
 * shape becomes InvalidParams, anything else goes through unchanged. tools/call is checked
 * apart, by the handler McpServer wraps around its own, whose refusal is a ProtocolError
 * -32602 `Invalid tools/call request: [...]` with the same issue list, and is said the same
 * way. SDK internals, held by test/mcp-invalid-params.test.ts.
 */
import { ProtocolError, ProtocolErrorCode, type McpServer } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import { describeValue } from '../errors.js';
import { plainRule } from '../schema-errors.js';
import { formatPath, valueAt } from './validate.js';

type Handler = (request: unknown, ctx: unknown) => unknown;

/** The issue list an SDK validation error of `method` carries as JSON, or undefined when `error` is not one. */
function issueList(method: string, error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  // The spec methods' check throws a plain Error; a handler's own errors are ProtocolErrors or perfwatch's.
  if (Object.getPrototypeOf(error) === Error.prototype) return error.message.startsWith('[') ? error.message : undefined;
  const prefix = `Invalid ${method} request: [`;
  if (error instanceof ProtocolError && error.code === ProtocolErrorCode.InvalidParams && error.message.startsWith(prefix)) return error.message.slice(prefix.length - 1);
  return undefined;
}

/** The first schema issue an SDK validation error of `method` carries, or undefined when `error` is not one. */
function validationIssue(method: string, error: unknown): z.core.$ZodIssue | undefined {
  const list = issueList(method, error);
  if (list === undefined) return undefined;
  try {
    const issues: unknown = JSON.parse(list);
    const first: unknown = Array.isArray(issues) ? issues[0] : undefined;
    if (first === null || typeof first !== 'object') return undefined;
    const { code, path, message } = first as Record<string, unknown>;
    return typeof code === 'string' && Array.isArray(path) && typeof message === 'string' ? (first as z.core.$ZodIssue) : undefined;
  } catch {
    return undefined;
  }
}

/** `Invalid params for logging/setLevel: params.level must be "debug", … or "emergency", got "bogus"`. */
export function invalidParamsError(method: string, request: unknown, issue: z.core.$ZodIssue): ProtocolError {
  const field = formatPath(issue.path) || 'params';
  const value = valueAt(request, issue.path);
  const said = value === undefined ? `${field} is required: it ${plainRule(issue)}` : `${field} ${plainRule(issue)}, got ${describeValue(value)}`;
  return new ProtocolError(ProtocolErrorCode.InvalidParams, `Invalid params for ${method}: ${said}`);
}

/** Makes every request handler of `server`, set now or later, answer params its SDK schema refuses by invalidParamsError. */
export function answeringInvalidParams(server: McpServer): void {
  const handlers = (server.server as unknown as { _requestHandlers?: unknown })._requestHandlers;
  // Another SDK without this map: its errors go through as it answers them (the test says so), the server unharmed.
  if (!(handlers instanceof Map)) return;
  const map = handlers as Map<string, Handler>;
  const set = map.set;
  const wrap =
    (method: string, handler: Handler): Handler =>
    async (request, ctx) => {
      try {
        return await handler(request, ctx);
      } catch (error) {
        const issue = validationIssue(method, error);
        throw issue === undefined ? error : invalidParamsError(method, request, issue);
      }
    };
  for (const [method, handler] of map) set.call(map, method, wrap(method, handler));
  map.set = (method, handler) => set.call(map, method, wrap(method, handler));
}
