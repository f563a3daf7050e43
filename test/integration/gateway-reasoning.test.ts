/**
 * Thinking models behind the gateway: Ollama sends reasoning as `reasoning`, llama.cpp and vLLM as
 * `reasoning_content`, apart from the answer. The official clients get it back the way their own
 * ecosystem shows it — OpenAI chat as `reasoning_content`, Anthropic as a `thinking` block when the
 * client enabled thinking — and the evidence keeps the engine's bytes as they came.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getEvidence, listEvidence, type EvidenceRecord } from '../../src/evidence/index.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { Scenario } from '../helpers/scenario.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const REASONING = 'The user asks for a capital. France is a country in Europe; its capital is Paris. Answer briefly.';
const QUESTION = 'What is the capital of France?';

let ollama: FakeEngine;
let llamaCpp: FakeEngine;
let vllm: FakeEngine;
let claude: FakeEngine;
let gateway: TestGateway;
const CLAUDE = 'claude:claude-sonnet-4-20250514';

beforeAll(async () => {
  [ollama, llamaCpp, vllm, claude] = await Promise.all([
    startFakeEngine({ kind: 'ollama', reasoning: REASONING, models: [{ id: 'qwen3:8b' }] }),
    startFakeEngine({ kind: 'llama.cpp', reasoning: REASONING }),
    startFakeEngine({ kind: 'vllm', reasoning: REASONING }),
    startFakeEngine({ kind: 'anthropic', reasoning: REASONING }),
  ]);
  gateway = await startTestGateway({
    providers: [
      { id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollama.baseUrl, engine: 'ollama', models: [{ id: 'qwen3:8b' }] },
      { id: 'llamacpp', class: 'local', wire: 'openai', baseUrl: llamaCpp.baseUrl, engine: 'llama.cpp', models: [{ id: 'qwen2.5-0.5b-instruct-q4_k_m.gguf' }] },
      { id: 'vllm', class: 'local', wire: 'openai', baseUrl: vllm.baseUrl, engine: 'vllm', models: [{ id: 'Qwen/Qwen2.5-1.5B-Instruct' }] },
      { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: 'claude-sonnet-4-20250514', tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] },
    ],
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([ollama?.close(), llamaCpp?.close(), vllm?.close(), claude?.close()]);
});

const openAIClient = (): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
const anthropicClient = (): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });

/** The evidence of an answer once its finish is committed (after the answer's last byte). */
async function completedEvidence(evidenceId: string | null): Promise<EvidenceRecord | undefined> {
  return vi.waitFor(() => {
    const record = getEvidence(gateway.store, evidenceId ?? '');
    expect(record?.state).toBe('completed');
    return record;
  }, { timeout: 20_000, interval: 20 });
}

/** `reasoning_content` is not in the openai package's types; clients read it off the object. */
type WithReasoning = { reasoning_content?: string };

describe('OpenAI chat clients see the reasoning as reasoning_content', () => {
  it.each([
    ['ollama:qwen3:8b', 'reasoning'],
    ['vllm:Qwen/Qwen2.5-1.5B-Instruct', 'reasoning_content'],
  ])('non-streamed from %s (the engine sent `%s`)', async (model, engineField) => {
    const completion = await openAIClient().chat.completions.create({ model, messages: [{ role: 'user', content: QUESTION }] });
    const message = completion.choices[0]?.message as (OpenAI.Chat.Completions.ChatCompletionMessage & WithReasoning) | undefined;
    expect(message?.content).toBe(DEFAULT_ANSWER);
    expect(message?.reasoning_content).toBe(REASONING);
    await vi.waitFor(() => {
      const evidence = getEvidence(gateway.store, listEvidence(gateway.store, { limit: 1 })[0]?.id ?? '');
      expect(evidence?.response.body?.toString('utf8')).toContain(`"${engineField}":"${REASONING}"`);
    }, { timeout: 20_000, interval: 20 });
  });

  it('streamed from llama.cpp: reasoning deltas first, then the answer; the first token is the first reasoning piece', async () => {
    const stream = await openAIClient().chat.completions.create({ model: 'llamacpp:qwen2.5-0.5b-instruct-q4_k_m.gguf', messages: [{ role: 'user', content: QUESTION }], stream: true });
    const order: string[] = [];
    let reasoning = '';
    let content = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as (OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta & WithReasoning) | undefined;
      if (delta?.reasoning_content) {
        reasoning += delta.reasoning_content;
        order.push('reasoning');
      }
      if (delta?.content) {
        content += delta.content;
        order.push('content');
      }
    }
    expect(reasoning).toBe(REASONING);
    expect(content).toBe(DEFAULT_ANSWER);
    expect(order.indexOf('content')).toBeGreaterThan(order.lastIndexOf('reasoning'));
    // A streamed answer's evidence is finished in the commit after its last byte.
    const summary = await vi.waitFor(() => {
      const newest = listEvidence(gateway.store, { limit: 1 })[0];
      expect(newest?.state).toBe('completed');
      return newest;
    }, { timeout: 20_000, interval: 20 });
    expect(summary?.firstTokenMs).toBeLessThan(summary?.totalMs ?? 0);
  });
});

