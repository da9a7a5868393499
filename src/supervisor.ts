/**
 * Supervision of one worker-thread actor: start it, talk to it over comlink, and restart it
 * when it exits unexpectedly or stops beating. The actor's state that matters lives in
 * shared memory, so a restart is a fresh worker over the same buffers.
 *
 * Control calls made while the actor is down wait for the next one; a call in flight when
 * the actor dies fails with ActorError, or is retried once on the successor when the caller
 * says it is safe to repeat.
 */
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { ActorError } from './errors.js';
import { nodeEndpoint } from './comlink-node.js';

export type ActorState = 'stopped' | 'starting' | 'running' | 'restarting';

export interface ActorExit {
  actor: string;
  code: number;
  error?: Error;
  restarts: number;
}

export interface ActorEvents<Api = unknown> {
  exit(info: ActorExit): void;
  restart(info: { actor: string; restarts: number; downMs: number }): void;
  /** Runs on each new worker before calls reach it: hand it its state (rules, subscriptions). */
  ready?(remote: Comlink.Remote<Api>): Promise<void>;
}

interface Instance<Api> {
  worker: Worker;
  remote: Comlink.Remote<Api>;
  exited: Promise<never>;
}

/** Restart delays: quick at first, then at most one second apart. */
const RESTART_DELAYS_MS = [20, 100, 250, 500, 1000];

export class Supervisor<Api extends { ready(): unknown; stop(): Promise<void> }> {
  readonly name: string;
  state: ActorState = 'stopped';
  restarts = 0;
  lastExit: ActorExit | undefined;
  private readonly url: URL;
  private readonly data: () => unknown;
  private readonly events: ActorEvents<Api>;
  private instance: Instance<Api> | undefined;
  private current: Promise<Instance<Api>> | undefined;
  private recentRestarts: number[] = [];

  constructor(name: string, url: URL, data: () => unknown, events: ActorEvents<Api>) {
    this.name = name;
    this.url = url;
    this.data = data;
    this.events = events;
  }

  async start(): Promise<void> {
    if (this.state !== 'stopped') return;
    this.state = 'starting';
    this.current = this.spawn();
    await this.current;
  }

  /** The running actor's worker (for status and tests). */
  worker(): Worker | undefined {
    return this.instance?.worker;
  }

  /**
   * Runs a control call on the actor. When the actor dies during the call, `retry` says
   * whether to run it again on the successor.
   */
  async call<T>(fn: (remote: Comlink.Remote<Api>) => Promise<T>, retry = false): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (!this.current || this.state === 'stopped') throw new ActorError(this.name, 'is not running');
      const instance = await this.current;
      try {
        return await Promise.race([fn(instance.remote), instance.exited]);
      } catch (error) {
        if (!(error instanceof ActorError) || !retry || attempt > 0 || (this.state as ActorState) === 'stopped') throw error;
      }
    }
  }

  /** Replaces a stuck actor (the heartbeat stopped). */
  async replace(reason: string): Promise<void> {
    const instance = this.instance;
    if (!instance || this.state !== 'running') return;
    this.lastExit = { actor: this.name, code: -1, error: new ActorError(this.name, reason), restarts: this.restarts };
    await instance.worker.terminate();
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const pending = this.current;
    this.state = 'stopped';
    this.current = undefined;
    const instance = await pending?.catch(() => undefined);
    if (!instance) return;
    try {
      await Promise.race([instance.remote.stop(), instance.exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    } catch {
      // it died while stopping: nothing left to stop
    }
    instance.remote[Comlink.releaseProxy]();
    await instance.worker.terminate();
    this.instance = undefined;
  }

  private async spawn(): Promise<Instance<Api>> {
    for (;;) {
      const worker = new Worker(this.url, { workerData: this.data() });
      worker.unref();
      let failure: Error | undefined;
      worker.on('error', (error) => {
        failure = error;
      });
      const exited = new Promise<never>((_, reject) => {
        worker.once('exit', (code) => {
          reject(new ActorError(this.name, `exited with code ${code}${failure ? `: ${failure.message}` : ''}`));
          if (this.instance?.worker === worker) this.instance = undefined;
          if (this.state === 'running' || this.state === 'starting') this.onUnexpectedExit(code, failure);
        });
      });
      exited.catch(() => {});
      const remote = Comlink.wrap<Api>(nodeEndpoint(worker));
      const instance: Instance<Api> = { worker, remote, exited };
      try {
        await Promise.race([remote.ready(), exited]);
        if (this.events.ready) await Promise.race([this.events.ready(remote), exited]);
        this.instance = instance;
        if (this.state === 'starting' || this.state === 'restarting') this.state = 'running';
        return instance;
      } catch (error) {
        remote[Comlink.releaseProxy]();
        if (this.state === 'stopped') throw error;
        // It died while starting; the exit handler counted it. Try again after a delay.
        await new Promise((resolve) => setTimeout(resolve, this.nextDelay()).unref());
      }
    }
  }

  private onUnexpectedExit(code: number, error: Error | undefined): void {
    const wasRunning = this.state === 'running';
    this.restarts++;
    const info: ActorExit = { actor: this.name, code, restarts: this.restarts };
    if (this.lastExit?.code === -1 && this.lastExit.error) info.error = this.lastExit.error;
    else if (error) info.error = error;
    this.lastExit = info;
    this.events.exit(info);
    if (!wasRunning) return; // spawn() retries by itself
    this.state = 'restarting';
    const down = Date.now();
    const delay = this.nextDelay();
    this.current = new Promise<void>((resolve) => setTimeout(resolve, delay).unref()).then(() => this.spawn());
    this.current.then(
      () => this.events.restart({ actor: this.name, restarts: this.restarts, downMs: Date.now() - down }),
      () => {},
    );
  }

  private nextDelay(): number {
    const now = Date.now();
    this.recentRestarts = this.recentRestarts.filter((t) => now - t < 10_000);
    this.recentRestarts.push(now);
    return RESTART_DELAYS_MS[Math.min(this.recentRestarts.length - 1, RESTART_DELAYS_MS.length - 1)]!;
  }
}
