/**
 * The perfwatch version: package.json's, read once where the build sits (dist/src → the
 * package root), so that the MCP server's announcement, `perfwatch --version` and a producer
 * handle (engine/producer.ts) say the release that runs, with no copy to keep in step.
 *
 * Read at load by the library's entry, so a read that fails is no throw: a service that
 * bundled perfwatch (esbuild without --external:perfwatch) has no package.json beside its
 * bundle, and its import threw ENOENT before start() could say what to do
 * (test/bundled.test.ts).
 */
import { readFileSync } from 'node:fs';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const VERSION: string = packageVersion();
