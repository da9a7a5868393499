/**
 * vitest globalSetup: provides every peer of the catalog for the whole run, so that `npm test`
 * needs nothing installed beforehand. A peer whose environment variable is set is used as
 * given; otherwise its program is looked up, installed from its Debian package when missing
 * (only as root with apt-get: a developer's machine is never changed behind their back) and,
 * for a service, started on a free loopback port until the run ends. What could not be
 * provided is handed to the suites as a reason, which they show when they skip (or fail,
 * under CI=true: see use.ts).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { PEERS, type Peer, type PeerSpec } from './catalog.js';

const run = promisify(execFile);
const READY_MS = 30_000;

async function which(binary: string): Promise<string | undefined> {
  try {
    return (await run('sh', ['-c', `command -v ${binary}`])).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

async function findBinary(spec: PeerSpec): Promise<string | undefined> {
  for (const b of spec.binaries) {
    const path = await which(b);
    if (path) return path;
  }
  return undefined;
}

/** apt-get install, with an update first only when the package index does not know it. */
async function aptInstall(pkg: string): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt-get on this machine (a parallel run) holds the lock for a while: wait for it.
  const install = () => run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '-q', '--no-install-recommends', pkg], { env, maxBuffer: 64 << 20 });
  try {
    await install();
  } catch {
    await run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update', '-q'], { env, maxBuffer: 64 << 20 });
    await install();
  }
}

async function provideBinary(name: string, spec: PeerSpec): Promise<{ binary: string } | { missing: string }> {
  const found = await findBinary(spec);
  if (found) return { binary: found };
  const root = process.getuid?.() === 0;
  const apt = await which('apt-get');
  const how = `install it (apt-get install ${spec.debianPackage})${spec.env ? ` or set ${spec.env} to a running one` : ''}`;
  if (!root || !apt) return { missing: `needs Debian's ${spec.debianPackage}, which is not installed and this run cannot install (${!apt ? 'no apt-get' : 'not root'}): ${how}` };
  process.stderr.write(`test peers: installing ${spec.debianPackage} for ${name} (apt-get)…\n`);
  try {
    await aptInstall(spec.debianPackage);
  } catch (error) {
    return { missing: `needs Debian's ${spec.debianPackage}; apt-get install failed: ${String((error as Error).message).slice(0, 500)}` };
  }
  const installed = await findBinary(spec);
  return installed ? { binary: installed } : { missing: `apt-get installed ${spec.debianPackage} but none of ${spec.binaries.join(', ')} is on PATH` };
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

async function waitReady(url: string, child?: ChildProcess): Promise<string | undefined> {
  const deadline = Date.now() + READY_MS;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return undefined;
    } catch {
      // not listening yet
    }
    if (child && child.exitCode !== null) return `exited with code ${child.exitCode}`;
    if (Date.now() > deadline) return `not ready at ${url} after ${READY_MS / 1000} s`;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Started {
  child: ChildProcess;
  dir: string;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: Started[] = [];
  const peers: Record<string, Peer> = {};
  for (const [name, spec] of Object.entries(PEERS) as [string, PeerSpec][]) {
    const given = spec.env ? process.env[spec.env] : undefined;
    if (given) {
      const problem = spec.serve ? await waitReady(`${given}${spec.serve.readyPath}`) : undefined;
      peers[name] = problem ? { missing: `${spec.env}=${given}: ${problem}`, broken: true } : { url: given, binary: '' };
      continue;
    }
    const got = await provideBinary(name, spec);
    if ('missing' in got) {
      peers[name] = got;
      continue;
    }
    if (!spec.serve) {
      peers[name] = { url: null, binary: got.binary };
      continue;
    }
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), `perfwatch-peer-${name}-`));
    const log = openSync(join(dir, 'peer.log'), 'w');
    const child = spawn(got.binary, spec.serve.args(port, dir), { stdio: ['ignore', log, log] });
    closeSync(log);
    started.push({ child, dir });
    const url = `http://127.0.0.1:${port}`;
    const problem = await waitReady(`${url}${spec.serve.readyPath}`, child);
    if (problem) {
      const tail = readFileSync(join(dir, 'peer.log'), 'utf8').slice(-1000);
      peers[name] = { missing: `${got.binary} ${problem}: ${tail}`, broken: true };
      continue;
    }
    process.stderr.write(`test peers: ${name} (${got.binary}) at ${url}\n`);
    peers[name] = { url, binary: got.binary };
  }
  for (const [name, peer] of Object.entries(peers)) {
    if ('missing' in peer) process.stderr.write(`test peers: ${name} unavailable, its tests ${process.env.CI === 'true' || 'broken' in peer ? 'fail' : 'are skipped'}: ${peer.missing}\n`);
  }
  project.provide('peers', peers);
  return async () => {
    for (const { child, dir } of started) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
