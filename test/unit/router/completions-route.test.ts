import { describe, expect, it } from 'vitest';
import { planRoute } from '../../../src/router/plan.js';
import type { CanonicalRequest } from '../../../src/wire/canonical.js';
import { context, exclusionOf, input, order, provider } from './fixtures.js';

const ollama = provider({
  id: 'ollama',
  engine: { kind: 'ollama' },
  models: [
    { id: 'qwen2.5-coder:7b', tags: ['completions', 'fill-in-middle'] },
    { id: 'llama3.2:3b', tags: ['completions'] },
    { id: 'mistral:7b' },
    { id: 'nomic-embed-text', kind: 'embedding' },
  ],
});
const claude = provider({ id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: 'https://api.anthropic.com', models: [{ id: 'claude-sonnet', tags: ['completions'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] });
const everyone = [ollama, claude];

function completionRequest(suffix?: string): CanonicalRequest {
  return { model: 'auto', messages: [], stream: false, completion: { prompt: 'def add(a, b):\n    ', ...(suffix === undefined ? {} : { suffix }) } };
}

describe('text completions', () => {
  it('go only to openai-wire models tagged completions, saying why each other is left out', () => {
    const plan = planRoute(input({ request: completionRequest() }), context(everyone));
    expect(order(plan).sort()).toEqual(['ollama:llama3.2:3b', 'ollama:qwen2.5-coder:7b']);
    expect(exclusionOf(plan, 'ollama:mistral:7b')).toMatchObject({ rules: ['completions'], reasons: ['a text completion (POST /v1/completions) and the model is not tagged completions'] });
    expect(exclusionOf(plan, 'ollama:nomic-embed-text')?.rules).toEqual(['model_kind']);
    expect(exclusionOf(plan, 'claude:claude-sonnet')).toMatchObject({
      rules: ['completions'],
      reasons: ['a text completion (POST /v1/completions) and the anthropic wire has no completions endpoint (a prompt to continue is not translated into a conversation)'],
    });
    expect(plan.explanation).toContain('text completion request: only openai-wire models tagged completions');
  });

  it('with a suffix, only to models also tagged fill-in-middle', () => {
    const plan = planRoute(input({ request: completionRequest('\nprint(add(1, 2))') }), context(everyone));
    expect(order(plan)).toEqual(['ollama:qwen2.5-coder:7b']);
    expect(exclusionOf(plan, 'ollama:llama3.2:3b')).toMatchObject({ rules: ['completions'], reasons: ['a text completion with a suffix (fill in the middle) and the model is not tagged fill-in-middle'] });
    expect(plan.explanation).toContain('text completion request with a suffix (fill in the middle): only openai-wire models tagged completions and fill-in-middle');
  });

  it('leaves chat requests alone: an untagged model still takes a chat', () => {
    const plan = planRoute(input(), context(everyone));
    expect(order(plan)).toContain('ollama:mistral:7b');
  });
});
