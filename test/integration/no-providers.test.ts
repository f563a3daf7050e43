/**
 * A home with nothing registered (a new user's first `run`): `no_providers`, exit 2, with the
 * commands that register one — not `route_denied` (exit 4), which reads as data too sensitive for
 * every provider. The same code through `route`, `embed`, the gateway's three faces (503 with
 * `x-should-retry: false`: the operator's to fix, sending again cannot help) and MCP `complete`.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import Anthropic from '@anthropic-ai/sdk';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMcpClient, toolText } from '../helpers/mcp.js';
import { Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { storedMetrics } from '../helpers/store.js';

const EMBEDDING_MESSAGE = 'no embedding model is registered: nothing can take an embeddings request yet (every model registered is a chat model)';
const EMBEDDING_HINT = /register an embedding model: `syndicate provider add ollama`.*`--embeddings`.*`kind: embedding`/;

const HINT = /`syndicate provider add NAME`.*`syndicate engine serve --model FILE\.gguf --register embedded`/;

/** The OpenAI SDK's error of a call the gateway answered with one 503 `no_providers`, not to be retried. */
async function unavailableNotRetried(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error: unknown = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(OpenAI.APIError);
  const failed = error as InstanceType<typeof OpenAI.APIError>;
  expect(failed.status).toBe(503);
  expect(failed.code).toBe('no_providers');
  expect(failed.headers?.get('x-should-retry')).toBe('false');
  return failed;
}

/**
 * A gateway and an MCP client on the scenario's home, started before the tests of the describe block
 * that calls it and stopped after them.
 */
function gatewayAndMcp(scenario: () => Scenario): { gateway: RunningServe; token: string; mcp: Client } {
  const surfaces = {} as { gateway: RunningServe; token: string; mcp: Client };
  beforeAll(async () => {
    const { home } = scenario();
    surfaces.gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: home }, 120_000);
    surfaces.token = readFileSync(join(home, 'gateway.token'), 'utf8').trim();
    surfaces.mcp = await connectMcpClient(home);
  }, 120_000);
  afterAll(async () => {
    await surfaces.mcp?.close();
    surfaces.gateway?.server.kill('SIGTERM');
    await surfaces.gateway?.server;
  });
  return surfaces;
}

