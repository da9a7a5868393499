/**
 * What is wrong with a POST body that is JSON but no JSON-RPC message, said by field: the
 * SDK's refusal, "the request body is not a valid JSON-RPC message", did not say whether
 * `jsonrpc`, `method` or `id` was at fault. Whether a message is valid is the SDK's own
 * predicates' call (the ones its handler classifies by); this only explains a refusal.
 */
import { isJSONRPCErrorResponse, isJSONRPCNotification, isJSONRPCRequest, isJSONRPCResultResponse } from '@modelcontextprotocol/server';

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const RESPONSE_KEYS = new Set(['jsonrpc', 'id', 'result', 'error']);

function isMessage(value: unknown): boolean {
  return isJSONRPCRequest(value) || isJSONRPCNotification(value) || isJSONRPCResultResponse(value) || isJSONRPCErrorResponse(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as an answer names it: its JSON cut to 40 characters, or its type. */
function shown(value: unknown): string {
  const json = JSON.stringify(value);
  return json.length > 40 ? `${json.slice(0, 40)}… (${Array.isArray(value) ? 'an array' : typeof value})` : json;
}

/** The first thing wrong with one message, by field. */
function fault(m: unknown): string {
  if (!isPlainObject(m)) return `it is ${m === null ? 'null' : Array.isArray(m) ? 'an array' : `a ${typeof m}`}, not an object`;
  if (m.jsonrpc === undefined) return '"jsonrpc" is missing: it must be "2.0"';
  if (m.jsonrpc !== '2.0') return `"jsonrpc" must be "2.0", got ${shown(m.jsonrpc)}`;
  const isIntOrString = (id: unknown) => typeof id === 'string' || Number.isInteger(id);
  if ('method' in m) {
    if (typeof m.method !== 'string') return `"method" must be a string, got ${shown(m.method)}`;
    if ('id' in m && !isIntOrString(m.id)) return `"id" must be a string or an integer, got ${shown(m.id)}`;
    if ('params' in m && !isPlainObject(m.params)) return `"params" must be an object, got ${shown(m.params)}`;
    const extra = Object.keys(m).find((k) => !REQUEST_KEYS.has(k));
    if (extra !== undefined) return `a request or notification has jsonrpc, id, method and params only, not ${shown(extra)}`;
  } else if ('result' in m || 'error' in m) {
    if ('result' in m && 'error' in m) return 'a response has "result" or "error", not both';
    if ('id' in m && !isIntOrString(m.id)) return `"id" must be a string or an integer, got ${shown(m.id)}`;
    if ('result' in m && !isPlainObject(m.result)) return `"result" must be an object, got ${shown(m.result)}`;
    const extra = Object.keys(m).find((k) => !RESPONSE_KEYS.has(k));
    if (extra !== undefined) return `a response has jsonrpc, id and result or error only, not ${shown(extra)}`;
  } else {
    return '"method" (a string) is missing: a request or notification has one, a response has "result" or "error"';
  }
  return 'see JSON-RPC 2.0';
}

/** Undefined for one JSON-RPC message, else its first fault by field: `"id" must be a string or an integer, got 1.5`. */
export function messageFault(m: unknown): string | undefined {
  return isMessage(m) ? undefined : fault(m);
}

/**
 * Undefined for a body the SDK takes as JSON-RPC (a message, or a batch of them; an empty batch
 * is the SDK's to refuse), else what is wrong: `"jsonrpc" must be "2.0", got "1.0"`, or for a
 * batch `element 3: "method" must be a string, got 5`.
 */
export function jsonRpcFault(body: unknown): string | undefined {
  if (!Array.isArray(body)) return messageFault(body);
  const i = body.findIndex((m) => !isMessage(m));
  return i < 0 ? undefined : `element ${i}: ${fault(body[i])}`;
}
