/**
 * A tools/call naming no tool. The SDK answers it `Tool <name> not found` with the name
 * whole, so a client (an agent's slip, or a hostile one) that sent a megabyte of name got a
 * megabyte back, and one that mistyped a name was told nothing of the tool it meant. Here the
 * same error (-32602) says at most NAME_SHOWN characters of the name, that it was cut and how
 * long it was, and the tools nearest to it (sdk-guard.ts).
 */
import { ProtocolError, ProtocolErrorCode, type McpServer } from '@modelcontextprotocol/server';
import { nearestNames } from '../suggest.js';
import { guardingNames, NAME_SHOWN, shownName } from './sdk-guard.js';

/** The error for a call of `name`, no tool of `tools`. */
export function unknownToolError(name: string, tools: readonly string[]): ProtocolError {
  // The distance is taken on what is shown: a name past every tool's length is no typo of one,
  // and its whole length would cost the distance a megabyte times each tool's.
  return new ProtocolError(ProtocolErrorCode.InvalidParams, `Tool ${shownName(name)} not found; the nearest: ${nearestNames(name.slice(0, NAME_SHOWN), tools).join(', ')}`);
}

/**
 * Runs `register`, which registers `server`'s tools, with the SDK's tools/call handler
 * answering a call of a name it did not register by unknownToolError.
 */
export function answeringUnknownTools(server: McpServer, register: () => void): void {
  guardingNames(server, { registrar: 'registerTool', nameArg: 0, method: 'tools/call', param: 'name', refuse: unknownToolError }, register);
}
