/**
 * Where a hub cannot listen (docs/cluster.md): an error naming the path, the field and what is
 * wrong, never Node's own `listen EACCES: permission denied`, which it says for a folder that
 * does not exist too.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, PerformanceMonitor } from '../dist/src/index.js';
import { hubNodes } from './hub-helpers.js';

const nodes = hubNodes();

async function startError(listen: string): Promise<{ error: InvalidArgumentError; state: string }> {
  const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, hub: { listen } });
  const error = await m.start().then(
    () => {
      throw new Error('expected start() to fail');
    },
    (e: InvalidArgumentError) => e,
  );
  return { error, state: m.status().state };
}

describe('a hub that cannot listen', () => {
  it('in a folder that does not exist, or under a file: names the path, the field and the folder', async () => {
    const dir = dirname(nodes.socketPath());
    const missing = await startError(join(dir, 'nope', 'hub.sock'));
    expect(missing.error).toBeInstanceOf(InvalidArgumentError);
    expect(missing.error).toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'hub.listen' });
    expect(missing.error.message).toBe(`hub.listen ${join(dir, 'nope', 'hub.sock')}: its folder ${join(dir, 'nope')} does not exist: create it or choose another path`);
    expect(missing.state).toBe('stopped');
    writeFileSync(join(dir, 'plain'), '');
    const under = await startError(join(dir, 'plain', 'hub.sock'));
    expect(under.error).toMatchObject({ field: 'hub.listen', message: `hub.listen ${join(dir, 'plain', 'hub.sock')}: ${join(dir, 'plain')} is not a folder: choose another path` });
  });
});
