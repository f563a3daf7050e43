import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real-engine suite has its own config (vitest.engines.config.ts, `npm run test:engines`).
    exclude: ['test/engines/**', 'node_modules/**'],
    setupFiles: ['test/helpers/process-environment.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores, but integration tests mostly wait on the real processes they spawn: three files at
    // once keep both cores busy (a clean-clone run: 563 s against 599 s with two); more than that
    // times out the many-process tests.
    maxWorkers: 3,
  },
});
