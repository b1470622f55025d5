import { defineConfig } from 'vitest/config';

// The tests that run on the local node (make test-cluster): one file at a time, since each starts
// and stops the one node, with the long timeouts a first build needs.
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60 * 60_000,
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