describe('nothing registered', () => {
  let scenario: Scenario;

  beforeAll(async () => {
    scenario = await Scenario.create();
  }, 90_000);

  afterAll(() => scenario?.cleanup());

  it('run exits 2 with no_providers and the commands that register one', async () => {
    const human = await scenario.cli(['run', 'Say hello']);
    expect(human.exitCode, human.stderr).toBe(2);
    expect(human.stderr).toMatch(/^error: no provider is registered: nothing can take any request yet\nhint: register one: /);
    expect(human.stderr).toMatch(HINT);
    expect(human.stderr).not.toContain('may receive');

    const { result, document } = await scenario.json(['run', '--model', 'gpt-4o', 'Say hello']);
    expect(result.exitCode).toBe(2);
    expect(document).toMatchObject({ ok: false, error: { code: 'no_providers', details: { sensitivity: 'public', excluded: [] } } });
  }, 90_000);

  it('a provider named before any is registered gets the same answer, not a list of none (the quick start\'s `run --provider embedded` typed before its engine registered)', async () => {
    const human = await scenario.cli(['run', '--provider', 'embedded', 'Say hello']);
    expect(human.exitCode, human.stderr).toBe(2);
    expect(human.stderr).toMatch(/^error: no provider is registered: nothing can take any request yet\nhint: register one: /);
    expect(human.stderr).toMatch(HINT);
    expect(human.stderr).not.toContain('none active');
    const route = await scenario.json(['route', '--provider', 'embedded:tiny', 'Say hello']);
    expect(route.result.exitCode).toBe(2);
    expect(route.document).toMatchObject({ ok: false, error: { code: 'no_providers' } });
  }, 90_000);

  it('is recorded as a failed attempt that called nothing, not a denial: no policy refused it, and metrics counts it so', async () => {
    const { result, document } = await scenario.json(['run', 'Say hello']);
    expect(result.exitCode).toBe(2);
    const evidenceId = (document as { error: { details: { evidenceId: string } } }).error.details.evidenceId;
    // The row and what `metrics --json` counts of it (its last 24 h), read in this process.
    expect(scenario.storedEvidence(evidenceId)).toMatchObject({ kind: 'invocation', state: 'failed', error: { code: 'no_providers' } });
    const counted = { metrics: storedMetrics(scenario.home) } as unknown as { metrics: { requests: { failedAttempts: number; denied: number }; bySensitivity: { denied: number }[] } };
    expect(counted.metrics.requests.denied).toBe(0);
    expect(counted.metrics.requests.failedAttempts).toBeGreaterThan(0);
    expect(counted.metrics.bySensitivity.every((level) => level.denied === 0)).toBe(true);
  }, 90_000);

  it('embed and route say the same', async () => {
    const embed = await scenario.json(['embed', 'some text']);
    expect(embed.result.exitCode).toBe(2);
    expect(embed.document).toMatchObject({ ok: false, error: { code: 'no_providers' } });
    const route = await scenario.json(['route', 'Say hello']);
    expect(route.result.exitCode).toBe(2);
    expect(route.document).toMatchObject({ ok: false, error: { code: 'no_providers', message: 'no provider is registered: nothing can take any request yet' } });
  }, 90_000);

  describe('through the gateway and MCP', () => {
    const surfaces = gatewayAndMcp(() => scenario);

    it('the OpenAI SDK gets one 503 no_providers, not retried', async () => {
      const client = new OpenAI({ baseURL: `${surfaces.gateway.url}/v1`, apiKey: surfaces.token });
      const failed = await unavailableNotRetried(client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'Say hello' }] }));
      expect(failed.message).toMatch(HINT);
    }, 90_000);

    it('the Anthropic SDK gets the same 503', async () => {
      const client = new Anthropic({ baseURL: surfaces.gateway.url, apiKey: surfaces.token });
      const error: unknown = await client.messages.create({ model: 'auto', max_tokens: 32, messages: [{ role: 'user', content: 'Say hello' }] }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(Anthropic.APIError);
      const failed = error as InstanceType<typeof Anthropic.APIError>;
      expect(failed.status).toBe(503);
      expect(failed.message).toContain('no provider is registered');
      expect(failed.headers?.get('x-should-retry')).toBe('false');
    }, 90_000);

    it("Ollama's /api/chat gets a 503 naming it", async () => {
      const response = await fetch(`${surfaces.gateway.url}/api/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${surfaces.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', stream: false, messages: [{ role: 'user', content: 'Say hello' }] }),
      });
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: string }).error).toContain('no provider is registered');
    }, 90_000);

    it('MCP complete is an error with the code and the hint', async () => {
      const result = (await surfaces.mcp.callTool({ name: 'complete', arguments: { prompt: 'Say hello' } })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(toolText(result)).toMatch(/^no provider is registered: nothing can take any request yet \(no_providers\)\nhint: register one: /);
    }, 90_000);
  });
});

/**
 * Chat models registered, no embedding model (`provider add anthropic`, then `embed`): nothing
 * registered can embed, so no policy refused anything — `no_providers` (exit 2, the gateway's 503
 * not retried) saying so and naming how to register an embedding model, not `route_denied` (exit
 * 4, "no provider may receive this public request"), which reads as data too sensitive to send.
 */
describe('chat models registered, none that embeds', () => {
  let scenario: Scenario;

  beforeAll(async () => {
    scenario = await Scenario.create();
    const record = join(scenario.home, 'hosted.yaml');
    writeFileSync(
      record,
      ['apiVersion: syndicate/v1', 'kind: Provider', 'id: hosted', 'class: approved_hosted', 'wire: openai', 'baseUrl: https://api.openai.com/v1', 'auth:', '  env: FAKE_OPENAI_KEY', 'models:', '  - id: gpt-chat', '    contextWindow: 128000', '    capabilityClass: large', '    price:', '      inputPerMTok: 1', '      outputPerMTok: 2', ''].join('\n'),
    );
    await scenario.registerFilesInProcess(record);
  }, 90_000);

  afterAll(() => scenario?.cleanup());

  it('embed exits 2 with no_providers naming the missing embedding model, auto or pinned to a chat model', async () => {
    const human = await scenario.cli(['embed', 'some text']);
    expect(human.exitCode, human.stderr).toBe(2);
    expect(human.stderr).toContain(`error: ${EMBEDDING_MESSAGE}\nhint: `);
    expect(human.stderr).toMatch(EMBEDDING_HINT);
    expect(human.stderr).not.toContain('may receive');
    const pinned = await scenario.json(['embed', '--model', 'gpt-chat', 'some text']);
    expect(pinned.result.exitCode).toBe(2);
    expect(pinned.document).toMatchObject({ ok: false, error: { code: 'no_providers', message: EMBEDDING_MESSAGE, details: { excluded: [{ provider: 'hosted', model: 'gpt-chat', rules: ['model_kind'] }] } } });
    const route = await scenario.json(['route', '--format', 'openai-embeddings', '--request', '-'], { input: JSON.stringify({ model: 'auto', input: 'some text' }) });
    expect(route.result.exitCode).toBe(2);
    expect(route.document).toMatchObject({ ok: false, error: { code: 'no_providers', message: EMBEDDING_MESSAGE } });
  }, 90_000);

  describe('through the gateway and MCP', () => {
    const surfaces = gatewayAndMcp(() => scenario);

    it('the OpenAI SDK\'s embeddings get one 503 no_providers, not retried', async () => {
      const client = new OpenAI({ baseURL: `${surfaces.gateway.url}/v1`, apiKey: surfaces.token });
      const failed = await unavailableNotRetried(client.embeddings.create({ model: 'auto', input: 'some text' }));
      expect(failed.message).toContain(EMBEDDING_MESSAGE);
      expect(failed.message).toMatch(EMBEDDING_HINT);
    }, 90_000);

    it("Ollama's /api/embed gets the same 503", async () => {
      const response = await fetch(`${surfaces.gateway.url}/api/embed`, {
        method: 'POST',
        headers: { authorization: `Bearer ${surfaces.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', input: 'some text' }),
      });
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: string }).error).toContain(EMBEDDING_MESSAGE);
    }, 90_000);

    it('MCP route_explain of an embeddings request says the same', async () => {
      const result = (await surfaces.mcp.callTool({ name: 'route_explain', arguments: { request: { model: 'auto', input: 'some text' }, format: 'openai-embeddings' } })) as CallToolResult;
      expect(toolText(result)).toContain(EMBEDDING_MESSAGE);
      expect(toolText(result)).not.toContain('may receive');
    }, 90_000);
  });
});
