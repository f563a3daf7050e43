import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { Scenario } from '../helpers/scenario.js';
import { startServe } from '../helpers/serve.js';

const KEY = 'OPSQA_HOSTED_KEY';
const RETIRED_KEY = 'OPSQA_RETIRED_KEY';
const WARNING = `${KEY} is not set in the gateway's environment: hosted is skipped by every request until serve is restarted with it set`;

/**
 * A gateway run as a service has the service's environment, not the operator's shell: a unit
 * whose key file is missing (systemd's `EnvironmentFile=-…` is optional) started a gateway that
 * skipped the hosted provider on every request and said nothing of it in its log.
 */
describe('serve: a hosted provider whose key is not set in its environment', () => {
  let scenario: Scenario;
  let local: FakeEngine;
  let hosted: FakeEngine;

  beforeAll(async () => {
    local = await startFakeEngine({ kind: 'ollama' });
    hosted = await startFakeEngine({ kind: 'openai' });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    await scenario.register(
      { id: 'local', engine: local },
      { id: 'hosted', engine: hosted, class: 'approved_hosted', authEnv: KEY, price: { inputPerMTok: 3, outputPerMTok: 15 } },
      { id: 'former', engine: hosted, class: 'approved_hosted', authEnv: RETIRED_KEY },
    );
    const removed = await scenario.cli(['provider', 'remove', 'former']);
    expect(removed.exitCode, removed.stderr).toBe(0);
  });
  afterAll(async () => {
    scenario?.cleanup();
    await local?.close();
    await hosted?.close();
  });

  const servedStderr = async (env: Record<string, string>): Promise<string> => {
    const gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home, ...env }, 60_000);
    gateway.server.kill('SIGTERM');
    const result = await gateway.server;
    expect(result.exitCode, gateway.stderr()).toBe(0);
    return gateway.stderr();
  };

  it('is named in a warning when the gateway starts (a retired one is not)', { timeout: 90_000 }, async () => {
    const stderr = await servedStderr({});
    expect(stderr).toContain(`warning: ${WARNING}`);
    expect(stderr).not.toContain(RETIRED_KEY);
    expect(stderr).not.toContain('local is skipped');
  });

  it("a request only it could take says to restart the gateway with the key set (retrying cannot help: a running gateway never re-reads its environment, SIGHUP included)", { timeout: 90_000 }, async () => {
    const token = (await scenario.cli(['serve', '--print-token'])).stdout.trim();
    const gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home }, 60_000);
    try {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'hosted:gpt-4o-mini', messages: [{ role: 'user', content: 'Name the capital of France.' }] }),
      });
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(response.status, error.message).toBe(503);
      expect(error.message).toContain(`set the key in the environment syndicate runs in (export ${KEY}=…), then restart the gateway or MCP server: a running one reads its environment only when it starts`);
      expect(error.message).not.toContain('then retry');
    } finally {
      gateway.server.kill('SIGTERM');
      await gateway.server;
    }
  });

  it('is not warned of once the key is set (a blank one is not set)', { timeout: 90_000 }, async () => {
    expect(await servedStderr({ [KEY]: 'sk-opsqa-not-printed' })).not.toContain(KEY);
    expect(await servedStderr({ [KEY]: '  ' })).toContain(WARNING);
  });
});
