/**
 * The reasoning-effort tables, per wire: what each face decodes, what reaches each server.
 * Servers' own words decide them:
 * - OpenAI (its API reference): "none, minimal, low, medium, high, xhigh, and max"; a model that
 *   does not reason (gpt-4o, gpt-4.1) answers `reasoning_effort` with 400 "Unsupported parameter".
 * - vLLM (entrypoints/openai/protocol.py): `reasoning_effort: Optional[Literal["low", "medium", "high"]]`.
 * - Ollama (openai/openai.go): `invalid reasoning value: '%s' (must be "high", "medium", "low", or "none")`,
 *   none becoming `think: false`.
 * - llama-server (`oaicompat_chat_params_parse`): reads no `reasoning_effort`; unknown fields are copied and ignored.
 * - Anthropic: `thinking: {type: "enabled", budget_tokens}` (at least 1024, below max_tokens); models
 *   that always think take `{type: "adaptive"}` with `output_config.effort` (low ... max) only.
 */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import type { WireTarget } from '../../../src/wire/adapter.js';
import { encodeAnthropicRequest } from '../../../src/wire/anthropic/adapter.js';
import { canonicalRequest, type CanonicalRequest, type RequestSettings } from '../../../src/wire/canonical.js';
import { parseAnthropicMessagesRequest } from '../../../src/wire/anthropic/server.js';
import { parseOllamaChatRequest } from '../../../src/wire/ollama/server.js';
import { encodeOpenAIRequest } from '../../../src/wire/openai/adapter.js';
import { parseResponsesRequest } from '../../../src/wire/openai/responses-server.js';
import { parseOpenAIChatRequest } from '../../../src/wire/openai/server.js';
import { describeEffortCarriage, effortOfThinking, nearestEffort, openAIEffortCarriage, THINKING_BUDGETS } from '../../../src/wire/reasoning.js';

const ask = (settings: RequestSettings): CanonicalRequest => canonicalRequest('m', [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], false, settings);
const effort = (level: NonNullable<CanonicalRequest['reasoningEffort']>['effort']): RequestSettings => ({ reasoningEffort: { effort: level, field: 'reasoning_effort' } });
const sentBody = (request: CanonicalRequest, target: Omit<WireTarget, 'baseUrl'>): Record<string, unknown> =>
  JSON.parse(encodeOpenAIRequest(request, { baseUrl: 'http://127.0.0.1:1/v1', ...target }).body) as Record<string, unknown>;
const anthropicBody = (request: CanonicalRequest, target: Omit<WireTarget, 'baseUrl'> = {}): Record<string, unknown> =>
  JSON.parse(encodeAnthropicRequest(request, { baseUrl: 'http://127.0.0.1:1', ...target }).body) as Record<string, unknown>;

