/**
 * Candidates the policy cannot tell apart are ordered by provider id, then model id: the same
 * order in every process, whatever its locale. Collation is not: under LANG=cs_CZ "ch" sorts after
 * "h", under da_DK a leading "aa" after "z", so a `route` in the operator's terminal and a gateway
 * started under another locale (systemd's C) would choose different models for the same request.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

/** Byte order: chat < docs. Czech collation puts "ch" after "h": docs < chat. */
const PROVIDERS = ['chat', 'docs'] as const;
const LOCALES = ['C.UTF-8', 'en_US.UTF-8', 'cs_CZ.UTF-8', 'da_DK.UTF-8'];
const localeEnv = (locale: string): Record<string, string> => ({ LANG: locale, LC_ALL: locale });

describe('ties between equal candidates do not depend on the locale', () => {
  let scenario: Scenario;
  const engines: Record<string, FakeEngine> = {};
  let gateway: RunningServe | undefined;

  beforeAll(async () => {
    for (const id of PROVIDERS) engines[id] = await startFakeEngine({ kind: 'vllm' });
    scenario = await Scenario.create();
    await scenario.register(...PROVIDERS.map((id) => ({ id, engine: engines[id]! })));
  }, 90_000);

  afterAll(async () => {
    if (gateway !== undefined) {
      gateway.server.kill('SIGTERM');
      await gateway.server;
    }
    scenario?.cleanup();
    await Promise.all(Object.values(engines).map((engine) => engine.close()));
  });

  it('route ranks the two equal models the same under every locale, by provider id in byte order; a gateway under cs_CZ calls the same first', async () => {
    for (const locale of LOCALES) {
      const { result, document } = await scenario.json(['route', 'hello there'], { env: localeEnv(locale) });
      expect(result.exitCode, `${locale}: ${result.stderr}`).toBe(0);
      const candidates = (document.plan as { candidates: { provider: string }[] }).candidates.map((candidate) => candidate.provider);
      expect(candidates, locale).toEqual(['chat', 'docs']);
    }

    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home, ...localeEnv('cs_CZ.UTF-8') });
    const token = readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim();
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: token, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hello there' }] });
    expect(answer.model).toMatch(/^chat:/);
    expect(inferenceExchanges(engines['chat']!)).toHaveLength(1);
    expect(inferenceExchanges(engines['docs']!)).toHaveLength(0);
  });
});
