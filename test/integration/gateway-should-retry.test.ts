/**
 * A gateway failure that sending the same request again cannot cure — every candidate skipped for
 * its unset key — carries `x-should-retry: false`, which the official SDKs obey: the client sees
 * one 503 at once instead of three after two back-offs (and three uncalled rows in the evidence).
 * A failure that may pass (an engine answering 500) keeps the SDKs' retries.
 */
import Anthropic from '@anthropic-ai/sdk';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

const HOSTED_MODEL = 'claude-sonnet-4-5';
const PROMPT = 'Name the capital of France.';
const FAILING = { status: 500, body: JSON.stringify({ error: { code: 500, message: 'runner crashed', type: 'server_error' } }) };

describe('x-should-retry on gateway failures', () => {
  let scenario: Scenario;
  let claude: FakeEngine;
  let local: FakeEngine;
  let gateway: RunningServe;
  let token: string;

  beforeAll(async () => {
    [claude, local] = await Promise.all([startFakeEngine({ kind: 'anthropic', models: [{ id: HOSTED_MODEL }] }), startFakeEngine({ kind: 'llama.cpp' })]);
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    await scenario.register({ id: 'claude', engine: claude, class: 'approved_hosted', model: HOSTED_MODEL, authEnv: 'SHOULD_RETRY_UNSET_KEY', price: { inputPerMTok: 3, outputPerMTok: 15 } }, { id: 'local', engine: local });
    // The gateway runs without SHOULD_RETRY_UNSET_KEY: every call of `claude` is skipped for it.
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home }, 120_000);
    token = readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim();
  }, 90_000);

  afterEach(async () => {
    local.setFault('ok');
    await scenario.releaseHolds();
  });

  afterAll(async () => {
    gateway?.server.kill('SIGTERM');
    await gateway?.server;
    scenario?.cleanup();
    await Promise.all([claude?.close(), local?.close()]);
  });

  /** The evidence rows recorded for `claude` (each request's skipped attempts). */
  async function claudeRows(): Promise<{ requestId?: string }[]> {
    const { document } = await scenario.json(['evidence', 'list', '--provider', 'claude', '--limit', '1000']);
    return (document.evidence as { requestId?: string }[] | undefined) ?? [];
  }

  it('the Anthropic SDK (default retries) gets one 503 naming the key, and asks once', async () => {
    const before = (await claudeRows()).length;
    const client = new Anthropic({ baseURL: gateway.url, apiKey: token });
    const error: unknown = await client.messages.create({ model: `claude:${HOSTED_MODEL}`, max_tokens: 32, messages: [{ role: 'user', content: PROMPT }] }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(Anthropic.APIError);
    const failed = error as InstanceType<typeof Anthropic.APIError>;
    expect(failed.message).toContain('SHOULD_RETRY_UNSET_KEY');
    expect(failed.status).toBe(503);
    expect(failed.headers?.get('x-should-retry')).toBe('false');
    // One request, one skipped attempt: the SDK did not send it again.
    const rows = await claudeRows();
    expect(rows.length - before).toBe(1);
    expect(rows.filter((row) => row.requestId === failed.requestID)).toHaveLength(1);
    expect(claude.exchanges.filter((exchange) => exchange.path.startsWith('/v1/messages')).length).toBe(0);
  }, 90_000);

  it('the OpenAI SDK (default retries) asks once too', async () => {
    const before = (await claudeRows()).length;
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: token });
    const error: unknown = await client.chat.completions.create({ model: `claude:${HOSTED_MODEL}`, messages: [{ role: 'user', content: PROMPT }] }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const failed = error as InstanceType<typeof OpenAI.APIError>;
    expect(failed.status).toBe(503);
    expect(failed.headers?.get('x-should-retry')).toBe('false');
    expect((await claudeRows()).length - before).toBe(1);
  }, 90_000);

  it("an engine failing besides the skipped key may pass next time: no x-should-retry (each SDK's own retry rules apply)", async () => {
    local.setFault(FAILING);
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: token, maxRetries: 1 });
    const error: unknown = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: PROMPT }] }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const failed = error as InstanceType<typeof OpenAI.APIError>;
    expect(failed.status).toBe(503);
    expect(failed.headers?.get('x-should-retry')).toBeNull();
  }, 90_000);
});