describe('faces decode the effort', () => {
  it('Chat Completions reasoning_effort, every OpenAI level; another value is a 400 naming the field', () => {
    for (const level of ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'] as const) {
      const parsed = parseOpenAIChatRequest(JSON.stringify({ model: 'auto', reasoning_effort: level, messages: [{ role: 'user', content: 'hi' }] }));
      expect(parsed.request.reasoningEffort).toEqual({ effort: level, field: 'reasoning_effort' });
      expect(parsed.ignoredFields).toEqual([]);
    }
    expect(() => parseOpenAIChatRequest(JSON.stringify({ model: 'auto', reasoning_effort: 'extreme', messages: [{ role: 'user', content: 'hi' }] }))).toThrow(InvalidInputError);
  });

  it('Responses reasoning.effort; reasoning.summary is named as ignored', () => {
    const parsed = parseResponsesRequest(JSON.stringify({ model: 'auto', input: 'hi', reasoning: { effort: 'high', summary: 'auto' } }));
    expect(parsed.request.reasoningEffort).toEqual({ effort: 'high', field: 'reasoning.effort' });
    expect(parsed.ignoredFields).toEqual(['reasoning.summary']);
  });

  it.each([
    [false, 'none'],
    [true, 'medium'],
    ['low', 'low'],
    ['high', 'high'],
  ] as const)('Ollama think %s is effort %s', (think, level) => {
    const parsed = parseOllamaChatRequest(JSON.stringify({ model: 'auto', think, messages: [{ role: 'user', content: 'hi' }] }));
    expect('request' in parsed && parsed.request.reasoningEffort).toEqual({ effort: level, field: 'think' });
  });

  it('Anthropic output_config.effort, every level the Messages API takes, beside output_config.format; another value is a 400 naming the field', () => {
    const base = { model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] };
    for (const level of ['low', 'medium', 'high', 'xhigh', 'max'] as const) {
      const parsed = parseAnthropicMessagesRequest(JSON.stringify({ ...base, output_config: { effort: level } }));
      expect(parsed.request.reasoningEffort).toEqual({ effort: level, field: 'output_config.effort' });
      expect(parsed.ignoredFields).toEqual([]);
    }
    const withFormat = parseAnthropicMessagesRequest(JSON.stringify({ ...base, output_config: { effort: 'low', format: { type: 'json_schema', schema: { type: 'object' } } } }));
    expect(withFormat.request).toMatchObject({ reasoningEffort: { effort: 'low', field: 'output_config.effort' }, responseFormat: { type: 'json_schema' } });
    // The Messages API has no none or minimal.
    for (const invalid of ['none', 'minimal', 'extreme', 3]) {
      expect(() => parseAnthropicMessagesRequest(JSON.stringify({ ...base, output_config: { effort: invalid } })), String(invalid)).toThrow(/\/output_config\/effort/);
    }
  });

  it('Anthropic thinking budgets read as efforts, the inverse of the budget table', () => {
    expect(effortOfThinking({ type: 'disabled' })).toBe('none');
    expect(effortOfThinking({ type: 'adaptive' })).toBeUndefined();
    expect(effortOfThinking({ type: 'enabled' })).toBe('medium');
    expect([1024, 2048, 2049, 8192, 8193, 24576, 24577, 49152, 49153].map((budget) => effortOfThinking({ type: 'enabled', budget_tokens: budget }))).toEqual([
      'low', 'low', 'medium', 'medium', 'high', 'high', 'xhigh', 'xhigh', 'max',
    ]);
    for (const [level, budget] of Object.entries(THINKING_BUDGETS)) expect(effortOfThinking({ type: 'enabled', budget_tokens: budget })).toBe(level);
  });
});

