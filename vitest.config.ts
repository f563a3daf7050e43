import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real-engine suite has its own config (vitest.engines.config.ts, `npm run test:engines`).
    exclude: ['test/engines/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: integration tests spawn real processes, so keep parallelism modest.
    maxWorkers: 2,
  },
});
