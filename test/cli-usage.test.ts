import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { CLI, quietConfig } from './mcp-helpers.js';

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

  it('refuses a --url with a user and password without repeating them, and says how the token is given', async () => {
    for (const command of ['report', 'profile']) {
      await expect(cli(command, '--url', 'http://admin:s3cret-pass@127.0.0.1:7071/mcp'), command).rejects.toMatchObject({
        code: 2,
        stderr: 'perfwatch: --url must not carry a user or password (http://user:pass@…): the endpoint takes a bearer token, given with --token or PERFWATCH_TOKEN\n',
      });
    }
  });

  it('refuses a flag given twice, naming it, instead of taking the last', async () => {
    await expect(cli('report', '--window', '5', '--window', '3600')).rejects.toMatchObject({ code: 2, stdout: '', stderr: 'perfwatch: --window is given twice; give it once\n' });
    // Not its values: one may be a token.
    await expect(cli('profile', '--url', 'http://127.0.0.1:1/mcp', '--token', 'a', '--token=b')).rejects.toMatchObject({ code: 2, stderr: 'perfwatch: --token is given twice; give it once\n' });
    // Switches too: they were taken silently.
    await expect(cli('mcp', '--no-start', '--no-start')).rejects.toMatchObject({ code: 2, stdout: '', stderr: 'perfwatch: --no-start is given twice; give it once\n' });
    await expect(cli('serve', '--http', '0', '--mcp-allow-state-changes', '--mcp-allow-state-changes')).rejects.toMatchObject({ code: 2, stderr: 'perfwatch: --mcp-allow-state-changes is given twice; give it once\n' });
  });

  it('refuses a --url of another scheme than http(s) as a usage error, not as an endpoint it could not reach', async () => {
    for (const command of ['report', 'profile']) {
      await expect(cli(command, '--url', 'ftp://127.0.0.1/mcp'), command).rejects.toMatchObject({ code: 2, stderr: 'perfwatch: --url must be an http(s) URL such as http://127.0.0.1:7071/mcp, got "ftp://127.0.0.1/mcp"\n' });
    }
  });

  it('refuses a number flag in another form than decimal digits (hex, exponent, fraction), naming the flag, the form and the range', async () => {
    const url = 'http://127.0.0.1:1/mcp';
    const cases: [string[], string][] = [
      [['profile', '--url', url, '--top', '0x10'], '--top must be an integer from 1 to 100, got "0x10"'],
      [['profile', '--url', url, '--top', '1.5'], '--top must be an integer from 1 to 100, got "1.5"'],
      [['profile', '--url', url, '--seconds', '1e1'], '--seconds must be an integer number of seconds from 1 to 120, got "1e1"'],
      [['profile', '--url', url, '--timeout', '0x1e'], '--timeout must be an integer number of seconds from 1 to 3600, got "0x1e"'],
      [['report', '--url', url, '--window', '6e1'], '--window must be an integer number of seconds from 1 to 86400, got "6e1"'],
      [['report', '--for', '0x2'], '--for must be an integer number of seconds from 1 to 3600, got "0x2"'],
      [['report', '--url', url, '--offset', '1.0'], '--offset must be an integer from 0 to 9007199254740991, got "1.0"'],
      [['bench', '--samples', '1e6'], '--samples must be an integer from 100000 to 100000000, got "1e6"'],
      // Spaces around the digits are no decimal digits alone either.
      [['report', '--for', ' 2'], '--for must be an integer number of seconds from 1 to 3600, got " 2"'],
      [['profile', '--url', url, '--top', '5 '], '--top must be an integer from 1 to 100, got "5 "'],
    ];
    for (const [args, said] of cases) await expect(cli(...args), args.join(' ')).rejects.toMatchObject({ code: 2, stdout: '', stderr: `perfwatch: ${said}\n` });
  });

  it('names --metrics, not the tool argument behind it, when it lists no name', async () => {
    for (const given of ['', ' , ']) {
      await expect(cli('report', '--for', '1', '--metrics', given), JSON.stringify(given)).rejects.toMatchObject({
        code: 2,
        stderr: `perfwatch: --metrics must list at least one metric name, comma-separated (leave it out for every metric), got ${JSON.stringify(given)}\n`,
      });
    }
  });

  it('names --hub, not the option hub.listen behind it, when its socket path cannot be used', async () => {
    const missing = join(tmpdir(), 'perfwatch-no-such-dir', 'hub.sock');
    await expect(cli('serve', '--hub', missing, '--config', quietConfig())).rejects.toMatchObject({
      code: 2,
      stderr: `perfwatch: --hub ${missing}: its folder ${dirname(missing)} does not exist: create it or choose another path\n`,
    });
    await expect(cli('serve', '--hub', join(tmpdir(), 'a'.repeat(200)), '--config', quietConfig())).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^perfwatch: --hub must be at most 107 bytes \(the limit of a Unix socket path\), not \d+, got a string of \d+ characters\n$/),
    });
  });

  it('serve --hub on a socket path it cannot use fails before its storage starts: nothing made in the working directory', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'perfwatch-hub-cwd-'));
    const file = join(cwd, 'not-a-socket');
    writeFileSync(file, 'a file of the user');
    const missing = join(tmpdir(), 'perfwatch-no-such-dir', 'hub.sock');
    const cases: [string, string][] = [
      [missing, `--hub ${missing}: its folder ${dirname(missing)} does not exist: create it or choose another path`],
      [file, `--hub ${file} exists and is not a socket: not replaced; choose another path or remove it`],
      [join(file, 'hub.sock'), `--hub ${join(file, 'hub.sock')}: ${file} is not a folder: choose another path`],
    ];
    for (const [path, said] of cases) {
      // No --config: the default storage, sqlite in ./perfwatch-data, which a start would make.
      await expect(run(process.execPath, [CLI, 'serve', '--hub', path], { cwd, timeout: 60_000 }), path).rejects.toMatchObject({ code: 2, stderr: `perfwatch: ${said}\n` });
      expect(readdirSync(cwd), path).toEqual(['not-a-socket']);
    }
  });
});
