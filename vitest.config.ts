import { defineConfig } from 'vitest/config';

// Tests run against the built package (dist/), the code that ships: workers are started
// from compiled files, as in production. `npm test` builds first.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The run's temporary folders in one, removed at its end (test/temp-root.ts); the real
    // services some tests talk to (Alertmanager, …), provided by the run itself.
    globalSetup: ['test/temp-root.ts', 'test/peers/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Several files start worker threads of their own; two at a time on two cores.
    maxWorkers: 2,
  },
});
