/**
 * A benchmark's server in a child process of its own, driven over IPC: the child sends
 * `{ port }` once it listens, then answers each `{ id, cmd, ...args }` with `{ id, ok, value }`
 * or `{ id, ok: false, error }`. Used by bench:instrument and bench:capture.
 */
import { fork, type ChildProcess } from 'node:child_process';

export interface RunningServer {
  child: ChildProcess;
  url: string;
  /** Sends an IPC command (see the server script's commands) and resolves with its answer. */
  call(cmd: string, args?: Record<string, unknown>): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Forks `script` with `args` and resolves once it listens; `name` is for its exit error.
 * With `cpus` (a taskset CPU list) the child and every thread it starts run only there.
 */
export async function forkServer(script: URL, args: string[], name: string, cpus?: string): Promise<RunningServer> {
  const pinned = cpus === undefined ? {} : { execPath: 'taskset', execArgv: ['-c', cpus, process.execPath, ...process.execArgv] };
  const child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...pinned });
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let seq = 0;
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    child.on('message', (m: { port?: number; id?: number; ok?: boolean; value?: unknown; error?: string }) => {
      if (m.port !== undefined) return resolve(m.port);
      const w = waiting.get(m.id!);
      waiting.delete(m.id!);
      if (m.ok) w?.resolve(m.value);
      else w?.reject(new Error(m.error));
    });
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    call: (cmd, callArgs = {}) =>
      new Promise((resolve, reject) => {
        const id = ++seq;
        waiting.set(id, { resolve, reject });
        child.send({ id, cmd, ...callArgs });
      }),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}
