/**
 * A real Alertmanager for tests: the one CI started (PERFWATCH_ALERTMANAGER_URL), or one this
 * process starts from Debian's prometheus-alertmanager on a free loopback port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RunningAlertmanager {
  url: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitReady(url: string, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/-/ready`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (child && child.exitCode !== null) throw new Error(`alertmanager exited with code ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`alertmanager at ${url} not ready after 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function useAlertmanager(): Promise<RunningAlertmanager> {
  const given = process.env.PERFWATCH_ALERTMANAGER_URL;
  if (given) {
    await waitReady(given);
    return { url: given, stop: async () => {} };
  }
  const binary = ['prometheus-alertmanager', 'alertmanager'].find((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0);
  if (!binary) {
    throw new Error('no Alertmanager: install Debian\'s prometheus-alertmanager (apt-get install prometheus-alertmanager) or set PERFWATCH_ALERTMANAGER_URL');
  }
  const port = await freePort();
  const storage = mkdtempSync(join(tmpdir(), 'perfwatch-am-'));
  const config = fileURLToPath(new URL('./alertmanager.yml', import.meta.url));
  const child = spawn(binary, [`--config.file=${config}`, `--web.listen-address=127.0.0.1:${port}`, `--storage.path=${storage}`, '--cluster.listen-address='], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, child);
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
      rmSync(storage, { recursive: true, force: true });
    },
  };
}
