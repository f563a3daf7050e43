/**
 * Run before every test file (vitest.config.ts `setupFiles`): the environment the processes the
 * tests start (the CLI, gateways, engines) inherit.
 *
 * NODE_EXTRA_CA_CERTS (set on hosts behind a TLS-inspecting proxy, this VM among them) makes every
 * node process parse that CA bundle as it starts: 30-40 ms of CPU each, paid by the suite's
 * thousands of CLI processes. Every process a test starts talks to loopback only, over plain HTTP.
 */
delete process.env.NODE_EXTRA_CA_CERTS;

/**
 * The embedded engine a test sees is the one it names. Without this, every `doctor` (and anything
 * else that looks for node-llama-cpp) found the engine `engine install` or `npm run test:engines`
 * had left in ~/.cache/syndicate/engine on this machine, loaded it and spawned node-llama-cpp's
 * binary test: ~1.5 s of CPU per `doctor` (bench/RESULTS.md "Where the fast suite's CPU goes"),
 * and a result that depended on what the machine had installed. A path under /dev/null can never
 * be created, so nothing is found there and nothing can be installed there; the tests of the
 * engine name their own directory (a fake node-llama-cpp, test/helpers/fake-node-llama-cpp.ts).
 */
process.env.SYNDICATE_ENGINE_DIR = '/dev/null/syndicate-tests-name-their-engine';
