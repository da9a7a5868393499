/**
 * Where the package's own files are. Each thread of perfwatch starts from a file of its
 * package (dist/workers/*.js), and the fronts load from it (dist/src/http, dist/src/mcp),
 * found from the code that needs them (dist/src/…): a bundler (esbuild, webpack, rollup) that
 * folds perfwatch into a service's one file moves that code and not those files, so the path
 * points beside the bundle. Every thread then died at its start with MODULE_NOT_FOUND, three
 * watchdogs in a row, and start() failed with a path under the bundle's folder and no word of
 * why or what to do; serveHttp() threw Node's bare `Cannot find module '../http/index.js'`, and a
 * report failed with piscina's `__dirname is not defined`. Each now says it before it tries.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ActorError } from '../errors.js';

/** What a service that bundled perfwatch does instead (docs/reference.md, "Bundling a service"). */
export const BUNDLE_ADVICE =
  'perfwatch starts its threads and loads its fronts from the files of its package (node_modules/perfwatch/dist/), and this copy of its code is not beside them, as when a bundler (esbuild, webpack, rollup) put perfwatch into the service\'s bundle: mark it external (esbuild --external:perfwatch, webpack externals) and ship node_modules/perfwatch with the service (docs/reference.md, "Bundling a service")';

/** `url`'s path and what to do, when it is no file there; undefined when it is. */
export function missingFile(url: URL): string | undefined {
  if (url.protocol !== 'file:') return undefined;
  const path = fileURLToPath(url);
  return existsSync(path) ? undefined : `${path} is missing: ${BUNDLE_ADVICE}`;
}

/** Throws an ActorError naming the actor and the missing file, and what to do, when `url` is no file there. */
export function checkWorkerFile(actor: string, url: URL): void {
  const missing = missingFile(url);
  if (missing !== undefined) throw new ActorError(actor, `its worker file ${missing}`);
}
