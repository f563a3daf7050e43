/**
 * Edge cases of the official clients against a real gateway over fake engines (the gateway SDK
 * QA pass): what each client reads where the real APIs say more than "it stopped".
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const CLAUDE_MODEL = 'claude-sonnet-4-20250514';
const VLLM_MODEL = 'Qwen/Qwen2.5-1.5B-Instruct';
const OLLAMA_MODEL = 'llama3.2:latest';
const QUESTION = 'What is the capital of France?';

let claude: FakeEngine;
let vllm: FakeEngine;
let ollama: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [claude, vllm, ollama] = await Promise.all([startFakeEngine({ kind: 'anthropic' }), startFakeEngine({ kind: 'vllm' }), startFakeEngine({ kind: 'ollama' })]);
  gateway = await startTestGateway({
    providers: [
      { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: CLAUDE_MODEL, price: { inputPerMTok: 3, outputPerMTok: 15 } }] },
      { id: 'vllm', class: 'local', wire: 'openai', baseUrl: vllm.baseUrl, engine: 'vllm', models: [{ id: VLLM_MODEL }] },
      { id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollama.baseUrl, engine: 'ollama', models: [{ id: OLLAMA_MODEL }] },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([claude?.close(), vllm?.close(), ollama?.close()]);
});

const anthropicClient = (): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });

describe('Anthropic client: stop_sequences', () => {
  const ask = (model: string) => ({ model, max_tokens: 64, stop_sequences: ['nope', 'capital'], messages: [{ role: 'user' as const, content: QUESTION }] });

  it('reads which stop sequence ended the answer, as the Messages API names it, streamed and not (Anthropic upstream)', async () => {
    const message = await anthropicClient().messages.create(ask(`claude:${CLAUDE_MODEL}`));
    expect(message.content).toEqual([{ type: 'text', text: 'Paris is the ' }]);
    expect(message).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'capital' });
    const streamed = await anthropicClient().messages.stream(ask(`claude:${CLAUDE_MODEL}`)).finalMessage();
    expect(streamed).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'capital' });
  });

  it('reads the stop sequence vLLM names in its stop_reason, streamed and not', async () => {
    const message = await anthropicClient().messages.create(ask(`vllm:${VLLM_MODEL}`));
    expect(message).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'capital' });
    const streamed = await anthropicClient().messages.stream(ask(`vllm:${VLLM_MODEL}`)).finalMessage();
    expect(streamed).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'capital' });
  });

  it('is told end_turn with no stop sequence when the engine does not say which one stopped it (Ollama), or none did', async () => {
    const stopped = await anthropicClient().messages.create(ask(`ollama:${OLLAMA_MODEL}`));
    expect(stopped).toMatchObject({ stop_reason: 'end_turn', stop_sequence: null });
    const natural = await anthropicClient().messages.create({ ...ask(`claude:${CLAUDE_MODEL}`), stop_sequences: ['nope'] });
    expect(natural).toMatchObject({ stop_reason: 'end_turn', stop_sequence: null });
  });
});
