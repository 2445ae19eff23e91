import { defineConfig } from 'vitest/config';

// Two projects, one run, one pool of 2 workers:
// - `unit`: the packages' own tests (contracts, services, the studio). They run without per-file
//   isolation: a worker keeps its module cache from file to file, which saves re-importing the kit,
//   zod and the SDKs for each of ~150 files (these tests clean up after themselves; none mocks modules).
// - `e2e`: tools/ (stacks, browsers, benchmarks' helpers), each file in a fresh module graph, with the
//   shared end-to-end stack's broker as globalSetup.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './tools/src/vitest-summary.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'contracts/src/**/*.test.ts',
            'services/*/src/**/*.test.ts',
            'services/ingest/studio/src/**/*.test.ts',
          ],
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['tools/src/**/*.test.ts'],
          // The shared end-to-end stack's broker (it starts the stack only when a file asks for it).
          globalSetup: ['tools/src/e2e/shared-stack.global.ts'],
        },
      },
    ],
  },
});
