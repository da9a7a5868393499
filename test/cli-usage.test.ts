import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI } from './mcp-helpers.js';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { timeout: 60_000 });
const COMMANDS = 'the commands: serve, mcp, report, profile, bench; see perfwatch --help';

describe('perfwatch CLI usage errors', () => {
  it('answers a mistyped command in one line with the command it meant', async () => {
    for (const [typed, meant] of [['serv', 'serve'], ['reprot', 'report'], ['mcpp', 'mcp'], ['profil', 'profile']]) {
      await expect(cli(typed!), typed).rejects.toMatchObject({ code: 2, stdout: '', stderr: `perfwatch: unknown command "${typed}" (did you mean ${meant}?); ${COMMANDS}\n` });
    }
    await expect(cli('xyz')).rejects.toMatchObject({ code: 2, stderr: `perfwatch: unknown command "xyz"; ${COMMANDS}\n` });
  });
});
