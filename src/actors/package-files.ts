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
 * thread. A file is perfwatch's when the code asking for it is in perfwatch's package (this
 * module is that package's dist/src/actors/package-files.js, the package being the folder of
 * the nearest package.json above it, as Node finds a module's package; found once a process,
 * nothing run) and the file is inside that package's folder. The package's layout decides, not
 * its name: a copy published under a scope, as a private registry such as GitHub Packages
 * requires (@acme/perfwatch), refused every file of its own when the name had to be "perfwatch"
 * (a trial), its every start() and serveHttp() failing with advice about a bundler it did not use.
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

/** Where this module is in perfwatch's package, as built (tsc's outDir dist, rootDir the package). */
const OWN_PATH = join('dist', 'src', 'actors', 'package-files.js');

/**
 * The package this module is in: the folder of the nearest package.json above it, when this
 * module is that folder's dist/src/actors/package-files.js. Beside a bundle the code is the
 * bundle's file, and the nearest package.json the service's. Found once a process; the
 * package.json's text is only parsed, for its name in the reason.
 */
function packageRoot(): PackageRoot {
  if (found !== undefined) return found;
  let result: PackageRoot | undefined;
  const self = fileURLToPath(import.meta.url);
  let dir = dirname(self);
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      result = relative(dir, self) === OWN_PATH ? { root: dir } : { why: `the code that asks for it, ${self}, is not perfwatch's ${OWN_PATH} in the folder of the nearest package.json above it, ${file} (${nameOf(file)})` };
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

/** A package.json's name as a reason shows it: `named "app"`, or unnamed. */
function nameOf(file: string): string {
  let name: unknown;
  try {
    name = (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown } | null)?.name;
  } catch {
    name = undefined;
  }
  return typeof name === 'string' ? `named ${JSON.stringify(name)}` : 'unnamed';
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
