import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'contracts/src/**/*.test.ts',
      'services/*/src/**/*.test.ts',
      'services/ingest/studio/src/**/*.test.ts',
      'tools/src/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The shared end-to-end stack's broker (it starts the stack only when a file asks for it).
    globalSetup: ['tools/src/e2e/shared-stack.global.ts'],
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './tools/src/vitest-summary.ts'],
  },
});
