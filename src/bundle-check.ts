/**
 * Fails the import of perfwatch, saying why and what to do, where its code cannot find its
 * files: a CommonJS bundle (esbuild's default for --platform=node) leaves `import.meta.url`
 * empty, and the first module that built a path from it threw Node's bare
 * `ERR_INVALID_ARG_VALUE: The argument 'filename' must be a file URL object … Received
 * undefined` from inside the bundle, at the service's require(). Imported first by the
 * package's entry, so that it runs before any of them.
 */
import { ActorError } from './errors.js';
import { BUNDLE_ADVICE } from './actors/package-files.js';

if (typeof import.meta.url !== 'string') {
  throw new ActorError('watchdog', `perfwatch cannot find its worker files from a CommonJS bundle (import.meta.url is empty there): ${BUNDLE_ADVICE}`);
}
