/**
 * An upstream's refusal of the key syndicate sent: some servers quote the key back in their error
 * message (`Incorrect API key provided: sk-…`). The message syndicate prints, records in the
 * evidence row's error and returns to a gateway client never carries the key, and the hint names
 * the variable the key came from (or says the record sends none).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { getEvidence } from '../../src/evidence/index.js';
import { HealthMonitor } from '../../src/router/health.js';
import { FAKE_KEY_ENV, startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const KEY = 'sk-proj-quoted-back-0123456789';
const GATEWAY_KEY = 'sk-fake-upstream-key';

/** OpenAI's 401 as a server that does not mask the key writes it. */
function refusal(status: 401 | 403, key: string): { status: number; body: string } {
  const message = status === 401 ? `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.` : `Key ${key} does not have access to model gpt-4o-mini`;
  return { status, body: JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: status === 401 ? 'invalid_api_key' : 'model_not_allowed' } }) };
}

describe('run: an upstream that quotes the refused key', () => {
  let scenario: Scenario;
  let hosted: FakeEngine;

  beforeAll(async () => {
    hosted = await startFakeEngine({ kind: 'openai' });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    await scenario.register(
      { id: 'hosted', engine: hosted, class: 'approved_hosted', authEnv: 'HOSTED_TEST_KEY', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } },
      { id: 'keyless', engine: hosted, class: 'approved_hosted', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } },
    );
  });
  afterAll(async () => {
    scenario?.cleanup();
    await hosted?.close();
  });

  it('401: the key is redacted from the message, the evidence row and the JSON error; the hint names its variable', async () => {
    hosted.setFault(refusal(401, KEY), 1);
    const { result, document } = await scenario.json(['run', 'hello', '--provider', 'hosted'], { env: { HOSTED_TEST_KEY: KEY } });
    expect(result.exitCode, result.stderr).toBe(5);
    expect(result.stdout + result.stderr).not.toContain(KEY);
    const error = document.error as { message: string; hint: string };
    expect(error.message).toBe('hosted answered HTTP 401: Incorrect API key provided: [redacted]. You can find your API key at https://platform.openai.com/account/api-keys.');
    expect(error.hint).toContain('export a valid key for hosted as HOSTED_TEST_KEY');
    const { document: listed } = await scenario.json(['evidence', 'list', '--provider', 'hosted', '--limit', '1']);
    const [row] = listed.evidence as { id: string }[];
    const evidence = await scenario.evidence(String(row?.id));
    expect(JSON.stringify(evidence.error)).toContain('[redacted]');
    expect(JSON.stringify(evidence.error)).not.toContain(KEY);
  });

  it('403: the hint names the model the key may not use', async () => {
    hosted.setFault(refusal(403, KEY), 1);
    const { result, document } = await scenario.json(['run', 'hello', '--provider', 'hosted'], { env: { HOSTED_TEST_KEY: KEY } });
    expect(result.exitCode, result.stderr).toBe(5);
    expect(result.stdout + result.stderr).not.toContain(KEY);
    expect((document.error as { hint: string }).hint).toContain('hosted refused gpt-4o-mini to the key in HOSTED_TEST_KEY');
  });

  it('401 to a record that sends no key: the hint says to add one', async () => {
    hosted.setFault({ status: 401, body: '{"error":{"message":"Missing bearer authentication in header","type":"invalid_request_error","param":null,"code":null}}' }, 1);
    const { result, document } = await scenario.json(['run', 'hello', '--provider', 'keyless']);
    expect(result.exitCode, result.stderr).toBe(5);
    expect((document.error as { hint: string }).hint).toContain('keyless asks for a key (HTTP 401) and its record sends none: add `auth: { env: NAME }`');
  });
});