describe('Responses API clients get a reasoning item before the message', () => {
  const expectedOutput = [
    { type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: REASONING }], status: 'completed' },
    { type: 'message', role: 'assistant', status: 'completed', content: [expect.objectContaining({ type: 'output_text', text: DEFAULT_ANSWER })] },
  ];

  it('non-streamed', async () => {
    const response = await openAIClient().responses.create({ model: 'ollama:qwen3:8b', input: QUESTION });
    expect(response.output).toEqual(expectedOutput.map((item) => expect.objectContaining(item)));
    expect(response.output_text).toBe(DEFAULT_ANSWER);
  });

  it('streamed: reasoning_text deltas, then the text; the SDK accumulates both items', async () => {
    const stream = openAIClient().responses.stream({ model: 'llamacpp:qwen2.5-0.5b-instruct-q4_k_m.gguf', input: QUESTION });
    const events: string[] = [];
    stream.on('event', (event) => events.push(event.type));
    const response = await stream.finalResponse();
    expect(response.output).toEqual(expectedOutput.map((item) => expect.objectContaining(item)));
    expect(events.indexOf('response.output_text.delta')).toBeGreaterThan(events.lastIndexOf('response.reasoning_text.delta'));
    expect(events).toContain('response.reasoning_text.done');
  });
});

describe('Anthropic clients get a thinking block when they enabled thinking', () => {
  const request = (thinking: boolean) => ({
    model: 'ollama:qwen3:8b',
    max_tokens: 2048,
    messages: [{ role: 'user' as const, content: QUESTION }],
    ...(thinking ? { thinking: { type: 'enabled' as const, budget_tokens: 1024 } } : {}),
  });

  it('streamed: a thinking block, then the text', async () => {
    const message = await anthropicClient().messages.stream(request(true)).finalMessage();
    expect(message.content).toEqual([
      { type: 'thinking', thinking: REASONING, signature: '' },
      { type: 'text', text: DEFAULT_ANSWER },
    ]);
  });

  it('non-streamed: the same blocks', async () => {
    const message = await anthropicClient().messages.create(request(true));
    expect(message.content).toEqual([
      { type: 'thinking', thinking: REASONING, signature: '' },
      { type: 'text', text: DEFAULT_ANSWER },
    ]);
  });

  it('without thinking enabled: the answer alone, streamed or not', async () => {
    const streamed = await anthropicClient().messages.stream(request(false)).finalMessage();
    expect(streamed.content.map((block) => block.type)).toEqual(['text']);
    const whole = await anthropicClient().messages.create(request(false));
    expect(whole.content).toEqual([{ type: 'text', text: DEFAULT_ANSWER }]);
  });

  it('a thinking block the client replays on its next turn reaches no engine', async () => {
    const message = await anthropicClient().messages.create({
      ...request(true),
      messages: [
        { role: 'user', content: QUESTION },
        { role: 'assistant', content: [{ type: 'thinking', thinking: REASONING, signature: '' }, { type: 'text', text: DEFAULT_ANSWER }] },
        { role: 'user', content: 'And of Italy?' },
      ],
    });
    expect(message.content.at(-1)).toEqual({ type: 'text', text: DEFAULT_ANSWER });
    const sent = ollama.exchanges.at(-1)?.requestBody.toString('utf8') ?? '';
    expect(sent).not.toContain(REASONING);
  });
});

