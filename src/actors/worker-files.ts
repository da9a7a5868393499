/**
 * Where the threads' code is. Each thread of perfwatch starts from a file of its package
 * (dist/workers/*.js), found from the code that starts it (dist/src/…): a bundler (esbuild,
 * webpack, rollup) that folds perfwatch into a service's one file moves that code and not the
 * workers, so the path points beside the bundle. Every thread then died at its start with
 * MODULE_NOT_FOUND, three watchdogs in a row, and start() failed with a path under the
 * bundle's folder and no word of why or what to do. start() now says it before any thread is
 * made.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ActorError } from '../errors.js';

/** What a service that bundled perfwatch does instead (docs/reference.md, "Bundling a service"). */
export const BUNDLE_ADVICE =
  'perfwatch starts its threads from the files of its package (node_modules/perfwatch/dist/workers/), and this copy of its code is not beside them, as when a bundler (esbuild, webpack, rollup) put perfwatch into the service\'s bundle: mark it external (esbuild --external:perfwatch, webpack externals) and ship node_modules/perfwatch with the service (docs/reference.md, "Bundling a service")';

/** Throws an ActorError naming the actor and the missing file, and what to do, when `url` is no file there. */
export function checkWorkerFile(actor: string, url: URL): void {
  if (url.protocol !== 'file:') return;
  const path = fileURLToPath(url);
  if (!existsSync(path)) throw new ActorError(actor, `its worker file ${path} is missing: ${BUNDLE_ADVICE}`);
}
