/**
 * Anthropic clients' betas through a real gateway: Claude Code sends `anthropic-beta` on every
 * request (interleaved thinking, fine-grained tool streaming, the 1M-token context). An
 * anthropic-wire provider gets the header as the client sent it and the evidence records it; an
 * OpenAI-wire engine, which has no betas, does not, and the answer and the evidence say so.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getEvidence, type EvidenceRecord } from '../../src/evidence/index.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

/** The betas Claude Code sends with a Sonnet model (one header, comma-separated). */
const CLAUDE_CODE_BETAS = 'claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14,context-1m-2025-08-07';
const CLAUDE = 'claude:claude-sonnet-4-5-20250929';
const LOCAL = 'ollama:qwen3:8b';
const QUESTION = 'What is the capital of France?';

let claude: FakeEngine;
let ollama: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [claude, ollama] = await Promise.all([startFakeEngine({ kind: 'anthropic', models: [{ id: 'claude-sonnet-4-5-20250929' }] }), startFakeEngine({ kind: 'ollama', models: [{ id: 'qwen3:8b' }] })]);
  gateway = await startTestGateway({
    providers: [
      { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: 'claude-sonnet-4-5-20250929', price: { inputPerMTok: 3, outputPerMTok: 15 } }] },
      { id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollama.baseUrl, engine: 'ollama', models: [{ id: 'qwen3:8b' }] },
    ],
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([claude?.close(), ollama?.close()]);
});

const anthropicClient = (): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
const request = (model: string): Anthropic.MessageCreateParamsNonStreaming => ({ model, max_tokens: 256, messages: [{ role: 'user', content: QUESTION }] });
const betaHeader = { headers: { 'anthropic-beta': CLAUDE_CODE_BETAS } };

/** The evidence of an answer once its finish is committed (after the answer's last byte). */
async function completedEvidence(evidenceId: string | null): Promise<EvidenceRecord | undefined> {
  return vi.waitFor(() => {
    const record = getEvidence(gateway.store, evidenceId ?? '');
    expect(record?.state).toBe('completed');
    return record;
  }, { timeout: 20_000, interval: 20 });
}

function recordedHeaders(record: EvidenceRecord | undefined): Record<string, string> {
  const headers = record?.request.headers;
  return headers !== null && headers !== undefined && !('unparsed' in headers) ? headers : {};
}

describe('to an anthropic-wire provider', () => {
  it('the client’s anthropic-beta header is sent as it came, and the evidence records it among the request headers', async () => {
    const { data: message, response } = await anthropicClient().messages.create(request(CLAUDE), betaHeader).withResponse();
    expect(message.content).toEqual([{ type: 'text', text: DEFAULT_ANSWER }]);
    expect(claude.exchanges.at(-1)?.requestHeaders['anthropic-beta']).toBe(CLAUDE_CODE_BETAS);
    expect(response.headers.get('x-syndicate-ignored-fields')).toBeNull();
    const evidence = await completedEvidence(response.headers.get('x-syndicate-evidence'));
    expect(recordedHeaders(evidence)['anthropic-beta']).toBe(CLAUDE_CODE_BETAS);
    expect(recordedHeaders(evidence)['x-api-key']).toBe('[redacted]');
    expect(evidence?.warnings).toEqual([]);
  });

  it('streamed, and from the SDK’s own `betas` parameter', async () => {
    const message = await anthropicClient()
      .beta.messages.stream({ ...request(CLAUDE), betas: ['interleaved-thinking-2025-05-14', 'context-1m-2025-08-07'] })
      .finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: DEFAULT_ANSWER }]);
    const sent = claude.exchanges.at(-1);
    expect(sent?.requestHeaders['anthropic-beta']).toBe('interleaved-thinking-2025-05-14,context-1m-2025-08-07');
    expect(JSON.parse(sent?.requestBody.toString('utf8') ?? '{}')).toMatchObject({ stream: true });
  });

  it('a request without the header is sent without one', async () => {
    await anthropicClient().messages.create(request(CLAUDE));
    expect(claude.exchanges.at(-1)?.requestHeaders['anthropic-beta']).toBeUndefined();
  });
});

describe('to an OpenAI-wire engine', () => {
  it('the betas are not sent; the answer names anthropic-beta in x-syndicate-ignored-fields and the evidence warns', async () => {
    const { data: message, response } = await anthropicClient()
      .messages.create({ ...request(LOCAL), metadata: { user_id: 'u-1' } }, betaHeader)
      .withResponse();
    expect(message.content).toEqual([{ type: 'text', text: DEFAULT_ANSWER }]);
    const sent = ollama.exchanges.at(-1);
    expect(sent?.requestHeaders['anthropic-beta']).toBeUndefined();
    expect(sent?.requestBody.toString('utf8')).not.toContain('interleaved-thinking');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('anthropic-beta, metadata');
    const evidence = await completedEvidence(response.headers.get('x-syndicate-evidence'));
    expect(evidence?.warnings).toContainEqual({ setting: 'anthropicBeta', message: expect.stringContaining(CLAUDE_CODE_BETAS) as unknown });
    expect(recordedHeaders(evidence)['anthropic-beta']).toBeUndefined();
  });

  it('streamed: the header comes with the first part', async () => {
    const { data: stream, response } = await anthropicClient()
      .messages.create({ ...request(LOCAL), stream: true }, betaHeader)
      .withResponse();
    let text = '';
    for await (const event of stream) if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    expect(text).toBe(DEFAULT_ANSWER);
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('anthropic-beta');
    expect(ollama.exchanges.at(-1)?.requestHeaders['anthropic-beta']).toBeUndefined();
  });
});

describe('a malformed or suspicious anthropic-beta header', () => {
  it('is refused with a 400 in the Anthropic error shape naming the header; nothing is sent', async () => {
    const exchanges = claude.exchanges.length + ollama.exchanges.length;
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_TOKEN, 'anthropic-version': '2023-06-01', 'anthropic-beta': 'context-1m-2025-08-07; x=1' },
      body: JSON.stringify(request(CLAUDE)),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringMatching(/^header anthropic-beta must be a comma-separated list of beta names/) as unknown },
    });
    expect(claude.exchanges.length + ollama.exchanges.length).toBe(exchanges);
  });

  it('is classified before it could leave: a credential in it keeps the request off hosted providers', async () => {
    const exchanges = claude.exchanges.length;
    const refused = anthropicClient().messages.create(request(CLAUDE), { headers: { 'anthropic-beta': 'ghp_Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8' } });
    await expect(refused).rejects.toMatchObject({ status: 403, message: expect.stringContaining('restricted request') as unknown });
    expect(claude.exchanges.length).toBe(exchanges);
  });
});