describe('syndicate run and a thinking model', () => {
  let scenario: Scenario;
  beforeAll(async () => {
    scenario = await Scenario.create();
    await scenario.register({ id: 'thinker', engine: llamaCpp });
  }, 30_000);
  afterAll(() => scenario?.cleanup());

  it('--json carries the reasoning beside the answer', async () => {
    const { result, document } = await scenario.json(['run', QUESTION, '--provider', 'thinker', '--no-stream']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ answer: DEFAULT_ANSWER, reasoning: REASONING });
  });

  it.each([['--stream'], ['--no-stream']])('--show-reasoning %s prints it on stderr; stdout holds the answer alone', async (mode) => {
    const result = await scenario.cli(['run', QUESTION, '--provider', 'thinker', '--show-reasoning', mode]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(DEFAULT_ANSWER);
    expect(result.stderr).toContain(REASONING);
  });

  it('without --show-reasoning the reasoning is not printed', async () => {
    const result = await scenario.cli(['run', QUESTION, '--provider', 'thinker', '--stream']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(DEFAULT_ANSWER);
    expect(result.stderr).not.toContain('capital is Paris');
  });
});

describe('Extended thinking with a hosted Anthropic model', () => {
  const THINKING = { type: 'enabled' as const, budget_tokens: 1024 };
  const weather = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } };
  const sentTo = (engine: FakeEngine): Record<string, unknown> => JSON.parse(engine.exchanges.at(-1)?.requestBody.toString('utf8') ?? '{}') as Record<string, unknown>;
  /** The next turn of a tool loop with thinking on: the assistant's tool call led by `reasoning` as the client replays it. */
  const toolLoopTurn = (reasoning: Anthropic.ThinkingBlockParam): Anthropic.MessageCreateParamsNonStreaming => ({
    model: CLAUDE,
    max_tokens: 2048,
    thinking: THINKING,
    tools: [weather],
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: [reasoning, { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'sunny, 21 °C' }] },
    ],
  });

  it('the setting reaches the provider and its signed thinking comes back, streamed or not', async () => {
    const whole = await anthropicClient().messages.create({ model: CLAUDE, max_tokens: 2048, thinking: THINKING, messages: [{ role: 'user', content: QUESTION }] });
    expect(sentTo(claude)['thinking']).toEqual(THINKING);
    const [thinking, text] = whole.content;
    expect(thinking).toMatchObject({ type: 'thinking', thinking: REASONING, signature: expect.stringMatching(/^[A-Za-z0-9+/=]{40,}$/) });
    expect(text).toEqual({ type: 'text', text: DEFAULT_ANSWER });
    const streamed = await anthropicClient().messages.stream({ model: CLAUDE, max_tokens: 2048, thinking: THINKING, messages: [{ role: 'user', content: QUESTION }] }).finalMessage();
    expect(streamed.content[0]).toEqual(thinking);
  });

  it('a tool loop continues: the replayed thinking block goes back with its signature, which the provider checks', async () => {
    const first = await anthropicClient().messages.create({ model: CLAUDE, max_tokens: 2048, thinking: THINKING, messages: [{ role: 'user', content: QUESTION }] });
    const thinking = first.content[0] as Anthropic.ThinkingBlock;
    const next = await anthropicClient().messages.create(toolLoopTurn(thinking));
    expect(next.content.at(-1)).toEqual({ type: 'text', text: DEFAULT_ANSWER });
    const sent = sentTo(claude) as { messages: { content: unknown[] }[] };
    expect(sent.messages[1]?.content[0]).toEqual({ type: 'thinking', thinking: thinking.thinking, signature: thinking.signature });

    // A forged signature is the provider's to refuse, not the gateway's to hide.
    const forged = anthropicClient().messages.create(toolLoopTurn({ ...thinking, signature: 'Zm9yZ2Vk' }));
    await expect(forged).rejects.toMatchObject({ status: 400, message: expect.stringContaining('Invalid `signature`') });
    // The provider refused that request, not every request: it stays available.
    const after = await anthropicClient().messages.create({ model: CLAUDE, max_tokens: 256, messages: [{ role: 'user', content: QUESTION }] });
    expect(after.content).toEqual([{ type: 'text', text: DEFAULT_ANSWER }]);
  });

  it('a tool call answered by another engine (no signed reasoning) continues with thinking left off, said in the evidence', async () => {
    // As a local engine's turn comes back to the client: reasoning without a signature.
    const { data: next, response } = await anthropicClient()
      .messages.create(toolLoopTurn({ type: 'thinking', thinking: REASONING, signature: '' }))
      .withResponse();
    expect(next.content.at(-1)).toEqual({ type: 'text', text: DEFAULT_ANSWER });
    const sent = sentTo(claude) as { thinking?: unknown; messages: { content: { type: string }[] }[] };
    expect(sent.thinking).toBeUndefined();
    expect(sent.messages[1]?.content.map((block) => block.type)).toEqual(['tool_use']);
    const evidence = await completedEvidence(response.headers.get('x-syndicate-evidence'));
    expect(evidence?.warnings).toContainEqual(expect.objectContaining({ setting: 'thinking', message: expect.stringContaining('left off') }));
  });

  it('to a local engine the setting is not sent (the evidence says so) and the engine reasons as it does', async () => {
    const { data: message, response } = await anthropicClient()
      .messages.create({ model: 'ollama:qwen3:8b', max_tokens: 2048, thinking: THINKING, messages: [{ role: 'user', content: QUESTION }] })
      .withResponse();
    expect(message.content[0]).toEqual({ type: 'thinking', thinking: REASONING, signature: '' });
    expect(ollama.exchanges.at(-1)?.requestBody.toString('utf8')).not.toContain('budget_tokens');
    const evidence = await completedEvidence(response.headers.get('x-syndicate-evidence'));
    expect(evidence?.warnings).toContainEqual(expect.objectContaining({ setting: 'thinking' }));
  });
});
