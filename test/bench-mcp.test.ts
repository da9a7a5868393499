/**
 * The MCP benchmark's client side: batches of ~600 KB sent several at once into a pipe that
 * is full must not pile up 'drain' listeners (Node's MaxListenersExceededWarning, twice a run
 * of `perfwatch bench --mcp`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { OrderedStdioClientTransport } from '../dist/src/cli/bench-mcp.js';

const transports: StdioClientTransport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

/** Warnings the process emits while `fn` sends to a child that never reads its stdin. */
async function warningsWhileSending(make: () => StdioClientTransport): Promise<string[]> {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.name);
  process.on('warning', onWarning);
  try {
    const transport = make();
    transports.push(transport);
    await transport.start();
    const line = 'x'.repeat(600_000);
    for (let i = 0; i < 20; i++) void transport.send({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: line } }).catch(() => {});
    // Warnings are emitted on the next turn.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    return warnings;
  } finally {
    process.off('warning', onWarning);
  }
}

describe('the MCP benchmark client', () => {
  it('sends one message at a time into a full pipe: no pile of drain listeners', async () => {
    const child = { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] };
    expect(await warningsWhileSending(() => new StdioClientTransport(child))).toContain('MaxListenersExceededWarning');
    expect(await warningsWhileSending(() => new OrderedStdioClientTransport(child))).toEqual([]);
  });
});
