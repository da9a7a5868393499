import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { CLI, quietConfig } from './mcp-helpers.js';

describe('perfwatch CLI output into a reader that leaves', () => {
  it('report ends quietly with 0 when the reader of its output is gone (perfwatch report | head -1)', async () => {
    const child = spawn(process.execPath, [CLI, 'report', '--for', '1', '--config', quietConfig()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (stderr += c));
    // As head does once it has its line: the read end closes, and the report's write is an EPIPE.
    child.stdout.destroy();
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(code).toBe(0);
  });
});
