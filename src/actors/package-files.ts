/**
 * Where the package's own files are. Each thread of perfwatch starts from a file of its
 * package (dist/workers/*.js), and the fronts load from it (dist/src/http, dist/src/mcp),
 * found from the code that needs them (dist/src/…): a bundler (esbuild, webpack, rollup) that
 * folds perfwatch into a service's one file moves that code and not those files, so the path
 * points beside the bundle. Every thread then died at its start with MODULE_NOT_FOUND, three
 * watchdogs in a row, and start() failed with a path under the bundle's folder and no word of
 * why or what to do; serveHttp() threw Node's bare `Cannot find module '../http/index.js'`, and a
 * report failed with piscina's `__dirname is not defined`. Each now says it before it tries.
 *
 * Nor is a file there enough: the path beside a bundle is in the service's own tree, and a
 * service with an http/index.js beside its bundle's folder had that file run by serveHttp()
 * (a trial), as a workers/watchdog.js two folders up would have been started as perfwatch's
 * thread. A file is perfwatch's when the code asking for it is in perfwatch's package (the
 * nearest package.json above this module, as Node finds a module's package, is named
 * "perfwatch"; read once a process, nothing run) and the file is inside that package's folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ActorError } from '../errors.js';

/** What a service that bundled perfwatch does instead (docs/reference.md, "Bundling a service"). */
export const BUNDLE_ADVICE =
  'perfwatch starts its threads and loads its fronts from the files of its package (node_modules/perfwatch/dist/), and this copy of its code is not beside them, as when a bundler (esbuild, webpack, rollup) put perfwatch into the service\'s bundle: mark it external (esbuild --external:perfwatch, webpack externals) and ship node_modules/perfwatch with the service (docs/reference.md, "Bundling a service")';

/** The folder of perfwatch's package that holds this code, or why this code is in none. */
type PackageRoot = { root: string } | { why: string };

let found: PackageRoot | undefined;

/**
 * The package this module is in: the folder of the nearest package.json above it, when that
 * one is named "perfwatch". Its text is only parsed. Found once a process.
 */
function packageRoot(): PackageRoot {
  if (found !== undefined) return found;
  let result: PackageRoot | undefined;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      let name: unknown;
      try {
        name = (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown } | null)?.name;
      } catch {
        name = undefined;
      }
      result = name === 'perfwatch' ? { root: dir } : { why: `the nearest package.json above the code that asks for it, ${file}, is ${typeof name === 'string' ? `named ${JSON.stringify(name)}` : 'unnamed'}, not "perfwatch"` };
      break;
    }
    const up = dirname(dir);
    if (up === dir) {
      result = { why: 'no package.json is above the code that asks for it' };
      break;
    }
    dir = up;
  }
  found = result;
  return result;
}

/**
 * `url`'s path and what to do, when it is no file there or a file that is not perfwatch's
 * (outside the package of this code, or this code in no perfwatch package); undefined when it
 * is perfwatch's own file.
 */
export function missingFile(url: URL): string | undefined {
  if (url.protocol !== 'file:') return undefined;
  const path = fileURLToPath(url);
  if (!existsSync(path)) return `${path} is missing: ${BUNDLE_ADVICE}`;
  const pkg = packageRoot();
  const inside = 'root' in pkg ? relative(pkg.root, path) : undefined;
  if (inside !== undefined && inside !== '' && inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside)) return undefined;
  const why = 'root' in pkg ? `it is outside perfwatch's package, ${pkg.root}` : pkg.why;
  return `${path} is not perfwatch's own file and was not loaded (${why}): ${BUNDLE_ADVICE}`;
}

/** Throws an ActorError naming the actor and the file, and what to do, when `url` is no file there or not perfwatch's (missingFile). */
export function checkWorkerFile(actor: string, url: URL): void {
  const missing = missingFile(url);
  if (missing !== undefined) throw new ActorError(actor, `its worker file ${missing}`);
}
