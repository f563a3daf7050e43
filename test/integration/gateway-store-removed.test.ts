import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { inferenceExchanges } from '../helpers/scenario.js';
import { servedEngineScenario } from '../helpers/serve.js';

/**
 * The store file removed under a running gateway (`rm syndicate.db*`, a cleanup script, a restore):
 * its open connection kept writing into the unlinked file, so the gateway went on answering with
 * every permit and evidence row lost — and `/healthz` said ok.
 */
describe('the store removed while serve runs', () => {
  const setup = servedEngineScenario('local', { kind: 'ollama' });

  it('fails closed: requests are refused (store_failure) without calling the engine, and /healthz says 503', { timeout: 90_000 }, async () => {
    const client = new OpenAI({ baseURL: `${setup.gateway.url}/v1`, apiKey: readFileSync(join(setup.scenario.home, 'gateway.token'), 'utf8').trim(), maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    await ask();

    for (const suffix of ['', '-wal', '-shm']) rmSync(join(setup.scenario.home, `syndicate.db${suffix}`), { force: true });
    // The gateway looks at the file at most once a second: wait until its health says it saw.
    for (;;) {
      const health = await fetch(`${setup.gateway.url}/healthz`);
      if (health.status === 503) {
        expect(await health.json()).toMatchObject({ status: 'store_unavailable' });
        break;
      }
      expect(health.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const sent = inferenceExchanges(setup.engine).length;
    const refused = await ask().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(OpenAI.InternalServerError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).code).toBe('store_failure');
    expect((refused as Error).message).toContain(`the store ${join(setup.scenario.home, 'syndicate.db')} was removed while this process had it open`);
    expect(inferenceExchanges(setup.engine)).toHaveLength(sent);
  });
});
