import { describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { planRoute } from '../../../src/router/plan.js';
import type { CanonicalRequest, EmbeddingInput } from '../../../src/wire/canonical.js';
import { context, exclusionOf, input, order, provider, textRequest } from './fixtures.js';

const ollama = provider({
  id: 'ollama',
  engine: { kind: 'ollama' },
  models: [{ id: 'llama3.2:3b', priority: 9 }, { id: 'nomic-embed-text', kind: 'embedding' }],
});
const llama = provider({ id: 'llama', baseUrl: 'http://127.0.0.1:8080/v1', engine: { kind: 'llama.cpp' }, models: [{ id: 'bge-m3.gguf', kind: 'embedding' }] });
const hosted = provider({
  id: 'openai',
  class: 'approved_hosted',
  baseUrl: 'https://api.openai.com/v1',
  models: [
    { id: 'gpt-4o-mini', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } },
    { id: 'text-embedding-3-small', kind: 'embedding', price: { inputPerMTok: 0.02, outputPerMTok: 0 } },
  ],
});
const anthropic = provider({ id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: 'https://api.anthropic.com', models: [{ id: 'claude-embed', kind: 'embedding', price: { inputPerMTok: 1, outputPerMTok: 0 } }] });
const everyone = [ollama, llama, hosted, anthropic];

function embeddingRequest(inputValue: EmbeddingInput): CanonicalRequest {
  return { model: 'auto', messages: [], stream: false, embedding: { input: inputValue, encodingFormat: 'float' } };
}
const texts = embeddingRequest({ kind: 'texts', texts: ['refactor this function: a document about code'] });

describe('model kinds', () => {
  it('routes a chat request to chat models only, saying why each embedding model is left out', () => {
    const plan = planRoute(input(), context(everyone));
    expect(order(plan).sort()).toEqual(['ollama:llama3.2:3b', 'openai:gpt-4o-mini']);
    expect(exclusionOf(plan, 'ollama:nomic-embed-text')).toMatchObject({ rules: ['model_kind'], reasons: ['an embedding model (kind: embedding): it answers embeddings requests only'] });
    expect(plan.explanation).toContain('ollama:nomic-embed-text (local) — an embedding model (kind: embedding): it answers embeddings requests only');
  });

  it('routes an embeddings request to embedding models on the openai wire only', () => {
    const plan = planRoute(input({ request: texts }), context(everyone));
    expect(order(plan).sort()).toEqual(['llama:bge-m3.gguf', 'ollama:nomic-embed-text', 'openai:text-embedding-3-small']);
    expect(exclusionOf(plan, 'ollama:llama3.2:3b')).toMatchObject({ rules: ['model_kind'], reasons: ['a chat model: embeddings requests go only to models declared kind: embedding'] });
    expect(exclusionOf(plan, 'claude:claude-embed')).toMatchObject({ rules: ['model_kind'], reasons: ['the anthropic wire has no embeddings endpoint'] });
    expect(plan.explanation).toContain('embeddings request (1 text): only models declared kind: embedding on the openai wire');
  });

  it('keeps a restricted embeddings request on local embedding models', () => {
    const plan = planRoute(input({ request: texts, sensitivity: 'restricted' }), context(everyone));
    expect(order(plan).sort()).toEqual(['llama:bge-m3.gguf', 'ollama:nomic-embed-text']);
    expect(exclusionOf(plan, 'openai:text-embedding-3-small')?.rules).toEqual(['class_not_allowed']);
  });

  it('leaves Ollama out for token ids (it embeds text only)', () => {
    const plan = planRoute(input({ request: embeddingRequest({ kind: 'tokens', tokens: [[1, 2, 3]] }), sensitivity: 'restricted' }), context(everyone));
    expect(order(plan)).toEqual(['llama:bge-m3.gguf']);
    expect(exclusionOf(plan, 'ollama:nomic-embed-text')).toMatchObject({ rules: ['token_input'], reasons: ['Ollama embeds text only; this input is token ids'] });
  });

  it('applies no chat task or capability rule, and no output budget, to an embeddings request', () => {
    const policy = defaultPolicy();
    policy.capabilities = { ...policy.capabilities, rules: [{ name: 'big-for-code', when: { task: 'code' }, require: { minCapabilityClass: 'large' } }] };
    const plan = planRoute(input({ request: texts, estimatedPromptTokens: 31_990 }), context([ollama], { policy }));
    expect(order(plan)).toEqual(['ollama:nomic-embed-text']);
    expect(plan.tasks).toEqual([]);
    // The same text as a chat prompt matches the code task, whose rule excludes the small chat model.
    const chat = planRoute(input({ request: textRequest('refactor this function: a document about code') }), context([ollama], { policy }));
    expect(chat.tasks).toEqual(['code']);
    expect(exclusionOf(chat, 'ollama:llama3.2:3b')?.rules).toContain('capability_rule');
  });

  it('prices an embeddings request by its input alone', () => {
    const plan = planRoute(input({ request: texts, estimatedPromptTokens: 1_000_000 }), context([hosted]));
    expect(plan.candidates[0]).toMatchObject({ model: 'text-embedding-3-small', estimatedCostUsd: 0.02 });
  });
});

