/**
 * comlink's Node adapter as a typed function. The package ships it as UMD whose
 * `module.exports` is the function itself, while its .d.ts declares a default export, so
 * TypeScript's view of an ESM default import (the whole module) and Node's differ.
 */
import * as Comlink from 'comlink';
import adapter from 'comlink/dist/umd/node-adapter.js';

import type { MessagePort, Worker } from 'node:worker_threads';

export const nodeEndpoint = adapter as unknown as (port: MessagePort | Worker) => Comlink.Endpoint;
