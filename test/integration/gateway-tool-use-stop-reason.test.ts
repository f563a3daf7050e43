/**
 * An Anthropic client forcing a tool (`tool_choice` `any` or `tool`: an agent that must get a
 * structured call) through an OpenAI-wire engine. vLLM answers such a call with finish_reason
 * `stop` (guided decoding; only an `auto` choice's parsed calls get `tool_calls`), and OpenAI's API
 * answers a named function the same way; the Messages API ends every turn that calls a tool with
 * `stop_reason: "tool_use"`, which agents' loops test. The gateway answers `tool_use`, streamed
 * and not, and passes the engine's own `stop` on to an OpenAI client unchanged.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const MODEL = 'vllm:Qwen/Qwen2.5-1.5B-Instruct';
const WEATHER = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } };

let vllm: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  vllm = await startFakeEngine({ kind: 'vllm' });
  gateway = await startTestGateway({
    providers: [{ id: 'vllm', class: 'local', wire: 'openai', baseUrl: vllm.baseUrl, engine: 'vllm', models: [{ id: 'Qwen/Qwen2.5-1.5B-Instruct', tags: ['tools'] }] }],
  });
});

afterAll(async () => {
  await gateway?.close();
  await vllm?.close();
});

/** The finish reason vLLM wrote in its last chat answer (the non-streamed body's, or the finish chunk's). */
function engineFinishReason(): string | undefined {
  const exchange = vllm.exchanges.filter((candidate) => candidate.path.endsWith('/chat/completions')).at(-1);
  return /"finish_reason":"(\w+)"/.exec(exchange?.responseBody.toString() ?? '')?.[1];
}

describe('a forced tool call from vLLM, which says finish_reason "stop"', () => {
  const client = (): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });

  it('reaches an Anthropic client with stop_reason tool_use, not end_turn (tool_choice any and tool)', async () => {
    for (const toolChoice of [{ type: 'any' as const }, { type: 'tool' as const, name: WEATHER.name }]) {
      const message = await client().messages.create({
        model: MODEL,
        max_tokens: 200,
        tools: [WEATHER],
        tool_choice: toolChoice,
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
      });
      expect(engineFinishReason()).toBe('stop');
      expect(message.content.map((block) => block.type)).toEqual(['tool_use']);
      expect(message.stop_reason).toBe('tool_use');
      expect(message.stop_sequence).toBeNull();
    }
  });

  it('streamed too: message_delta says tool_use, and finalMessage() has it', async () => {
    const stream = client().messages.stream({
      model: MODEL,
      max_tokens: 200,
      tools: [WEATHER],
      tool_choice: { type: 'tool', name: WEATHER.name },
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    const stopReasons: (string | null)[] = [];
    stream.on('streamEvent', (event) => {
      if (event.type === 'message_delta') stopReasons.push(event.delta.stop_reason);
    });
    const message = await stream.finalMessage();
    expect(engineFinishReason()).toBe('stop');
    expect(stopReasons).toEqual(['tool_use']);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content[0]).toMatchObject({ type: 'tool_use', name: WEATHER.name });
  });

  it('an answer without a tool call still ends end_turn; an OpenAI client gets the engine’s own finish_reason', async () => {
    const plain = await client().messages.create({ model: MODEL, max_tokens: 200, tools: [WEATHER], tool_choice: { type: 'none' }, messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    expect(plain.stop_reason).toBe('end_turn');

    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const completion = await openai.chat.completions.create({
      model: MODEL,
      tools: [{ type: 'function', function: { name: WEATHER.name, parameters: WEATHER.input_schema } }],
      tool_choice: { type: 'function', function: { name: WEATHER.name } },
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    // OpenAI's API answers a named function with `stop` too: nothing to translate for its clients.
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.choices[0]?.message.tool_calls?.[0]).toMatchObject({ type: 'function', function: { name: WEATHER.name } });
  });
});
