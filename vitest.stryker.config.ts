import { defineConfig } from 'vitest/config';

// The tests Stryker runs against each mutant (npm run mutate): the in-process tests of the
// engine and the alert evaluator, which drive the ring consumer, sketch, store and
// evaluator on the test's own thread. Stryker switches a mutant through a global of the
// thread that runs the test; code that runs in the monitor's worker threads never sees the
// switch, so the suites that go through a started monitor cannot kill a mutant and are
// left out.
export default defineConfig({
  test: {
    include: [
      'test/ring.test.ts',
      'test/ring-full.test.ts',
      'test/sketch.test.ts',
      'test/store.test.ts',
      'test/store-pool.test.ts',
      'test/store-recover.test.ts',
      'test/store-log.test.ts',
      'test/store-minutes.test.ts',
      'test/store-pages.test.ts',
      'test/store-reads.test.ts',
      'test/alert-rules.test.ts',
      'test/alert-edges.test.ts',
      'test/query.test.ts',
      'test/report-*.test.ts',
    ],
    testTimeout: 60_000,
  },
});
