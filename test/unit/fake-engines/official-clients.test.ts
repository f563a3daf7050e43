import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine, type FakeEngineKind } from '../../helpers/fake-engines/index.js';

let engine: FakeEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

/** The official SDKs parse what the fakes send: a shape error here means a fake drifted from the real wire format. */
describe.each([
  { kind: 'ollama', model: 'llama3.2:latest' },
  { kind: 'llama.cpp', model: 'qwen2.5-0.5b-instruct-q4_k_m.gguf' },
  { kind: 'vllm', model: 'Qwen/Qwen2.5-1.5B-Instruct' },
  { kind: 'lmstudio', model: 'qwen2.5-7b-instruct' },
  { kind: 'openai', model: 'gpt-4o-mini' },
] as Array<{ kind: FakeEngineKind; model: string }>)('openai SDK against $kind', ({ kind, model }) => {
  it('reads a completion and a stream with usage', async () => {
    engine = await startFakeEngine({ kind });
    const client = new OpenAI({ baseURL: engine.baseUrl, apiKey: 'sk-test', maxRetries: 0 });
    const completion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Capital of France?' }] });
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Capital of France?' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: number | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage.completion_tokens;
    }
    expect(text).toBe(DEFAULT_ANSWER);
    // LM Studio sends it from 0.3.18 on (the fake's default release); llama.cpp counts the end-of-generation token.
    expect(usage).toBe(kind === 'llama.cpp' ? 8 : 7);
  });
});

describe('anthropic SDK against the anthropic fake', () => {
  it('reads a message and a stream', async () => {
    engine = await startFakeEngine({ kind: 'anthropic' });
    const client = new Anthropic({ baseURL: engine.baseUrl, apiKey: 'sk-ant-test', maxRetries: 0 });
    const message = await client.messages.create({ model: 'claude-sonnet-4-20250514', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    expect(message.content[0]).toEqual({ type: 'text', text: DEFAULT_ANSWER });
    const stream = client.messages.stream({ model: 'claude-sonnet-4-20250514', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: DEFAULT_ANSWER });
    expect(final.usage.output_tokens).toBe(7);
    expect(final.stop_reason).toBe('end_turn');
  });

  it('rebuilds a streamed tool_use input', async () => {
    engine = await startFakeEngine({ kind: 'anthropic' });
    const client = new Anthropic({ baseURL: engine.baseUrl, apiKey: 'sk-ant-test', maxRetries: 0 });
    const stream = client.messages.stream({
      model: 'claude-sonnet-4-20250514',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
    });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { location: DEFAULT_ANSWER } });
  });
});
