/**
 * The real programs the tests talk to ("peers"), each from a Debian package. A peer with
 * `serve` is a service that the test run starts once, on a free loopback port; one without it
 * is a program the tests run themselves (its path is what they get). Adding a peer is adding
 * an entry here; test/peers/setup.ts provides it and test/peers/use.ts hands it to a suite.
 */
import { fileURLToPath } from 'node:url';

export interface PeerSpec {
  /** The Debian package that carries it (installed with apt-get when missing). */
  debianPackage: string;
  /** Names the program goes by, first found wins. */
  binaries: string[];
  /** An environment variable that, when set, points at a running instance to use instead. */
  env?: string;
  /** How to run it as a service on 127.0.0.1:port, with `dir` as its scratch directory. */
  serve?: { args(port: number, dir: string): string[]; readyPath: string };
}

export const PEERS = {
  alertmanager: {
    debianPackage: 'prometheus-alertmanager',
    binaries: ['prometheus-alertmanager', 'alertmanager'],
    env: 'PERFWATCH_ALERTMANAGER_URL',
    serve: {
      args: (port, dir) => [
        `--config.file=${fileURLToPath(new URL('../alertmanager.yml', import.meta.url))}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--storage.path=${dir}`,
        '--cluster.listen-address=',
      ],
      readyPath: '/-/ready',
    },
  },
  // Programs the tests run themselves: promtool checks /metrics, and a Prometheus server per
  // test scrapes it (its scrape target is the test's own server, so it is not shared).
  promtool: {
    debianPackage: 'prometheus',
    binaries: ['promtool'],
  },
  prometheus: {
    debianPackage: 'prometheus',
    binaries: ['prometheus'],
  },
  // The preload library that steps the wall clock of one process (libfaketime, read from a
  // file the test writes), for the test of the monitor's clock across a step back.
  libfaketime: {
    debianPackage: 'libfaketime',
    binaries: ['/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1'],
  },
  // The browser the dashboard test drives (playwright-core over CDP; never a downloaded one).
  chromium: {
    debianPackage: 'chromium',
    binaries: ['chromium', 'chromium-browser'],
  },
} satisfies Record<string, PeerSpec>;

export type PeerName = keyof typeof PEERS;

/** What a suite gets: where the peer is, or why it is not there (broken: there, but not working). */
export type Peer = { url: string | null; binary: string } | { missing: string; broken?: true };

declare module 'vitest' {
  export interface ProvidedContext {
    peers: Record<string, Peer>;
  }
}