describe('openai wire: which servers get reasoning_effort', () => {
  it('per server, from the record: engine, vendor, tags and declared levels', () => {
    expect(openAIEffortCarriage({ vendor: 'openai', modelTags: ['reasoning'] })).toMatchObject({ kind: 'sent', levels: ['low', 'medium', 'high'] });
    expect(openAIEffortCarriage({ vendor: 'openai', modelTags: ['chat'] })).toMatchObject({ kind: 'refused' });
    expect(openAIEffortCarriage({ vendor: 'openai', modelEfforts: ['none', 'low', 'max'] })).toMatchObject({ kind: 'sent', levels: ['none', 'low', 'max'] });
    expect(openAIEffortCarriage({ engine: 'vllm' })).toMatchObject({ kind: 'sent', levels: ['low', 'medium', 'high'] });
    expect(openAIEffortCarriage({ engine: 'ollama', modelTags: ['thinking'] })).toMatchObject({ kind: 'sent', levels: ['none', 'low', 'medium', 'high'] });
    expect(openAIEffortCarriage({ engine: 'ollama' })).toMatchObject({ kind: 'not_honoured' });
    // Declared levels never go past what the engine takes.
    expect(openAIEffortCarriage({ engine: 'ollama', modelEfforts: ['low', 'xhigh'] })).toMatchObject({ kind: 'sent', levels: ['low'] });
    expect(openAIEffortCarriage({ engine: 'llama.cpp', modelTags: ['reasoning'] })).toMatchObject({ kind: 'not_honoured' });
    expect(openAIEffortCarriage({ engine: 'lmstudio', modelTags: ['reasoning'] })).toMatchObject({ kind: 'sent', levels: ['low', 'medium', 'high'] });
    expect(openAIEffortCarriage({ engine: 'lmstudio' })).toMatchObject({ kind: 'not_honoured' });
  });

  it('a level the server lacks goes as the nearest it has; none has no nearest', () => {
    expect(nearestEffort('xhigh', ['low', 'medium', 'high'])).toBe('high');
    expect(nearestEffort('max', ['none', 'low', 'medium', 'high'])).toBe('high');
    expect(nearestEffort('minimal', ['low', 'medium', 'high'])).toBe('low');
    expect(nearestEffort('none', ['low', 'medium', 'high'])).toBeUndefined();
  });

  it('sends the level to OpenAI, vLLM and a thinking Ollama model; says each mapping', () => {
    expect(sentBody(ask(effort('high')), { vendor: 'openai', modelTags: ['reasoning'] })['reasoning_effort']).toBe('high');
    const vllm = encodeOpenAIRequest(ask(effort('xhigh')), { baseUrl: 'http://127.0.0.1:1/v1', engine: 'vllm' });
    expect(JSON.parse(vllm.body)).toMatchObject({ reasoning_effort: 'high' });
    expect(vllm.warnings).toEqual([{ setting: 'reasoningMapping', message: expect.stringContaining('reasoning_effort "xhigh" was sent as reasoning_effort "high"'), fields: [{ setting: 'reasoning', effect: 'changed' }] }]);
    expect(sentBody(ask(effort('none')), { engine: 'ollama', modelTags: ['thinking'] })['reasoning_effort']).toBe('none');
  });

  it('sends nothing where it would not be honoured, and says so', () => {
    const llamaCpp = encodeOpenAIRequest(ask(effort('high')), { baseUrl: 'http://127.0.0.1:1/v1', engine: 'llama.cpp' });
    expect(JSON.parse(llamaCpp.body)).not.toHaveProperty('reasoning_effort');
    expect(llamaCpp.warnings).toEqual([{ setting: 'reasoningEffort', message: expect.stringContaining('llama-server reads no reasoning_effort') }]);
    const vllmNone = encodeOpenAIRequest(ask(effort('none')), { baseUrl: 'http://127.0.0.1:1/v1', engine: 'vllm' });
    expect(JSON.parse(vllmNone.body)).not.toHaveProperty('reasoning_effort');
    expect(vllmNone.warnings).toEqual([{ setting: 'reasoningEffort', message: expect.stringContaining('vLLM takes reasoning_effort low, medium, high only') }]);
    // A model that does not reason asked not to: nothing to send, nothing to say.
    const plain = encodeOpenAIRequest(ask(effort('none')), { baseUrl: 'http://127.0.0.1:1/v1', vendor: 'openai' });
    expect(JSON.parse(plain.body)).not.toHaveProperty('reasoning_effort');
    expect(plain.warnings).toEqual([]);
  });

  it('Anthropic thinking becomes reasoning_effort by its budget; adaptive sends nothing', () => {
    const budgeted = encodeOpenAIRequest(ask({ thinking: { type: 'enabled', budget_tokens: 16000 } }), { baseUrl: 'http://127.0.0.1:1/v1', engine: 'vllm' });
    expect(JSON.parse(budgeted.body)).toMatchObject({ reasoning_effort: 'high' });
    expect(budgeted.warnings).toEqual([{ setting: 'reasoningMapping', message: 'thinking type enabled budget_tokens 16000 (effort high) was sent as reasoning_effort "high"' }]);
    expect(sentBody(ask({ thinking: { type: 'disabled' } }), { engine: 'ollama', modelTags: ['thinking'] })['reasoning_effort']).toBe('none');
    const adaptive = encodeOpenAIRequest(ask({ thinking: { type: 'adaptive' } }), { baseUrl: 'http://127.0.0.1:1/v1', engine: 'vllm' });
    expect(JSON.parse(adaptive.body)).not.toHaveProperty('reasoning_effort');
    expect(adaptive.warnings).toEqual([{ setting: 'thinking', message: expect.stringContaining('adaptive thinking names no effort') }]);
  });
});

