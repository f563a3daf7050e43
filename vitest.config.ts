import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real-engine suite has its own config (vitest.engines.config.ts, `npm run test:engines`).
    exclude: ['test/engines/**', 'node_modules/**'],
    setupFiles: ['test/helpers/process-environment.ts'],
    // Most tests start processes (the CLI, gateways, engines), which the house rule gives 90 s: a
    // shuffled integration run at load 13-20 on the two cores failed tests with no timeout of their
    // own at the 30 s default (classify-cli, permit-cli, route-first-tokens, run-evidence), each
    // CLI process there taking 5-10 s to start and end.
    testTimeout: 90_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores, but integration tests mostly wait on the real processes they spawn: three files at
    // once keep both cores busy (a clean-clone run: 563 s against 599 s with two); more than that
    // times out the many-process tests.
    maxWorkers: 3,
  },
});
