/**
 * A request naming a model of the other kind (a chat model for embeddings, an embedding model for
 * a chat request) while models of the right kind are registered: the caller's to fix, whatever
 * its data — a usage error of its own code, `model_kind`, naming the model and what it is (exit 2;
 * the gateway's 400 `invalid_request_error`, `param: model`, OpenAI's `code: model_kind`), its hint naming the models of the right kind, recorded
 * as an attempt that called nothing — not `route_denied` (exit 4, 403 "no provider may receive this
 * public request"), which reads as a privacy refusal.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { connectMcpClient, toolText } from '../helpers/mcp.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

const CHAT = 'llama3.2:latest';
const EMBED = 'nomic-embed-text:latest';
const CHAT_NAMED = `ollama:${CHAT} is a chat model: it does not take embeddings requests`;
const EMBED_NAMED = `ollama:${EMBED} is an embedding model: it does not take chat requests`;

let ollama: FakeEngine;
let scenario: Scenario;
let gateway: RunningServe;
let token: string;

beforeAll(async () => {
  ollama = await startFakeEngine({ kind: 'ollama', models: [{ id: CHAT }, { id: EMBED, embedding: true, dimensions: 8 }] });
  scenario = await Scenario.create();
  const record = join(scenario.home, 'ollama.yaml');
  writeFileSync(
    record,
    [
      'apiVersion: syndicate/v1',
      'kind: Provider',
      'id: ollama',
      'class: local',
      'wire: openai',
      `baseUrl: ${ollama.baseUrl}`,
      'engine:',
      '  kind: ollama',
      'models:',
      `  - id: ${CHAT}`,
      '    contextWindow: 131072',
      '    capabilityClass: small',
      `  - id: ${EMBED}`,
      '    kind: embedding',
      '    contextWindow: 2048',
      '    capabilityClass: small',
      '',
    ].join('\n'),
  );
  const registered = await scenario.cli(['provider', 'register', record]);
  expect(registered.exitCode, registered.stderr).toBe(0);
  gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home }, 120_000);
  token = readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim();
}, 120_000);

afterAll(async () => {
  gateway?.server.kill('SIGTERM');
  await gateway?.server;
  scenario?.cleanup();
  await ollama?.close();
});

/** What a call threw (undefined when it succeeded). */
async function thrown(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('a named model of the wrong kind', () => {
  it('embed naming the chat model exits 2 saying it is a chat model, the hint naming the embedding model, and calls nothing', async () => {
    const before = inferenceExchanges(ollama).length;
    const human = await scenario.cli(['embed', '--model', `ollama:${CHAT}`, 'hello']);
    expect(human.exitCode, human.stderr).toBe(2);
    expect(human.stderr).toContain(`error: ${CHAT_NAMED}\nhint: `);
    expect(human.stderr).toContain(`ollama:${EMBED} may take it`);
    expect(human.stderr).not.toContain('may receive');
    const { result, document } = await scenario.json(['embed', '--model', `ollama:${CHAT}`, 'hello']);
    expect(result.exitCode).toBe(2);
    expect(document).toMatchObject({ ok: false, error: { code: 'model_kind', message: CHAT_NAMED, details: { param: 'model', excluded: [{ provider: 'ollama', model: CHAT, rules: ['model_kind'] }] } } });
    expect(inferenceExchanges(ollama).length).toBe(before);
  }, 90_000);

  it('run naming the embedding model exits 2 saying it is an embedding model, the hint naming the chat model; recorded as no denial', async () => {
    const human = await scenario.cli(['run', '--model', `ollama:${EMBED}`, 'Say hello']);
    expect(human.exitCode, human.stderr).toBe(2);
    expect(human.stderr).toContain(`error: ${EMBED_NAMED}\nhint: `);
    expect(human.stderr).toContain(`ollama:${CHAT} may take it`);
    const { document } = await scenario.json(['run', '--model', `ollama:${EMBED}`, 'Say hello']);
    const evidenceId = (document as { error: { details: { evidenceId: string } } }).error.details.evidenceId;
    expect(await scenario.evidence(evidenceId)).toMatchObject({ kind: 'invocation', state: 'failed', error: { code: 'model_kind', message: EMBED_NAMED } });
  }, 90_000);

  it('route says the same, exit 2', async () => {
    const route = await scenario.json(['route', '--format', 'openai-embeddings', '--request', '-'], { input: JSON.stringify({ model: `ollama:${CHAT}`, input: 'hello' }) });
    expect(route.result.exitCode).toBe(2);
    expect(route.document).toMatchObject({ ok: false, error: { code: 'model_kind', message: CHAT_NAMED } });
  }, 90_000);

  it("the OpenAI SDK's embeddings and chat get a 400 invalid_request_error on param model, naming the model and the one to use", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: token, maxRetries: 0 });
    const embed = await thrown(client.embeddings.create({ model: `ollama:${CHAT}`, input: 'hello' }));
    expect(embed).toBeInstanceOf(OpenAI.BadRequestError);
    const embedError = embed as InstanceType<typeof OpenAI.BadRequestError>;
    expect(embedError.status).toBe(400);
    expect(embedError.param).toBe('model');
    expect(embedError.code).toBe('model_kind');
    expect((embedError.error as { type?: string }).type).toBe('invalid_request_error');
    expect(embedError.message).toContain(CHAT_NAMED);
    expect(embedError.message).toContain(`ollama:${EMBED} may take it`);

    const chat = await thrown(client.chat.completions.create({ model: `ollama:${EMBED}`, messages: [{ role: 'user', content: 'hi' }] }));
    expect(chat).toBeInstanceOf(OpenAI.BadRequestError);
    expect((chat as Error).message).toContain(EMBED_NAMED);
    expect((chat as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('model_kind');
  }, 90_000);

  it("the Anthropic SDK and Ollama's /api/embed get the same 400", async () => {
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: token, maxRetries: 0 });
    const messages = await thrown(anthropic.messages.create({ model: `ollama:${EMBED}`, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }));
    expect(messages).toBeInstanceOf(Anthropic.BadRequestError);
    expect((messages as Error).message).toContain(EMBED_NAMED);
    expect(((messages as InstanceType<typeof Anthropic.BadRequestError>).error as { error?: { type?: string } }).error?.type).toBe('invalid_request_error');

    const response = await fetch(`${gateway.url}/api/embed`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: `ollama:${CHAT}`, input: 'hello' }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain(CHAT_NAMED);
  }, 90_000);

  it("MCP complete's error result names the code model_kind", async () => {
    const client = await connectMcpClient(scenario.home);
    try {
      const result = (await client.callTool({ name: 'complete', arguments: { prompt: 'Say hello', model: `ollama:${EMBED}` } })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(toolText(result)).toContain(`${EMBED_NAMED} (model_kind)`);
    } finally {
      await client.close();
    }
  }, 90_000);
});
