/**
 * A service with a hot function in a child process (fixtures/hot-service.mjs), driven over
 * IPC, and a load of sequential requests against it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { MonitorOptions } from '../dist/src/index.js';

export const FIXTURE = 'test/fixtures/hot-service.mjs';

/** The 1-based line where `function name` is defined in the fixture (what a profile reports). */
export function lineOf(name: string): number {
  const lines = readFileSync(FIXTURE, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(`function ${name}(`));
  if (i < 0) throw new Error(`no function ${name} in ${FIXTURE}`);
  return i + 1;
}

export interface HotService {
  port: number;
  mcpUrl: string;
  call<T = unknown>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  /** Requests path one after another until the returned stop() is called; resolves to the count sent. */
  load(path: string): () => Promise<number>;
  close(): Promise<void>;
  /** Kills the service (SIGKILL), as a crash would, and waits for its end. */
  kill(): Promise<void>;
}

/** `execArgv` is added to the child's Node options (`--inspect=127.0.0.1:0` attaches a debugger's port). */
export async function startHotService(options: MonitorOptions = {}, execArgv: string[] = []): Promise<HotService> {
  // No inlining: V8's sampling heap profiler charges what an inlined function allocates to
  // its caller (the frame it walks is the optimised caller's), so once TurboFan inlined
  // retainPlayerHistory into the request handler most of its bytes were the handler's. The
  // CPU profiler does the same with samples (docs/profiling.md); a test that wants inlining
  // passes --turbo-inlining.
  const child: ChildProcess = fork(FIXTURE, [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--no-turbo-inlining', ...execArgv] });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let seq = 0;
  const ready = new Promise<{ port: number; mcpUrl: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`hot service exited with ${code} before it was ready`)));
    child.on('message', (m: { ready?: boolean; port: number; mcpUrl: string; id?: number; ok?: boolean; value?: unknown; error?: { code: string; message: string; field?: string } }) => {
      if (m.ready) return resolve(m);
      const p = pending.get(m.id!);
      pending.delete(m.id!);
      if (m.ok) p?.resolve(m.value);
      else p?.reject(Object.assign(new Error(m.error!.message), m.error));
    });
  });
  const { port, mcpUrl } = await ready;
  // A child that dies fails what waits on it, instead of leaving the test to its timeout.
  child.once('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`hot service exited (${code ?? signal})`));
    pending.clear();
  });
  const get = (path: string): Promise<void> =>
    new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', () => resolve());
      req.end();
    });
  return {
    port,
    mcpUrl,
    call: <T>(cmd: string, args: Record<string, unknown> = {}) =>
      new Promise<T>((resolve, reject) => {
        const id = ++seq;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, cmd, ...args });
      }),
    load(path) {
      let running = true;
      let sent = 0;
      const done = (async () => {
        while (running) {
          await get(path);
          sent++;
        }
      })();
      return async () => {
        running = false;
        await done;
        return sent;
      };
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ id: ++seq, cmd: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface Debugger {
  /** Sends a Chrome DevTools protocol command; rejects with the inspector's error message. A profile comes back as { samples }. */
  send<T = unknown>(method: string, params?: object): Promise<T>;
  close(): Promise<void>;
}

/** A debugger client (fixtures/debugger-client.mjs) attached over WebSocket to the inspector at `url`. */
export async function attachDebugger(url: string): Promise<Debugger> {
  const child = fork('test/fixtures/debugger-client.mjs', [url], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--experimental-websocket', '--no-warnings'] });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let seq = 0;
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`debugger client exited with ${code}`)));
    child.on('message', (m: { ready?: boolean; id?: number; ok?: boolean; result?: unknown; error?: string }) => {
      if (m.ready) return resolve();
      const p = pending.get(m.id!);
      pending.delete(m.id!);
      if (m.ok) p?.resolve(m.result);
      else p?.reject(new Error(m.error));
    });
  });
  return {
    send: <T>(method: string, params: object = {}) =>
      new Promise<T>((resolve, reject) => {
        const id = ++seq;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, method, params });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}