describe('gateway: an upstream that quotes the refused key', () => {
  let hosted: FakeEngine;
  let gateway: TestGateway;

  beforeAll(async () => {
    hosted = await startFakeEngine({ kind: 'openai' });
    gateway = await startTestGateway({
      providers: [{ id: 'hosted', class: 'approved_hosted', wire: 'openai', baseUrl: hosted.baseUrl, auth: true, models: [{ id: 'gpt-4o-mini', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } }] }],
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await hosted?.close();
  });

  it("the operator's key never reaches the gateway's client", async () => {
    hosted.setFault(refusal(401, GATEWAY_KEY), 1);
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const failure = await client.chat.completions.create({ model: 'hosted:gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as InstanceType<typeof OpenAI.APIError>).message).toContain('Incorrect API key provided: [redacted]');
    expect(JSON.stringify((failure as InstanceType<typeof OpenAI.APIError>).error)).not.toContain(GATEWAY_KEY);
  });

  it('held out after three 401s in a row: the next request is not sent, and its 503 names the key variable, not "HTTP 5xx"', async () => {
    gateway.pipeline.health = new HealthMonitor();
    hosted.setFault(refusal(401, GATEWAY_KEY), 3);
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: 'hosted:gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }).catch((error: unknown) => error);
    // The upstream refused the operator's key, not the client's: 502 each time.
    for (let call = 0; call < 3; call += 1) expect((await ask()) as InstanceType<typeof OpenAI.APIError>).toMatchObject({ status: 502 });
    const sent = hosted.exchanges.length;
    const held = await ask();
    expect(held).toBeInstanceOf(OpenAI.InternalServerError);
    const { message } = held as InstanceType<typeof OpenAI.InternalServerError>;
    expect(message).toContain('inference unavailable');
    expect(message).toContain(`hosted refused the key in ${FAKE_KEY_ENV}: export a valid key for hosted as ${FAKE_KEY_ENV}`);
    expect(message).not.toContain('5xx');
    expect(hosted.exchanges.length).toBe(sent);
    gateway.pipeline.health = new HealthMonitor();
  });
});

describe('a hold shared by the gateway: another process prints the hint the gateway would', () => {
  let scenario: Scenario;
  let hosted: FakeEngine;
  let gateway: RunningServe;

  beforeAll(async () => {
    hosted = await startFakeEngine({ kind: 'openai' });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    await scenario.register({ id: 'hosted', engine: hosted, class: 'approved_hosted', authEnv: 'HOSTED_TEST_KEY', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } });
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home, HOSTED_TEST_KEY: GATEWAY_KEY }, 90_000);
  });
  afterAll(async () => {
    gateway?.server.kill('SIGTERM');
    await gateway?.server;
    scenario?.cleanup();
    await hosted?.close();
  });

  it('the gateway holds a hosted provider after three 401s; `syndicate run` on the same store names the key variable, not "HTTP 5xx", and sends nothing', async () => {
    hosted.setFault(refusal(401, GATEWAY_KEY), 3);
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim(), maxRetries: 0 });
    for (let call = 0; call < 3; call += 1) {
      const failure = await client.chat.completions.create({ model: 'hosted:gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }).catch((error: unknown) => error);
      expect(failure).toMatchObject({ status: 502 });
    }
    const sent = hosted.exchanges.length;
    const { result, document } = await scenario.json(['run', 'hello', '--provider', 'hosted'], { env: { HOSTED_TEST_KEY: KEY } });
    expect(result.exitCode, result.stderr).toBe(5);
    const { message, hint } = document.error as { message: string; hint: string };
    expect(message).toContain('seen by another syndicate process');
    expect(hint).toContain('hosted refused the key in HOSTED_TEST_KEY: export a valid key for hosted as HOSTED_TEST_KEY');
    expect(hint).not.toContain('5xx');
    expect(hosted.exchanges.length).toBe(sent);
  }, 90_000);
});

describe('gateway: a hosted upstream that quotes the key, masked, in an error event mid-stream', () => {
  // OpenAI's masking: the key's start and its last four characters.
  const MASKED = 'sk-fake-********-key';
  const QUOTED = `Incorrect API key provided: ${MASKED}. The key was revoked while streaming.`;
  const PARTS = ['sk-fake-', '-key', 'fake-upstream'];
  let openaiHosted: FakeEngine;
  let anthropicHosted: FakeEngine;
  let gateway: TestGateway;

  beforeAll(async () => {
    openaiHosted = await startFakeEngine({ kind: 'openai' });
    anthropicHosted = await startFakeEngine({ kind: 'anthropic' });
    gateway = await startTestGateway({
      providers: [
        { id: 'hosted', class: 'approved_hosted', wire: 'openai', baseUrl: openaiHosted.baseUrl, auth: true, models: [{ id: 'gpt-4o-mini', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } }] },
        { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: anthropicHosted.baseUrl, auth: true, models: [{ id: 'claude-sonnet-4-20250514', price: { inputPerMTok: 3, outputPerMTok: 15 } }] },
      ],
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await openaiHosted?.close();
    await anthropicHosted?.close();
  });

  const expectRedacted = async (failure: unknown, evidenceId: string | null): Promise<void> => {
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toContain('Incorrect API key provided: [redacted]. The key was revoked while streaming.');
    for (const part of PARTS) expect(message).not.toContain(part);
    // The client reads the error event before the row is finished: wait for it.
    await expect.poll(async () => {
      await gateway.settled();
      return getEvidence(gateway.store, evidenceId ?? '')?.state;
    }, { timeout: 20_000, interval: 20 }).toBe('failed');
    const record = getEvidence(gateway.store, evidenceId ?? '');
    const error = JSON.stringify(record?.error);
    expect(error).toContain('Incorrect API key provided: [redacted].');
    for (const part of PARTS) expect(error).not.toContain(part);
  };

  it('OpenAI wire to an OpenAI client: the SDK throws the message with the key redacted; so is the evidence row\'s error', async () => {
    openaiHosted.setFault({ errorMidStream: QUOTED }, 1);
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const { data: stream, response } = await client.chat.completions.create({ model: 'hosted:gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hello' }] }).withResponse();
    const failure = await (async () => {
      for await (const _chunk of stream);
    })().catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    await expectRedacted(failure, response.headers.get('x-syndicate-evidence'));
  });

  it('Anthropic wire to an Anthropic client: the same', async () => {
    anthropicHosted.setFault({ errorMidStream: QUOTED }, 1);
    const client = new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
    const { data: stream, response } = await client.messages.create({ model: 'claude:claude-sonnet-4-20250514', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hello' }] }).withResponse();
    const failure = await (async () => {
      for await (const _event of stream);
    })().catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    await expectRedacted(failure, response.headers.get('x-syndicate-evidence'));
  });
});
