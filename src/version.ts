/**
 * The perfwatch version: package.json's, read once where the build sits (dist/src → the
 * package root), so that the MCP server's announcement and `perfwatch --version` say the
 * release that runs, with no copy to keep in step.
 */
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export const VERSION: string = pkg.version;
