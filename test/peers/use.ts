/**
 * A suite that needs a peer: `describeWithPeer('alertmanager', 'title', (peer) => { … })`.
 * With the peer there, the suite runs with its URL and path. Without it, the suite is
 * skipped with the reason in its title (the package to install), or, under CI=true or when
 * the peer is installed but broken, fails with that reason: CI must not pass by skipping.
 */
import { describe, inject, it } from 'vitest';
import type { PeerName } from './catalog.js';

export interface ProvidedPeer {
  /** Where the service listens (null for a program the tests run themselves). */
  url: string | null;
  binary: string;
}

/** The URL of a peer that is a service; throws for a program the tests run themselves. */
export function serviceUrl(peer: ProvidedPeer): string {
  if (peer.url === null) throw new Error(`${peer.binary} is a program, not a service with a URL`);
  return peer.url;
}

export function describeWithPeer(name: PeerName, title: string, body: (peer: ProvidedPeer) => void): void {
  const peer = inject('peers')[name];
  if (peer === undefined) throw new Error(`no peer "${name}" in test/peers/catalog.ts`);
  if (!('missing' in peer)) {
    describe(title, () => body(peer));
    return;
  }
  if (process.env.CI === 'true' || 'broken' in peer) {
    describe(title, () => {
      it(`has ${name}`, () => {
        throw new Error(`${name} ${peer.missing}`);
      });
    });
    return;
  }
  describe.skip(`${title} (skipped: ${name} ${peer.missing})`, () => body({ url: null, binary: '' }));
}
