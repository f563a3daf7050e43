import { defineConfig } from 'vitest/config';

/**
 * The real-engine suite: the pipeline against the embedded engine (node-llama-cpp) and against
 * llama.cpp's own `llama-server`, both serving a generated test model on CPU. The global setup
 * installs the engine (once per machine, from the npm registry) and builds `llama-server` from
 * the llama.cpp source node-llama-cpp ships (once per machine and llama.cpp commit, 4-15 min on
 * two cores), so nothing here depends on anything installed by hand.
 */
export default defineConfig({
  test: {
    include: ['test/engines/**/*.test.ts'],
    globalSetup: ['test/engines/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Each engine runs llama.cpp on one thread; files run one after the other so two engines
    // never compete for the two cores.
    fileParallelism: false,
  },
});
