/**
 * The fake Ollama's token logprobs, version-gated as the real one's: from 0.12.11 (ollama/ollama#12899)
 * in `api.Logprob`'s shape and key order on its OpenAI layer and native `/api/generate`; before
 * (the captured 0.12.6), none — Go's decoder drops the fields it does not know.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../../helpers/fake-engines/index.js';

const MODEL = 'llama3.2:latest';
let current: FakeEngine;
let old: FakeEngine;

const post = async (engine: FakeEngine, path: string, body: unknown): Promise<string> =>
  (await fetch(`${engine.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).text();

const CHAT = { model: MODEL, messages: [{ role: 'user', content: 'hi' }], logprobs: true };

beforeAll(async () => {
  [current, old] = await Promise.all([startFakeEngine({ kind: 'ollama', ollamaVersion: '0.12.11' }), startFakeEngine({ kind: 'ollama' })]);
});

afterAll(async () => {
  await Promise.all([current?.close(), old?.close()]);
});

describe('the fake Ollama’s logprobs', () => {
  it('reports its version', async () => {
    expect(await (await fetch(`${current.url}/api/version`)).json()).toEqual({ version: '0.12.11' });
    expect(await (await fetch(`${old.url}/api/version`)).json()).toEqual({ version: '0.12.6' });
  });

  it('0.12.11, /v1/chat/completions: the choice’s {content: [api.Logprob]} after finish_reason; top_logprobs only when asked for', async () => {
    const whole = await post(current, '/v1/chat/completions', { ...CHAT, top_logprobs: 1 });
    expect(whole).toContain(
      '"finish_reason":"stop","logprobs":{"content":[{"token":"Paris","logprob":-0.0625,"bytes":[80,97,114,105,115],"top_logprobs":[{"token":"Paris","logprob":-0.0625,"bytes":[80,97,114,105,115]}]},{"token":" is",',
    );
    const streamed = await post(current, '/v1/chat/completions', { ...CHAT, stream: true });
    expect(streamed).toContain('"delta":{"role":"assistant","content":"Paris"},"finish_reason":null,"logprobs":{"content":[{"token":"Paris","logprob":-0.0625,"bytes":[80,97,114,105,115]}]}}]}\n\n');
    expect(streamed).toContain('"finish_reason":"stop"}]}\n\n');
    // Its /v1/completions fills no logprobs (ToCompletion).
    expect(await post(current, '/v1/completions', { model: MODEL, prompt: 'hi', suffix: 'x', logprobs: 1 })).not.toContain('logprobs');
  });

  it('0.12.11, /api/generate: each line’s logprobs after done; the whole answer’s after the counters', async () => {
    const lines = (await post(current, '/api/generate', { model: MODEL, prompt: 'hi', raw: true, logprobs: true })).split('\n');
    expect(lines[0]).toMatch(/^\{"model":"llama3\.2:latest","created_at":"[^"]+","response":"Paris","done":false,"logprobs":\[\{"token":"Paris","logprob":-0\.0625,"bytes":\[80,97,114,105,115\]\}\]\}$/);
    expect(lines.at(-2)).not.toContain('logprobs');
    const whole = await post(current, '/api/generate', { model: MODEL, prompt: 'hi', raw: true, logprobs: true, top_logprobs: 2, stream: false });
    expect(whole).toMatch(/"eval_duration":\d+,"logprobs":\[\{"token":"Paris","logprob":-0\.0625,"bytes":\[80,97,114,105,115\],"top_logprobs":\[\{"token":"Paris","logprob":-0\.0625,"bytes":\[80,97,114,105,115\]\},\{"token":"Paris~1","logprob":-0\.3125,/);
    expect(await post(current, '/api/generate', { model: MODEL, prompt: 'hi', raw: true, stream: false })).not.toContain('logprobs');
  });

  it('0.12.6 returns none anywhere', async () => {
    expect(await post(old, '/v1/chat/completions', { ...CHAT, top_logprobs: 1 })).not.toContain('logprobs');
    expect(await post(old, '/v1/chat/completions', { ...CHAT, stream: true })).not.toContain('logprobs');
    expect(await post(old, '/api/generate', { model: MODEL, prompt: 'hi', raw: true, logprobs: true })).not.toContain('logprobs');
  });
});
