/**
 * On an idle gateway the Prometheus scrape is often the only request, so it is the scrape that
 * finds an edited `policy.yaml`: that scrape must show the reload and its outcome together. Before,
 * the policy was re-read while the exposition was being written (by the spend-ceiling gauge), so the
 * scrape after the operator fixed a broken policy counted the reload yet still said
 * `syndicate_gateway_policy_failed_closed 1` — the alert the README proposes stayed on a scrape
 * longer, on a gateway no longer failing closed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parsePrometheusText } from '../unit/gateway/harness.js';
import { registeredEngineScenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

const setup = registeredEngineScenario('ollama', { kind: 'ollama' });
let gateway: RunningServe | undefined;

afterAll(async () => {
  gateway?.server.kill('SIGTERM');
  await gateway?.server;
});

describe('a scrape that finds the policy edited', () => {
  it('shows the reload and whether the gateway fails closed in the same exposition', async () => {
    const policyPath = join(setup.scenario.home, 'policy.yaml');
    const valid = readFileSync(policyPath, 'utf8');
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: setup.scenario.home });
    const token = readFileSync(join(setup.scenario.home, 'gateway.token'), 'utf8').trim();
    const scrape = async (): Promise<Map<string, number>> => parsePrometheusText(await (await fetch(`${gateway!.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text());

    writeFileSync(policyPath, `${valid}sensitivity: [\n`);
    gateway.server.kill('SIGHUP');
    await gateway.waitForStderr('requests go to local providers only');
    const failing = await scrape();
    expect(failing.get('syndicate_gateway_policy_failed_closed')).toBe(1);
    const reloadedBefore = failing.get('syndicate_gateway_policy_reloads_total{outcome="reloaded"}') ?? 0;

    // Fixed, and no SIGHUP: the next scrape past the gateway's one-second look finds it.
    writeFileSync(policyPath, valid);
    // The first scrape that counts the reload is the one asserted on (not a later one catching up).
    let counted = new Map<string, number>();
    await vi.waitFor(
      async () => {
        counted = await scrape();
        expect(counted.get('syndicate_gateway_policy_reloads_total{outcome="reloaded"}')).toBe(reloadedBefore + 1);
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(counted.get('syndicate_gateway_policy_failed_closed')).toBe(0);
  });
});
