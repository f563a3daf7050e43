import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

/**
 * Files that need a process of their own (the `isolated` project); every other file shares its
 * worker's process with the files run before it (`isolate: false`), which imports vitest, the test
 * helpers, execa, the SDK clients and the src modules once per worker instead of once per file.
 */
const isolatedFiles = [
  // vi.mock replaces a module for the whole module graph, which a shared process has already loaded.
  'test/unit/invoke/tokenizer-refuses.test.ts',
  'test/unit/invoke/tokenizer-unavailable.test.ts',
  'test/unit/common/user-home.test.ts',
  'test/unit/permits/key-stat.test.ts',
  'test/unit/cli/evidence-list-signal.test.ts',
  // They check which modules this process has loaded (the warm-ups, the lazy tokenizer and ajv).
  'test/unit/gateway/warm-up.test.ts',
  'test/unit/gateway/registry-warm-up.test.ts',
  'test/unit/mcp/warm-up.test.ts',
  'test/unit/mcp/registry-warm-up.test.ts',
  'test/unit/mcp/route-explain-tokenizer.test.ts',
  'test/unit/validation/ajv-lazy.test.ts',
];

/** What both projects share. */
const common: TestProjectInlineConfiguration['test'] = {
  setupFiles: ['test/helpers/process-environment.ts'],
  // Most tests start processes (the CLI, gateways, engines), which the house rule gives 90 s: a
  // shuffled integration run at load 13-20 on the two cores failed tests with no timeout of their
  // own at the 30 s default (classify-cli, permit-cli, route-first-tokens, run-evidence), each
  // CLI process there taking 5-10 s to start and end.
  testTimeout: 90_000,
  hookTimeout: 60_000,
  pool: 'forks',
};

export default defineConfig({
  test: {
    // Two cores, but integration tests mostly wait on the real processes they spawn: three files at
    // once keep both cores busy (a clean-clone run: 563 s against 599 s with two); more than that
    // times out the many-process tests.
    maxWorkers: 3,
    projects: [
      {
        test: {
          ...common,
          name: 'shared',
          include: ['test/**/*.test.ts'],
          // The real-engine suite has its own config (vitest.engines.config.ts, `npm run test:engines`).
          exclude: ['test/engines/**', 'node_modules/**', ...isolatedFiles],
          isolate: false,
        },
      },
      {
        test: { ...common, name: 'isolated', include: isolatedFiles },
      },
    ],
  },
});