describe('the window of an embedding model holds each input', () => {
  const short = provider({ id: 'short', engine: { kind: 'llama.cpp' }, models: [{ id: 'bge-small.gguf', kind: 'embedding', contextWindow: 512, priority: 9 }] });
  const long = provider({ id: 'long', engine: { kind: 'ollama' }, models: [{ id: 'nomic-embed-text', kind: 'embedding', contextWindow: 8192 }] });
  const three = embeddingRequest({ kind: 'texts', texts: ['a', 'b', 'c'] });

  it('excludes a model whose window cannot hold the longest input, naming the input and its tokens; the larger window takes it', () => {
    // 511 estimated tokens and the model's 2 special tokens do not fit 512.
    const plan = planRoute(input({ request: three, embeddingInputTokens: [12, 511, 40] }), context([short, long]));
    expect(order(plan)).toEqual(['long:nomic-embed-text']);
    expect(exclusionOf(plan, 'short:bge-small.gguf')).toMatchObject({
      rules: ['context_length'],
      reasons: ['context window 512 < 513 tokens of input[1] (511 estimated, 2 special)'],
    });
    expect(plan.explanation).toContain('short:bge-small.gguf (local) — context window 512 < 513 tokens of input[1] (511 estimated, 2 special)');
  });

  it('keeps a model whose window holds every input with its special tokens exactly', () => {
    const plan = planRoute(input({ request: three, embeddingInputTokens: [12, 510, 40] }), context([short, long]));
    expect(order(plan)).toEqual(['short:bge-small.gguf', 'long:nomic-embed-text']);
  });

  it('names the longest input first and every input too long, as token ids when they are', () => {
    const plan = planRoute(input({ request: three, embeddingInputTokens: [600, 5, 900] }), context([short]));
    expect(order(plan)).toEqual([]);
    expect(exclusionOf(plan, 'short:bge-small.gguf')?.reasons).toEqual(['context window 512 < 902 tokens of input[2] (900 estimated, 2 special); 2 inputs are too long for it: input[2], input[0]']);
    const ids = embeddingRequest({ kind: 'tokens', tokens: [Array.from({ length: 600 }, () => 1)] });
    expect(exclusionOf(planRoute(input({ request: ids, embeddingInputTokens: [600], sensitivity: 'restricted' }), context([short])), 'short:bge-small.gguf')?.reasons).toEqual([
      'context window 512 < 602 tokens of input[0] (600 token ids, 2 special)',
    ]);
  });

  it('keeps an Ollama model when the engine may truncate (Ollama’s truncate), saying it will; other engines refuse such an input', () => {
    const truncating: CanonicalRequest = { ...three, embedding: { ...three.embedding!, truncate: true } };
    const shortOllama = provider({ id: 'short-ollama', engine: { kind: 'ollama' }, models: [{ id: 'all-minilm', kind: 'embedding', contextWindow: 512 }] });
    const plan = planRoute(input({ request: truncating, embeddingInputTokens: [12, 700, 40] }), context([short, shortOllama]));
    expect(order(plan)).toEqual(['short-ollama:all-minilm']);
    expect(plan.candidates[0]?.reasons).toContain('context window 512 < 702 tokens of input[1] (700 estimated, 2 special): the engine truncates it (truncate is not false)');
    expect(exclusionOf(plan, 'short:bge-small.gguf')).toMatchObject({ rules: ['context_length'], reasons: ['context window 512 < 702 tokens of input[1] (700 estimated, 2 special)'] });
  });

  it('checks nothing when no input estimates are given, and never a chat request', () => {
    expect(order(planRoute(input({ request: three }), context([short])))).toEqual(['short:bge-small.gguf']);
    const chatModel = provider({ id: 'chat', models: [{ id: 'm', contextWindow: 512 }] });
    expect(order(planRoute(input({ embeddingInputTokens: [5000] }), context([chatModel])))).toEqual(['chat:m']);
  });
});
