/**
 * comlink's Node adapter as a typed function. The package ships it as UMD whose
 * `module.exports` is the function itself, while its .d.ts declares a default export, so
 * TypeScript's view of an ESM default import (the whole module) and Node's differ.
 *
 * And `sink()`, comlink's `proxy()` for a callback an actor calls back on: comlink exposes a
 * proxy on a port of its own making, whose message listener holds the host's event loop, so a
 * host that ended its own work never exited while its monitor ran. A sink's port is unref'd:
 * it carries the actor's calls while the host lives, and keeps it alive for nothing.
 */
import * as Comlink from 'comlink';
import adapter from 'comlink/dist/umd/node-adapter.js';

import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';

export const nodeEndpoint = adapter as unknown as (port: MessagePort | Worker) => Comlink.Endpoint;

const SINK = Symbol.for('perfwatch.sink');

/** A callback passed to an actor, called back over an unref'd port (registered on each thread that imports this). */
export function sink<T extends object>(fn: T): T {
  return Object.assign(fn, { [SINK]: true });
}

type Transfer = ReturnType<Comlink.TransferHandler<object, MessagePort>['serialize']>[1][number];

const sinkHandler: Comlink.TransferHandler<object, MessagePort> = {
  canHandle: (value: unknown): value is object => (typeof value === 'function' || (typeof value === 'object' && value !== null)) && SINK in value,
  serialize(fn) {
    const { port1, port2 } = new MessageChannel();
    Comlink.expose(fn, nodeEndpoint(port1));
    port1.unref();
    return [port2, [port2 as unknown as Transfer]];
  },
  deserialize: (port) => Comlink.wrap(nodeEndpoint(port)),
};
Comlink.transferHandlers.set('perfwatch.sink', sinkHandler as Comlink.TransferHandler<unknown, unknown>);