describe('anthropic wire: an effort becomes thinking', () => {
  it.each([
    ['low', 1024],
    ['medium', 4096],
    ['high', 16384],
    ['xhigh', 32768],
    ['max', 65536],
  ] as const)('%s: thinking enabled with budget_tokens %d, max_tokens raised above it', (level, budget) => {
    const body = anthropicBody(ask({ ...effort(level), maxTokens: 1000 }));
    expect(body['thinking']).toEqual({ type: 'enabled', budget_tokens: budget });
    expect(body['max_tokens']).toBe(budget + 1000);
  });

  it('keeps a max_tokens already above the budget; leaves out a temperature (thinking takes none)', () => {
    const request = encodeAnthropicRequest(ask({ ...effort('low'), maxTokens: 8000, temperature: 0.2 }), { baseUrl: 'http://127.0.0.1:1' });
    const body = JSON.parse(request.body) as Record<string, unknown>;
    expect(body).toMatchObject({ max_tokens: 8000, thinking: { type: 'enabled', budget_tokens: 1024 } });
    expect(body).not.toHaveProperty('temperature');
    expect(request.warnings).toContainEqual({ setting: 'reasoningMapping', message: expect.stringContaining('temperature 0.2 left out'), fields: [{ setting: 'temperature', effect: 'dropped' }] });
  });

  it('a top_p under 0.95 is raised to it (thinking takes 0.95 to 1), one within is sent as given; both said or not', () => {
    const low = encodeAnthropicRequest(ask({ ...effort('low'), maxTokens: 8000, topP: 0.5 }), { baseUrl: 'http://127.0.0.1:1' });
    expect(JSON.parse(low.body)).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 1024 }, top_p: 0.95 });
    expect(low.warnings).toContainEqual({
      setting: 'reasoningMapping',
      message: 'reasoning_effort "low" was sent as thinking budget_tokens 1024; top_p 0.5 sent as 0.95 (thinking takes 0.95 to 1)',
      fields: [{ setting: 'topP', effect: 'changed' }],
    });
    const within = encodeAnthropicRequest(ask({ ...effort('low'), maxTokens: 8000, topP: 0.97 }), { baseUrl: 'http://127.0.0.1:1' });
    expect(JSON.parse(within.body)).toMatchObject({ top_p: 0.97 });
    expect(within.warnings.map((warning) => warning.message).join('\n')).not.toContain('top_p');
  });

  it('a model that always thinks: its adaptive thinking takes no temperature nor a top_p under 0.95 either', () => {
    const request = encodeAnthropicRequest(ask({ ...effort('high'), maxTokens: 100, temperature: 0.2 }), { baseUrl: 'http://127.0.0.1:1', modelDeviations: ['thinking_always_on'] });
    const body = JSON.parse(request.body) as Record<string, unknown>;
    expect(body).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'high' }, max_tokens: 100 });
    expect(body).not.toHaveProperty('temperature');
    expect(request.warnings).toContainEqual({
      setting: 'reasoningMapping',
      message: 'reasoning_effort "high" was sent as adaptive thinking with output_config.effort "high"; temperature 0.2 left out (thinking takes none)',
      fields: [{ setting: 'temperature', effect: 'dropped' }],
    });
    const topP = anthropicBody(ask({ ...effort('high'), maxTokens: 100, topP: 0.1 }), { modelDeviations: ['thinking_always_on'] });
    expect(topP).toMatchObject({ thinking: { type: 'adaptive' }, top_p: 0.95 });
  });

  it('thinking left off for a tool turn another provider answered: max_tokens, temperature and top_p go as the client sent them, said', () => {
    // The last assistant turn calls a tool without signed reasoning: thinking on would be refused.
    const afterForeignToolCall = (settings: RequestSettings): CanonicalRequest =>
      canonicalRequest(
        'm',
        [
          { role: 'user', content: [{ type: 'text', text: 'weather in Paris?' }] },
          { role: 'assistant', content: [{ type: 'reasoning', text: 'a local engine thought', signature: '' }], toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }] },
          { role: 'tool', toolCallId: 'call_1', content: [{ type: 'text', text: 'sunny' }] },
        ],
        false,
        { ...effort('high'), maxTokens: 1000, tools: [{ name: 'weather', inputSchema: { type: 'object' } }], ...settings },
      );
    for (const target of [{}, { modelDeviations: ['thinking_always_on' as const] }]) {
      const encoded = encodeAnthropicRequest(afterForeignToolCall({ temperature: 0.3 }), { baseUrl: 'http://127.0.0.1:1', ...target });
      const body = JSON.parse(encoded.body) as Record<string, unknown>;
      expect(body).not.toHaveProperty('thinking');
      expect(body).not.toHaveProperty('output_config');
      expect(body).toMatchObject({ max_tokens: 1000, temperature: 0.3 });
      expect(encoded.warnings.filter((warning) => warning.setting === 'reasoningMapping')).toEqual([]);
      const leftOff = encoded.warnings.find((warning) => warning.setting === 'thinking')?.message;
      expect(leftOff).toContain('extended thinking was left off for this request');
      expect(leftOff).toContain('; reasoning_effort "high" was not sent, and max_tokens, temperature and top_p went as the client sent them');
      expect(JSON.parse(encodeAnthropicRequest(afterForeignToolCall({ topP: 0.5 }), { baseUrl: 'http://127.0.0.1:1', ...target }).body)).toMatchObject({ max_tokens: 1000, top_p: 0.5 });
    }
  });

  it('none and minimal send no thinking; a forced tool keeps thinking off, said', () => {
    expect(anthropicBody(ask({ ...effort('none'), maxTokens: 100 }))).not.toHaveProperty('thinking');
    expect(anthropicBody(ask({ ...effort('minimal'), maxTokens: 100 }))).not.toHaveProperty('thinking');
    const forced = encodeAnthropicRequest(
      ask({ ...effort('high'), maxTokens: 100, tools: [{ name: 'f', inputSchema: { type: 'object' } }], toolChoice: 'required' }),
      { baseUrl: 'http://127.0.0.1:1' },
    );
    expect(JSON.parse(forced.body)).not.toHaveProperty('thinking');
    expect(forced.warnings).toContainEqual({ setting: 'reasoningEffort', message: expect.stringContaining('forced tool choice') });
  });

  it('a model that always thinks gets adaptive thinking and output_config.effort', () => {
    const body = anthropicBody(ask({ ...effort('xhigh'), maxTokens: 100 }), { modelDeviations: ['thinking_always_on'] });
    expect(body).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'xhigh' }, max_tokens: 100 });
    expect(anthropicBody(ask({ ...effort('minimal'), maxTokens: 100 }), { modelDeviations: ['thinking_always_on'] })).toMatchObject({ output_config: { effort: 'low' } });
  });

  it("an Anthropic client's output_config.effort to Anthropic's own API: sent back once, as given, beside the client's thinking or alone", () => {
    const clientEffort = (level: 'low' | 'xhigh' | 'max'): RequestSettings => ({ reasoningEffort: { effort: level, field: 'output_config.effort' } });
    const alone = encodeAnthropicRequest(ask({ ...clientEffort('low'), maxTokens: 100 }), { baseUrl: 'http://127.0.0.1:1', vendor: 'anthropic' });
    expect(JSON.parse(alone.body)).toEqual(expect.objectContaining({ output_config: { effort: 'low' }, max_tokens: 100 }));
    expect(JSON.parse(alone.body)).not.toHaveProperty('thinking');
    expect(alone.warnings).toEqual([]);
    expect(anthropicBody(ask({ ...clientEffort('max'), thinking: { type: 'adaptive' }, maxTokens: 100 }), { vendor: 'anthropic' })).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'max' } });
    expect(anthropicBody(ask({ ...clientEffort('xhigh'), thinking: { type: 'enabled', budget_tokens: 2000 }, maxTokens: 4000 }), { vendor: 'anthropic' })).toMatchObject({
      thinking: { type: 'enabled', budget_tokens: 2000 },
      output_config: { effort: 'xhigh' },
      max_tokens: 4000,
    });
    // A model that always thinks: adaptive thinking, the effort written once.
    expect(anthropicBody(ask({ ...clientEffort('xhigh'), maxTokens: 100 }), { vendor: 'anthropic', modelDeviations: ['thinking_always_on'] })).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'xhigh' } });
    const declared = encodeAnthropicRequest(ask({ ...clientEffort('max'), maxTokens: 100 }), { baseUrl: 'http://127.0.0.1:1', vendor: 'anthropic', modelEfforts: ['low', 'medium', 'high'] });
    expect(JSON.parse(declared.body)).toMatchObject({ output_config: { effort: 'high' } });
    expect(declared.warnings).toContainEqual({ setting: 'reasoningMapping', message: expect.stringContaining('output_config.effort "max" was sent as output_config.effort "high"'), fields: [{ setting: 'reasoning', effect: 'changed' }] });
    const withFormat = anthropicBody(ask({ ...clientEffort('low'), maxTokens: 100, responseFormat: { type: 'json_schema', schema: { type: 'object' } } }), { vendor: 'anthropic' });
    expect(withFormat['output_config']).toMatchObject({ effort: 'low', format: { type: 'json_schema', schema: { type: 'object' } } });
  });

  it("an Anthropic client's output_config.effort to another anthropic-wire server: mapped like any effort; beside the client's thinking, not sent and said", () => {
    const clientEffort: RequestSettings = { reasoningEffort: { effort: 'medium', field: 'output_config.effort' } };
    const mapped = encodeAnthropicRequest(ask({ ...clientEffort, maxTokens: 1000 }), { baseUrl: 'http://127.0.0.1:1' });
    expect(JSON.parse(mapped.body)).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 4096 }, max_tokens: 5096 });
    expect(JSON.parse(mapped.body)).not.toHaveProperty('output_config');
    // The client's max_tokens (1000) raised above the budget: a changed setting.
    expect(mapped.warnings).toContainEqual({ setting: 'reasoningMapping', message: expect.stringContaining('output_config.effort "medium" was sent as thinking budget_tokens 4096'), fields: [{ setting: 'maxTokens', effect: 'changed' }] });
    const beside = encodeAnthropicRequest(ask({ ...clientEffort, thinking: { type: 'enabled', budget_tokens: 2000 }, maxTokens: 4000 }), { baseUrl: 'http://127.0.0.1:1' });
    expect(JSON.parse(beside.body)).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 2000 } });
    expect(JSON.parse(beside.body)).not.toHaveProperty('output_config');
    expect(beside.warnings).toContainEqual({ setting: 'reasoningEffort', message: expect.stringContaining('output_config.effort "medium" was not sent') });
  });

  it("an Anthropic client's output_config.effort to openai-wire servers: mapped like any effort", () => {
    const clientEffort = (level: 'low' | 'xhigh'): RequestSettings => ({ reasoningEffort: { effort: level, field: 'output_config.effort' } });
    expect(sentBody(ask(clientEffort('low')), { engine: 'ollama', modelTags: ['thinking'] })['reasoning_effort']).toBe('low');
    // Beside the client's thinking (a budget that reads as high), the effort wins.
    expect(sentBody(ask({ ...clientEffort('low'), thinking: { type: 'enabled', budget_tokens: 20000 } }), { engine: 'ollama', modelTags: ['thinking'] })['reasoning_effort']).toBe('low');
    const vllm = encodeOpenAIRequest(ask(clientEffort('xhigh')), { baseUrl: 'http://127.0.0.1:1/v1', engine: 'vllm' });
    expect(JSON.parse(vllm.body)['reasoning_effort']).toBe('high');
    expect(vllm.warnings).toContainEqual({ setting: 'reasoningMapping', message: expect.stringContaining('output_config.effort "xhigh" was sent as reasoning_effort "high"'), fields: [{ setting: 'reasoning', effect: 'changed' }] });
    const llama = encodeOpenAIRequest(ask(clientEffort('low')), { baseUrl: 'http://127.0.0.1:1/v1', engine: 'llama.cpp' });
    expect(JSON.parse(llama.body)).not.toHaveProperty('reasoning_effort');
    expect(llama.warnings).toContainEqual({ setting: 'reasoningEffort', message: expect.stringContaining('output_config.effort "low" was not sent') });
  });

  it("route --explain says what an Anthropic client's output_config.effort becomes on the anthropic wire", () => {
    const request = ask({ reasoningEffort: { effort: 'max', field: 'output_config.effort' }, maxTokens: 100 });
    expect(describeEffortCarriage(request, { wire: 'anthropic', vendor: 'anthropic', modelEfforts: ['low', 'medium', 'high'] })).toBe('output_config.effort "max" sent as output_config.effort "high"');
    expect(describeEffortCarriage(request, { wire: 'anthropic' })).toBe('output_config.effort "max" sent as thinking budget_tokens 65536');
    expect(describeEffortCarriage({ ...request, thinking: { type: 'adaptive' } }, { wire: 'anthropic' })).toContain('not sent');
  });

  it("the client's own thinking goes as given", () => {
    expect(anthropicBody(ask({ thinking: { type: 'enabled', budget_tokens: 2000 }, maxTokens: 4000 }))).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 2000 }, max_tokens: 4000 });
  });
});
