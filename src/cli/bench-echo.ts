/**
 * The peer of the MCP benchmarks (`npm run bench:mcp`, `perfwatch bench --mcp`): a bare MCP
 * server on the official SDK v2 with one tool that echoes its argument, over the SDK's own
 * stdio entry and transport. Its round trip is the floor that any tool call over stdio pays.
 */
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';

serveStdio(() => {
  const server = new McpServer({ name: 'echo', version: '1.0.0' });
  server.registerTool('echo', { description: 'Echoes text', inputSchema: z.object({ text: z.string() }) }, ({ text }) => ({ content: [{ type: 'text', text }] }));
  return server;
});
