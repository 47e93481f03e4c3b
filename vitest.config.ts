import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // tfjs keeps one global engine per process; forks isolate test files cleanly.
    pool: 'forks',
    // One temporary directory per run, removed at its end (test/temp-root.ts).
    globalSetup: ['test/temp-root.ts'],
  },
});
