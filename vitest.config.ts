import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // The cluster tests start a real Kubernetes node (root, minutes): npm run test:cluster.
    exclude: ['test/cluster/**', '**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests share one PostgreSQL and Redis; each file makes its own database and key prefix.
    fileParallelism: true,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
