/**
 * MCP benchmark: tools/call round trips over stdio with the SDK's own client, perfwatch's
 * tools beside a bare SDK echo server in the same run, and samples per second through
 * record_performance_metric batches, with the server's fast lane on and off (`mcp
 * --no-fast-lane`) side by side. `npm run bench:mcp`.
 *
 * Both servers are child processes spoken to by one v2 Client each, over the SDK's
 * StdioClientTransport; each round starts a fresh pair (a process keeps its start-up luck
 * for life). The batch runs are repeated on a fresh server fed ready-made lines with no
 * client work beside it, to tell the server's capacity from the client's cost. Calls are
 * sequential (one in flight), so a round trip is the latency an agent sees. The cases run
 * in interleaved rounds so that the machine's noise falls on all of them alike; medians and
 * p99 are over every call of every round.
 */
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runMcpBench, type BenchTarget } from '../src/cli/bench-mcp.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 100);
const BATCH = Number(process.env.BENCH_BATCH ?? 10_000);

async function main(): Promise<void> {
  const node = process.execPath;
  const echo: BenchTarget = { command: node, args: [fileURLToPath(new URL('../src/cli/bench-echo.js', import.meta.url))] };
  const perfwatch: BenchTarget = { command: node, args: [fileURLToPath(new URL('../src/cli/main.js', import.meta.url)), 'mcp'] };
  const ordinary: BenchTarget = { ...perfwatch, args: [...perfwatch.args, '--no-fast-lane'] };
  const result = await runMcpBench({ perfwatch, ordinary, echo, calls: CALLS, rounds: ROUNDS, batches: BATCHES, batchSize: BATCH, log: (line) => process.stderr.write(`${line}\n`) });
  console.log(`\nperfwatch MCP benchmark — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
  console.log(`stdio, SDK v2 Client, one call in flight; ${ROUNDS} interleaved rounds of ${CALLS} calls per case\n`);
  console.log(result.table);
  if (!result.verified) throw new Error('a batch run found samples missing from the store (see the table)');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
