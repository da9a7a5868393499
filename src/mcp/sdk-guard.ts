/**
 * A request that names something the server never registered (a tool, a resource), answered
 * by an error of ours instead of the SDK's. The SDK's handlers of tools/call and
 * resources/read echo the name asked for whole (a megabyte of name sent, a megabyte or two
 * back) and say nothing of what was meant.
 *
 * The SDK's own handler serves every request naming something registered, unchanged: it is
 * wrapped as McpServer sets it, at the first registration of its kind (registerTool,
 * registerResource) on a server made without that capability, which is the one way to reach
 * it: a handler set after it would replace it, and calling the one it set from ours would
 * check each request and answer twice. SDK internals, held by test/mcp-unknown-tool.test.ts
 * and test/mcp-unknown-resource.test.ts.
 */
import type { McpServer } from '@modelcontextprotocol/server';

/** Most of a name an answer repeats: longer than any tool's or resource's, a line at most. */
export const NAME_SHOWN = 64;

/** `name` as an answer may show it: at most NAME_SHOWN characters, saying it was cut and how long it was. */
export function shownName(name: string): string {
  return name.length > NAME_SHOWN ? `${name.slice(0, NAME_SHOWN)}… (cut: a name of ${name.length} characters)` : name;
}

export interface NameGuard {
  /** The McpServer method whose calls register the names requests use. */
  registrar: 'registerTool' | 'registerResource';
  /** Which of its arguments is that name: a tool's name, a resource's URI. */
  nameArg: number;
  /** The request the SDK's handler, installed at the first registration, answers. */
  method: 'tools/call' | 'resources/read';
  /** The params' member that names what is asked for. */
  param: 'name' | 'uri';
  /** The error for a request naming nothing registered. */
  refuse: (name: string, known: readonly string[]) => Error;
}

type Loose = (...args: unknown[]) => unknown;

/**
 * Runs `register`, which registers `server`'s tools or resources, with the SDK's handler of
 * `guard.method` answering a request that names nothing registered by `guard.refuse`. Returns
 * the names registered.
 */
export function guardingNames(server: McpServer, guard: NameGuard, register: () => void): ReadonlySet<string> {
  const sdk = server.server as unknown as { setRequestHandler: Loose };
  const mcp = server as unknown as Record<NameGuard['registrar'], Loose>;
  const setRequestHandler = sdk.setRequestHandler;
  const registrar = mcp[guard.registrar];
  const known = new Set<string>();
  const guarded =
    (handler: Loose): Loose =>
    (request, ctx) => {
      const name = (request as { params: Record<string, unknown> }).params[guard.param];
      if (typeof name === 'string' && !known.has(name)) throw guard.refuse(name, [...known]);
      return handler(request, ctx);
    };
  mcp[guard.registrar] = (...args) => {
    known.add(args[guard.nameArg] as string);
    return registrar.apply(server, args);
  };
  sdk.setRequestHandler = (method, handler, ...rest) => setRequestHandler.call(sdk, method, method === guard.method && typeof handler === 'function' ? guarded(handler as Loose) : handler, ...rest);
  try {
    register();
  } finally {
    // The prototype's methods again, for anything registered later.
    delete (mcp as Partial<typeof mcp>)[guard.registrar];
    delete (sdk as Partial<typeof sdk>).setRequestHandler;
  }
  return known;
}
