/**
 * Run before every test file (vitest.config.ts `setupFiles`): the environment the processes the
 * tests start (the CLI, gateways, engines) inherit.
 *
 * NODE_EXTRA_CA_CERTS (set on hosts behind a TLS-inspecting proxy, this VM among them) makes every
 * node process parse that CA bundle as it starts: 30-40 ms of CPU each, paid by the suite's
 * thousands of CLI processes. Every process a test starts talks to loopback only, over plain HTTP.
 */
delete process.env.NODE_EXTRA_CA_CERTS;
