import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { PerformanceMonitor } from '../dist/src/index.js';
import { CLI, quietConfig } from './mcp-helpers.js';
import { waitFor } from './helpers.js';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { timeout: 60_000 });

/** The registration by path that `perfwatch mcp --help` prints (not the one by PATH). */
function registration(help: string): { command: string; args: string[] } {
  const line = help.split('\n').find((l) => l.trim().startsWith('{"mcpServers"') && !l.includes('"command":"perfwatch"'))!;
  return JSON.parse(line).mcpServers.perfwatch as { command: string; args: string[] };
}

/** What a client does with a registration: spawn the command and speak MCP on its stdio. */
async function expectServes({ command, args }: { command: string; args: string[] }): Promise<void> {
  const client = new Client({ name: 'registration-check', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command, args: [...args, '--config', quietConfig()], stderr: 'ignore' }));
  try {
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('get_monitoring_status');
  } finally {
    await client.close();
  }
}

describe('perfwatch CLI', () => {
  it('prints help for the command and for each subcommand', async () => {
    const top = await cli('--help');
    for (const command of ['serve', 'mcp', 'report', 'profile', 'bench']) expect(top.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    for (const command of ['serve', 'mcp', 'report', 'profile', 'bench']) {
      const { stdout } = await cli(command, '--help');
      expect(stdout).toMatch(new RegExp(`^Usage: perfwatch ${command}`));
    }
  });

  it('prints the package version for --version and -v, and the top help names the flag', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const { stdout, stderr } = await cli(flag);
      expect(stdout, flag).toBe(`perfwatch ${version}\n`);
      expect(stderr, flag).toBe('');
    }
    expect((await cli('--help')).stdout).toMatch(/^ {2}-v, --version /m);
  });

  it("lists each command's options under Options and only variables under Environment, and docs/reference.md's synopsis names every option", async () => {
    const reference = readFileSync(new URL('../docs/reference.md', import.meta.url), 'utf8');
    for (const command of ['serve', 'mcp', 'report', 'profile', 'bench']) {
      const { stdout } = await cli(command, '--help');
      const environment = stdout.split(/^Environment:\n/m)[1] ?? '';
      for (const line of environment.split('\n').filter((l) => /^ {2}\S/.test(l))) expect(line, `${command} --help, Environment`).toMatch(/^ {2}[A-Z][A-Z0-9_]+ /);
      expect(stdout.split(/^Environment:\n/m)[0], `${command} --help`).toMatch(/^ {2}-h, --help /m);
      const synopsis = reference.split('\n').find((l) => l.startsWith(`perfwatch ${command} `)) ?? '';
      const options = new Set([...stdout.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]!));
      options.delete('--help');
      for (const option of options) expect(synopsis, `docs/reference.md's synopsis of ${command}`).toContain(`${option}`);
    }
  });

  it('mcp --help gives a registration that starts this install as an MCP server, fetching nothing', async () => {
    const { stdout } = await cli('mcp', '--help');
    expect(stdout).not.toMatch(/npx/);
    await expectServes(registration(stdout));
  });

  it("mcp --help of a project's install under pnpm registers it by the project's node_modules/perfwatch, not the .pnpm folder an upgrade renames", async () => {
    // A trial: the help printed the real path, node_modules/.pnpm/perfwatch@file+…/…, and said
    // "after 'npm link' in the clone", which an installed package has none of.
    const project = mkdtempSync(join(tmpdir(), 'perfwatch-pnpm-'));
    try {
      const store = join(project, 'node_modules', '.pnpm');
      const real = join(store, 'perfwatch@file+perfwatch-0.1.0.tgz', 'node_modules', 'perfwatch');
      for (const part of ['src', 'workers']) cpSync(fileURLToPath(new URL(`../dist/${part}`, import.meta.url)), join(real, 'dist', part), { recursive: true, filter: (f) => !f.endsWith('.map') && !f.endsWith('.d.ts') });
      writeFileSync(join(real, 'package.json'), readFileSync(new URL('../package.json', import.meta.url)));
      // pnpm's layout: the package's dependencies resolve from .pnpm/node_modules, the project's link to it.
      symlinkSync(fileURLToPath(new URL('../node_modules', import.meta.url)), join(store, 'node_modules'), 'dir');
      symlinkSync(real, join(project, 'node_modules', 'perfwatch'), 'dir');
      const linked = join(project, 'node_modules', 'perfwatch', 'dist', 'src', 'cli', 'main.js');
      const { stdout } = await run(process.execPath, [linked, 'mcp', '--help'], { timeout: 60_000 });
      expect(stdout).not.toContain('.pnpm');
      expect(stdout).not.toMatch(/npx/);
      const found = registration(stdout);
      expect(found.args).toEqual([linked, 'mcp']);
      await expectServes(found);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });

  it("mcp serves its tools with the monitor stopped when it cannot start, and start_performance_monitoring answers why", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'perfwatch-mcp-locked-'));
    // A dataDir locked by a live process (this one), as `perfwatch serve` holds ./perfwatch-data.
    writeFileSync(join(dir, 'perfwatch.lock'), `${process.pid}\n`);
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ dataDir: dir, system: { enabled: false } }));
    const client = new Client({ name: 'locked-check', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--config', config], stderr: 'ignore' }));
    try {
      // The start the server began meanwhile has failed, or this one joins it: the error either way.
      const start = (await client.callTool({ name: 'start_performance_monitoring', arguments: {} })) as { isError?: boolean; content: { text: string }[] };
      expect(start.isError).toBe(true);
      expect(start.content[0]!.text).toContain(`PW_ERR_STORAGE_LOCKED: ${dir} is in use by another perfwatch monitor (pid ${process.pid})`);
      const status = (await client.callTool({ name: 'get_monitoring_status', arguments: {} })) as { content: { text: string }[] };
      expect(status.content[0]!.text).toMatch(/^monitor stopped/);
    } finally {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('refuses unknown options and bad values with exit code 2, naming them', async () => {
    await expect(cli('report', '--colour', 'red')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--colour/) });
    await expect(cli('report', '--for', '0')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--for must be an integer number of seconds from 1 to 3600, got "0"/) });
    await expect(cli('serve', '--mcp-http', '70000')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--mcp-http must be an integer from 0 to 65535/) });
    // An address where the port goes: the error shows what was given and where the address belongs.
    await expect(cli('serve', '--http', '127.0.0.1:9555')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--http must be an integer from 0 to 65535, got "127.0.0.1:9555" (a port alone: the address goes in --http-host)') });
    await expect(cli('bench', '--samples', '5')).rejects.toMatchObject({ code: 2 });
  });

  it('exits with the error when the monitor cannot start, leaving no server listening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'perfwatch-serve-locked-'));
    // A dataDir locked by a live process: this one.
    writeFileSync(join(dir, 'perfwatch.lock'), `${process.pid}\n`);
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ dataDir: dir, system: { enabled: false } }));
    try {
      await expect(run(process.execPath, [CLI, 'serve', '--http', '0', '--mcp-http', '0', '--config', config], { timeout: 20_000 })).rejects.toMatchObject({
        code: 2,
        stderr: expect.stringContaining(`${dir} is in use by another perfwatch monitor (pid ${process.pid})`),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('says on stderr that --config takes dataDir and storage when mcp cannot use ./perfwatch-data of its working directory', async () => {
    // The client spawns `perfwatch mcp` in a directory of its choosing (often /): the line
    // said to choose a dataDir or storage: 'memory', options the command line has no flag for.
    const dir = mkdtempSync(join(tmpdir(), 'perfwatch-mcp-cwd-'));
    mkdirSync(join(dir, 'perfwatch-data'));
    writeFileSync(join(dir, 'perfwatch-data', 'perfwatch.lock'), `${process.pid}\n`);
    const child = spawn(process.execPath, [CLI, 'mcp'], { cwd: dir, stdio: ['pipe', 'ignore', 'pipe'] });
    try {
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      await waitFor(() => stderr.includes('\n'), 20_000, 'the line saying the monitor did not start');
      expect(stderr).toBe(
        `perfwatch mcp: the monitor did not start, so it is served stopped (start_performance_monitoring answers why): ${join(dir, 'perfwatch-data')} is in use by another perfwatch monitor (pid ${process.pid}): give each monitor its own dataDir, or stop that process (perfwatch mcp takes dataDir and storage from the JSON file of --config: {"dataDir": "/var/lib/perfwatch"}, or {"storage": "memory"})\n`,
      );
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      expect(await exited).toBe(0);
    } finally {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('says that --config takes dataDir and storage when serve cannot use ./perfwatch-data of its working directory, having no flag for either', async () => {
    // A trial: run where the working directory was not its to write (a container's WORKDIR), it
    // said "choose a dataDir …, or storage: 'memory'", options the command line has no flag for.
    const dir = mkdtempSync(join(tmpdir(), 'perfwatch-serve-cwd-'));
    mkdirSync(join(dir, 'perfwatch-data'));
    // Held by a live process (this one), as a running `perfwatch serve` holds it.
    writeFileSync(join(dir, 'perfwatch-data', 'perfwatch.lock'), `${process.pid}\n`);
    try {
      await expect(run(process.execPath, [CLI, 'serve'], { cwd: dir, timeout: 20_000 })).rejects.toMatchObject({
        code: 2,
        stderr: `perfwatch: ${join(dir, 'perfwatch-data')} is in use by another perfwatch monitor (pid ${process.pid}): give each monitor its own dataDir, or stop that process (perfwatch serve takes dataDir and storage from the JSON file of --config: {"dataDir": "/var/lib/perfwatch"}, or {"storage": "memory"})\n`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('answers a missing value, a stray argument or a bad number with one line naming the flag, what it takes and what it got', async () => {
    const usage = async (args: string[], line: string): Promise<void> => {
      const failed = await cli(...args).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(failed, args.join(' ')).toMatchObject({ code: 2 });
      expect(failed!.stderr, args.join(' ')).toBe(`perfwatch: ${line}\n`);
    };
    await usage(['serve', '--interval'], '--interval must be followed by an integer number of ms from 1000 to 300000, got nothing');
    await usage(['serve', '--hub'], '--hub must be followed by a Unix socket path, got nothing');
    await usage(['serve', '--interval', '--hub', 'x'], '--interval must be followed by an integer number of ms from 1000 to 300000, got the flag --hub');
    await usage(['serve', '--http', '-1'], '--http must be an integer from 0 to 65535, got "-1"');
    await usage(['serve', 'extra-arg'], 'serve takes no positional arguments, got "extra-arg"; see perfwatch serve --help');
    await usage(['serve', '--interval', 'abc'], '--interval must be an integer number of ms from 1000 to 300000, got "abc"');
    await usage(['mcp', '--interval', '1e3'], '--interval must be an integer number of ms from 1000 to 300000, got "1e3"');
    await usage(['serve', '--every', '0'], '--every must be an integer number of seconds from 1 to 3600, got "0"');
    await usage(['serve', '--intervall', '2000'], 'serve has no option --intervall (did you mean --interval?); see perfwatch serve --help');
    await usage(['mcp', '--no-start=yes'], '--no-start is a switch and takes no value, got "yes"');
    // A flag of a server not asked for: refused, not ignored.
    await usage(['serve', '--mcp-host', '0.0.0.0'], '--mcp-host goes with --mcp-http (the port it serves MCP on)');
    await usage(['serve', '--http-host', '0.0.0.0', '--mcp-http', '0'], '--http-host goes with --http (the port it serves on)');
    await usage(['serve', '--mcp-allow-state-changes'], '--mcp-allow-state-changes goes with --mcp-http or --http (the MCP endpoint it opens up)');
  });

  it('names an unknown key of a --config file, with the option a typo meant', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'perfwatch-cli-config-'));
    try {
      const file = join(dir, 'typo.json');
      writeFileSync(file, JSON.stringify({ storage: 'memory', colectionIntervalMs: 2000 }));
      await expect(cli('report', '--for', '1', '--config', file)).rejects.toMatchObject({
        code: 2,
        stderr: 'perfwatch: --config: colectionIntervalMs is not a known option; did you mean collectionIntervalMs?\n',
      });
      writeFileSync(file, JSON.stringify({ storage: 'memory', system: { enabled: 'yes' } }));
      await expect(cli('report', '--for', '1', '--config', file)).rejects.toMatchObject({ code: 2, stderr: 'perfwatch: --config: system.enabled must be true or false\n' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('report --url prints the report of a running monitor through its MCP endpoint', async () => {
    const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    await monitor.start();
    const server = await monitor.serveMcp({ port: 0 });
    try {
      for (let i = 1; i <= 4; i++) monitor.record('report_latency', i * 10, { route: '/r' });
      await monitor.flush();
      const { stdout } = await cli('report', '--url', server.url, '--metrics', 'report_latency');
      expect(stdout).toMatch(/^perfwatch report — .* — http:\/\/127\.0\.0\.1:\d+\/mcp$/m);
      expect(stdout).toMatch(/^monitor running/m);
      expect(stdout).toMatch(/^report_latency\{route="\/r"\} 25 {2}p50 /m);
      expect(stdout).toMatch(/^report_latency\{route="\/r"\} .* n=4$/m);
      // Each run deletes its session on the way out: left to expire (15 minutes), 100 runs
      // (maxSessions) made the endpoint refuse every client.
      expect(server.status().sessions.count).toBe(0);
      const json = JSON.parse((await cli('report', '--url', server.url, '--format', 'json', '--metrics', 'report_latency')).stdout);
      expect(server.status().sessions.count).toBe(0);
      // A name no series has is an error naming the nearest, not an empty list.
      await expect(cli('report', '--url', server.url, '--metrics', 'report_latncy')).rejects.toMatchObject({
        code: 2,
        stderr: 'perfwatch: --metrics: "report_latncy" is not a known metric; the nearest known: report_latency, error_rate, memory_usage\n',
      });
      expect(json.metrics.metrics).toMatchObject([{ name: 'report_latency', total_count: 4, mean: 25, min: 10, max: 40 }]);
      expect(json.status).toMatchObject({ state: 'running' });
    } finally {
      await server.close();
      await monitor.stop();
    }
    await expect(cli('report', '--url', server.url)).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot reach an MCP endpoint/) });
  });

  it('profile and report --url say why an endpoint cannot be reached, not only "fetch failed"', async () => {
    // A port nothing listens on: one the system gave and took back.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const url = `http://127.0.0.1:${port}/mcp`;
    for (const command of ['profile', 'report']) {
      await expect(cli(command, '--url', url)).rejects.toMatchObject({
        code: 2,
        stderr: `perfwatch: cannot reach an MCP endpoint at ${url}: fetch failed (connect ECONNREFUSED 127.0.0.1:${port})\n`,
      });
    }
  });

  it('profile and report --url say that a server which answered is not an MCP endpoint, and where one is', async () => {
    // A web server on the port (the service itself, say, rather than its monitor's endpoint).
    const web = createHttpServer((req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>hello</html>'));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(web.address() as AddressInfo).port}/`;
    try {
      for (const command of ['profile', 'report']) {
        await expect(cli(command, '--url', url)).rejects.toMatchObject({
          code: 2,
          stderr: `perfwatch: the server at ${url} answered, but not as an MCP endpoint (Unexpected content type: text/html): --url is the monitor's MCP endpoint, the URL serveMcp() or serveHttp() gave (its path /mcp)\n`,
        });
      }
    } finally {
      await new Promise((resolve) => web.close(resolve));
    }
  });

  it('report --url says what an endpoint answered when it refuses a session, with its own message', async () => {
    const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    await monitor.start();
    const server = await monitor.serveMcp({ port: 0, maxSessions: 1 });
    const client = new Client({ name: 'holder', version: '1.0.0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
      // The holder's stream keeps its session busy: an idle one would make room for the run.
      await waitFor(() => server.status().sessions.busy === 1, 10_000, "the holder's stream to open");
      await expect(cli('report', '--url', server.url)).rejects.toMatchObject({
        code: 2,
        stderr: `perfwatch: the MCP endpoint at ${server.url} answered HTTP 503: Service Unavailable: 1 session is open, the limit (maxSessions), with a request in progress or a stream whose client sent a request less than sessionStreamIdleMs (300,000 ms) ago; retry later, or reuse a session\n`,
      });
    } finally {
      await client.close();
      await server.close();
      await monitor.stop();
    }
  });

  it('serve on a port in use says so in one line naming the flag, and the library names the port option', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      for (const flag of ['--http', '--mcp-http']) {
        await expect(cli('serve', flag, String(port))).rejects.toMatchObject({
          code: 2,
          stderr: `perfwatch: ${flag} ${port} on 127.0.0.1 is in use by another process: choose another port (0: any free one)\n`,
        });
      }
      const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
      await expect(monitor.serveHttp({ port })).rejects.toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'port' });
      await expect(monitor.serveMcp({ port })).rejects.toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'port' });
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  it('serve on an address beyond loopback without PERFWATCH_TOKEN names the host flag and the variable, not an option the CLI has not', async () => {
    // It said "token is required …: set the token option or PERFWATCH_TOKEN": the CLI has no
    // token option, and the flag that asked for it went unnamed.
    const env = { ...process.env, PERFWATCH_TOKEN: '' };
    for (const [port, host] of [['--http', '--http-host'], ['--mcp-http', '--mcp-host']]) {
      await expect(run(process.execPath, [CLI, 'serve', port!, '0', host!, '0.0.0.0', '--config', quietConfig()], { timeout: 60_000, env })).rejects.toMatchObject({
        code: 2,
        stderr: `perfwatch: ${host} "0.0.0.0" is not a loopback address: its clients must send a token, so set PERFWATCH_TOKEN to one of 16 to 4096 characters (for example: openssl rand -hex 32)\n`,
      });
    }
  });

  it('serve with --http and --mcp-http on one port says that --http serves /mcp already, not that another process holds it', async () => {
    // The second server failed on the port the first had just taken, and the error blamed "another process".
    await expect(cli('serve', '--http', '39466', '--mcp-http', '39466', '--config', quietConfig())).rejects.toMatchObject({
      code: 2,
      stderr: 'perfwatch: --mcp-http 39466 is the port of --http, whose server serves the MCP tools at /mcp too: leave --mcp-http out, or give it another port\n',
    });
  });

  it('report --url sends PERFWATCH_TOKEN to an endpoint that has a token', async () => {
    const token = 'cli-token-0123456789abcdef';
    const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    await monitor.start();
    const server = await monitor.serveMcp({ port: 0, token });
    try {
      const withToken = (value: string) => run(process.execPath, [CLI, 'report', '--url', server.url, '--metrics', 'rss'], { timeout: 60_000, env: { ...process.env, PERFWATCH_TOKEN: value } });
      expect((await withToken(token)).stdout).toMatch(/^monitor running/m);
      // Reached, and refused: the message says what to give, not that nothing is there.
      await expect(withToken('')).rejects.toMatchObject({ code: 2, stderr: `perfwatch: the MCP endpoint at ${server.url} refused the request, 401 (Error POSTing to endpoint: {"error":"invalid_token","error_description":"Missing Authorization header"}): give its token with --token or PERFWATCH_TOKEN\n` });
    } finally {
      await server.close();
      await monitor.stop();
    }
  });

  it('report --token sends that token to an endpoint that requires one, over PERFWATCH_TOKEN', async () => {
    const token = 'cli-flag-token-0123456789abcdef';
    const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    await monitor.start();
    const server = await monitor.serveMcp({ port: 0, token });
    try {
      const env = (value?: string) => {
        const e: NodeJS.ProcessEnv = { ...process.env };
        delete e.PERFWATCH_TOKEN;
        return value === undefined ? e : { ...e, PERFWATCH_TOKEN: value };
      };
      const report = (args: string[], value?: string) => run(process.execPath, [CLI, 'report', '--url', server.url, '--metrics', 'rss', ...args], { timeout: 60_000, env: env(value) });
      // No variable at all: the flag alone.
      expect((await report(['--token', token])).stdout).toMatch(/^monitor running/m);
      // The flag wins over the variable, both ways.
      expect((await report(['--token', token], 'wrong-token-0123456789')).stdout).toMatch(/^monitor running/m);
      await expect(report(['--token', 'wrong-token-0123456789'], token)).rejects.toMatchObject({ code: 2, stderr: `perfwatch: the MCP endpoint at ${server.url} refused the request, 401 (Unauthorized): give its token with --token or PERFWATCH_TOKEN\n` });
      await expect(report([])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/refused the request, 401 .*give its token with --token or PERFWATCH_TOKEN/) });
    } finally {
      await server.close();
      await monitor.stop();
    }
    // A token is for --url: a monitor run here (--for) has no endpoint to send it to.
    await expect(cli('report', '--for', '1', '--token', token)).rejects.toMatchObject({ code: 2, stderr: 'perfwatch: --token goes with --url (the endpoint that requires it), not --for\n' });
  });

  it('report --config goes with --for: with --url, whose monitor has its own options, it is refused, not ignored', async () => {
    // The options of a running monitor are its own: a file given with --url was read by nothing,
    // and the report said nothing of it.
    await expect(cli('report', '--url', 'http://127.0.0.1:9/mcp', '--config', quietConfig())).rejects.toMatchObject({
      code: 2,
      stderr: 'perfwatch: --config goes with --for (the options of the monitor run here), not --url (a running monitor has its own)\n',
    });
  });

  it('mcp --config-dir must name a directory', async () => {
    await expect(cli('mcp', '--config-dir', '/no/such/dir')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--config-dir must name a directory, got \/no\/such\/dir/) });
  });

  it('report --for runs a monitor of this machine, counting down on stderr, and reports its own metrics', async () => {
    const { stdout, stderr } = await cli('report', '--for', '2', '--format', 'json', '--config', quietConfig());
    // Not a terminal here: one line a second, on stderr; stdout holds the report alone.
    expect(stderr).toBe('perfwatch report: monitoring this machine, 2 s left\nperfwatch report: monitoring this machine, 1 s left\n');
    const json = JSON.parse(stdout);
    expect(json.status).toMatchObject({ state: 'running' });
    expect(json.metrics.metrics.map((m: { name: string }) => m.name)).toContain('heap_used');
  });

  it('bench measures recording and checks that nothing was lost', async () => {
    const { stdout } = await cli('bench', '--samples', '100000');
    expect(stdout).toMatch(/^\| handle\.record\(v\) \| [\d.]+ \|$/m);
    expect(stdout).toMatch(/^\| end to end through the collector, 100000 samples a pass \| [\d.]+ \|$/m);
    expect(stdout).toMatch(/zero loss \(overflow 'block'\): yes, all 1600000 samples recorded are in the store/); // the handle cases, by name and batches, each warm-up and 3 passes
  });

  it('serve --http prints its address, serves /metrics there, and stops cleanly on SIGINT', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--http', '0', '--config', quietConfig()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    const url = await new Promise<string>((resolve) => child.stdout.on('data', (c: string) => ((out += c), /dashboard at (http:\/\/127\.0\.0\.1:\d+\/) /.exec(out) && resolve(/dashboard at (\S+) /.exec(out)![1]!))));
    expect(out).toMatch(/MCP at http:\/\/127\.0\.0\.1:\d+\/mcp; no token: read-only\)/);
    const scrape = await fetch(new URL('metrics', url));
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const code = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await code).toBe(0);
  });

  it('ends with 1, saying it once, when its output cannot be written (stdout a full disk, /dev/full)', async () => {
    const full = openSync('/dev/full', 'w');
    const child = spawn(process.execPath, [CLI, '--help'], { stdio: ['ignore', full, 'pipe'] });
    closeSync(full);
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(stderr.match(/cannot write to stdout: ENOSPC/g)).toHaveLength(1);
    expect(code).toBe(1);
  });

  it('report --for stops its monitor at Ctrl-C before it ends: the dataDir unlocked, and the next monitor finds no unclean end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-cli-sigint-'));
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ storage: 'sqlite', dataDir: join(dir, 'data'), system: { enabled: false } }));
    const child = spawn(process.execPath, [CLI, 'report', '--for', '120', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const code = new Promise((resolve) => child.once('exit', (c, signal) => resolve(c ?? signal)));
    // Started: its monitor holds the dataDir's lock.
    await waitFor(() => existsSync(join(dir, 'data', 'perfwatch.lock')), 30_000, 'the run to start');
    child.kill('SIGINT');
    expect(await code).toBe(130);
    expect(stderr).toMatch(/SIGINT, stopping the monitor/);
    expect(existsSync(join(dir, 'data', 'perfwatch.lock'))).toBe(false);
    const next = new PerformanceMonitor({ storage: 'sqlite', dataDir: join(dir, 'data'), system: { enabled: false } });
    await next.start();
    expect(next.status().faults.byKind['storage-unclean']).toBeUndefined();
    await next.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serve stops quietly with 0 when the reader of its output goes away (perfwatch serve | head)', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--every', '1', '--config', quietConfig()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const code = new Promise((resolve) => child.once('exit', resolve));
    await new Promise((resolve) => child.stdout.once('data', resolve));
    // As head does after its lines: the pipe's read end closes, the next row written is an EPIPE.
    child.stdout.destroy();
    const timeout = new Promise((resolve) => setTimeout(() => resolve('running'), 20_000).unref());
    expect(await Promise.race([code, timeout])).toBe(0);
    expect(stderr).toBe('');
    child.kill('SIGKILL');
  });

  it('bench exits with 1, saying what is missing, when a sample it recorded is not in the store', async () => {
    const lossy = fileURLToPath(new URL('./fixtures/bench-lose.mjs', import.meta.url));
    const failed = run(process.execPath, ['--import', lossy, CLI, 'bench', '--samples', '100000'], { timeout: 60_000 });
    await expect(failed).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/zero loss \(overflow 'block'\): NO: handle cases 799999 of 800000, record\(name, v, \{ route \}\) 400000 of 400000, recordBatch 400000 of 400000 in the store, 0 dropped/),
      stderr: expect.stringMatching(/perfwatch bench: samples recorded are missing from the store/),
    });
  });

  it('serve --mcp-http stops cleanly on SIGINT', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--mcp-http', '0', '--config', quietConfig()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    await new Promise<void>((resolve) => child.stdout.on('data', (c: string) => ((out += c), /MCP over Streamable HTTP/.test(out) && resolve())));
    const code = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await code).toBe(0);
  });
});
