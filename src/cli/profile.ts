/**
 * `perfwatch profile`: captures a CPU or heap profile of a running service's main thread
 * through its MCP endpoint (the capture_performance_profile tool, the same answer an agent
 * gets) and prints the summary. A capture longer than the tool's deadline answers with its
 * id at once; this command then asks for it by id until it is done.
 */
import { Client } from '@modelcontextprotocol/client';
import { DEFAULT_SECONDS, MAX_SECONDS, MIN_SECONDS, PROFILE_KINDS } from '../profiling/limits.js';
import { intFlag } from './args.js';
import { remoteToken, withoutToken } from './token.js';
import { connectRemote, goneLine, remoteUrl, timeoutFlag } from './remote.js';
import { isTimeout, unreachable } from './unreachable.js';


export interface ProfileArgs {
  url?: string;
  seconds?: string;
  kind?: string;
  top?: string;
  token?: string;
  timeout?: string;
  format?: string;
}

interface ToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: { id: number; state: 'running' | 'done'; ends_at: string };
}

function fail(message: string): number {
  process.stderr.write(`perfwatch: ${withoutToken(message)}\n`);
  return 2;
}

export async function profile(args: ProfileArgs): Promise<number> {
  if (args.url === undefined) return fail('--url is required: the MCP endpoint of the service to profile, e.g. http://127.0.0.1:7071/mcp');
  const url = remoteUrl(args.url);
  if (typeof url === 'string') return fail(url);
  const seconds = args.seconds === undefined ? DEFAULT_SECONDS : intFlag(args.seconds, '--seconds', MIN_SECONDS, MAX_SECONDS, 'seconds');
  const kind = args.kind ?? 'cpu';
  if (!(PROFILE_KINDS as readonly string[]).includes(kind)) return fail(`--kind must be one of ${PROFILE_KINDS.join(', ')}, got ${args.kind}`);
  const top = args.top === undefined ? 10 : intFlag(args.top, '--top', 1, 100);
  const format = args.format ?? 'text';
  if (format !== 'text' && format !== 'json') return fail(`--format must be text or json, got ${args.format}`);

  const timeoutMs = timeoutFlag(args.timeout);
  const token = remoteToken(args.token);

  const client = new Client({ name: 'perfwatch-profile', version: '1.0.0' });
  const remote = await connectRemote(client, url, token, timeoutMs);
  if (typeof remote === 'string') return fail(remote);
  // A capture's answer comes once it is done (or at the tool's deadline, saying it runs on):
  // its wait covers the capture's seconds too.
  const capturing = { timeout: timeoutMs + seconds * 1000 };
  try {
    process.stderr.write(`perfwatch profile: capturing a ${kind} profile of ${url.host} for ${seconds} s\n`);
    let result = (await client.callTool({ name: 'capture_performance_profile', arguments: { kind, seconds, top } }, capturing)) as ToolResult;
    while (!result.isError && result.structuredContent?.state === 'running') {
      const wait = Math.max(0, Date.parse(result.structuredContent.ends_at) - Date.now());
      let timer: NodeJS.Timeout | undefined;
      // A service that goes away meanwhile ends the wait (remote.gone), not the next call.
      await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, Math.min(wait, 15_000)))), remote.gone]);
      clearTimeout(timer);
      if (remote.lost !== undefined) return fail(remote.lost);
      result = (await client.callTool({ name: 'capture_performance_profile', arguments: { id: result.structuredContent.id, top } }, capturing)) as ToolResult;
    }
    // The tool's text names its own argument; here it is a flag.
    const text = result.content
      .map((c) => c.text ?? '')
      .join('\n')
      .replace(/ shown: pass top \(up to (\d+)\) for more\./, (_, n: string) => ` shown: pass --top ${Math.min(Number(n), 100)} for more.`);
    if (result.isError) return fail(text);
    process.stdout.write(format === 'json' ? `${JSON.stringify(result.structuredContent, null, 2)}\n` : `${text}\n`);
    return 0;
  } catch (error) {
    const gone = remote.lost ?? goneLine(url, error);
    if (gone !== undefined) return fail(gone);
    if (isTimeout(error)) return fail(unreachable(url, error));
    throw error;
  } finally {
    await remote.end();
  }
}
