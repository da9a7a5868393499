/**
 * A tools/call naming no tool. The SDK answers it `Tool <name> not found` with the name
 * whole, so a client (an agent's slip, or a hostile one) that sent a megabyte of name got a
 * megabyte back, and one that mistyped a name was told nothing of the tool it meant. Here the
 * same error (-32602) says at most NAME_SHOWN characters of the name, that it was cut and how
 * long it was, and the tools nearest to it.
 *
 * The SDK's own tools/call handler serves every call of a tool there is, unchanged: it is
 * wrapped as McpServer sets it, at the first registerTool of a server made without the tools
 * capability (McpFront.createServer), which is the one way to reach it: a handler set after it
 * would replace it, and calling the one it set from ours would check each call's request and
 * answer twice.
 */
import { ProtocolError, ProtocolErrorCode, type McpServer } from '@modelcontextprotocol/server';
import { nearestNames } from '../suggest.js';

/** Most of a name an answer repeats: longer than any tool's, a line at most. */
const NAME_SHOWN = 64;

/** The error for a call of `name`, no tool of `tools`. */
export function unknownToolError(name: string, tools: readonly string[]): ProtocolError {
  const shown = name.slice(0, NAME_SHOWN);
  const cut = name.length > NAME_SHOWN ? `${shown}… (cut: a name of ${name.length} characters)` : name;
  // The distance is taken on what is shown: a name past every tool's length is no typo of one,
  // and its whole length would cost the distance a megabyte times each tool's.
  return new ProtocolError(ProtocolErrorCode.InvalidParams, `Tool ${cut} not found; the nearest: ${nearestNames(shown, tools).join(', ')}`);
}

type Loose = (...args: unknown[]) => unknown;

/**
 * Runs `register`, which registers `server`'s tools, with the SDK's tools/call handler
 * answering a call of a name it did not register by unknownToolError.
 */
export function answeringUnknownTools(server: McpServer, register: () => void): void {
  const sdk = server.server as unknown as { setRequestHandler: Loose };
  const mcp = server as unknown as { registerTool: Loose };
  const setRequestHandler = sdk.setRequestHandler;
  const registerTool = mcp.registerTool;
  const known = new Set<string>();
  const guarded =
    (handler: Loose): Loose =>
    (request, ctx) => {
      const name = (request as { params: { name: unknown } }).params.name;
      if (typeof name === 'string' && !known.has(name)) throw unknownToolError(name, [...known]);
      return handler(request, ctx);
    };
  mcp.registerTool = (name, ...rest) => {
    known.add(name as string);
    return registerTool.call(server, name, ...rest);
  };
  sdk.setRequestHandler = (method, handler, ...rest) => setRequestHandler.call(sdk, method, method === 'tools/call' && typeof handler === 'function' ? guarded(handler as Loose) : handler, ...rest);
  try {
    register();
  } finally {
    // The prototype's methods again, for anything registered later.
    delete (mcp as Partial<typeof mcp>).registerTool;
    delete (sdk as Partial<typeof sdk>).setRequestHandler;
  }
}
