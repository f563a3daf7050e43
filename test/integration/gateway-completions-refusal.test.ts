/**
 * A model's refusal on the legacy `POST /v1/completions` face, through a real gateway and the
 * official `openai` client's `completions.create`: the Completions API has no refusal field, so
 * the refusal is the choice's `text`, finished `content_filter` (see `completionFinishReason` in
 * src/wire/openai/completions-server.ts), whole and streamed — not an empty text.
 *
 * No engine's `/v1/completions` answers with a refusal field (the router sends text completions
 * only there), so the refusal is made here: the real pipeline asks a fake vLLM, and the answer it
 * returns (and streams) is handed to the gateway as a refusal of those words, the way the canonical
 * model carries OpenAI's `refusal`.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvokeFunction } from '../../src/gateway/index.js';
import { invoke } from '../../src/invoke/pipeline.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const VLLM_MODEL = 'Qwen/Qwen2.5-Coder-1.5B';
const REFUSAL = "I'm sorry, I cannot assist with that request.";
/** Prompts starting so are answered with a refusal (see `refusingInvoke`); others as the engine answered them. */
const REFUSED_PROMPT = 'Refused: def exploit(';

/** The real pipeline, whose answer to a `REFUSED_PROMPT` is turned into a refusal of the same words. */
const refusingInvoke: InvokeFunction = async (context, input) => {
  if (input.request.completion?.prompt.startsWith(REFUSED_PROMPT) !== true) return invoke(context, input);
  const onPart = input.onPart;
  const result = await invoke(context, {
    ...input,
    ...(onPart === undefined ? {} : { onPart: (part) => onPart(part.type === 'text-delta' ? { type: 'refusal-delta', text: part.text } : part) }),
  });
  return { ...result, response: { ...result.response, text: '', refusal: result.response.text } };
};

let vllm: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  vllm = await startFakeEngine({ kind: 'vllm', models: [{ id: VLLM_MODEL }], answer: REFUSAL });
  gateway = await startTestGateway({
    providers: [{ id: 'vllm', class: 'local', wire: 'openai', baseUrl: vllm.baseUrl, engine: 'vllm', models: [{ id: VLLM_MODEL, tags: ['completions'] }] }],
    invoke: refusingInvoke,
  });
}, 90_000);

afterAll(async () => {
  await gateway?.close();
  await vllm?.close();
});

const client = (): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });

describe('a refusal on POST /v1/completions (openai client, completions.create)', () => {
  it('whole: the refusal is the text, finish_reason content_filter; an answer that is no refusal still finishes stop', async () => {
    const refused = await client().completions.create({ model: `vllm:${VLLM_MODEL}`, prompt: REFUSED_PROMPT });
    expect(refused.choices).toEqual([expect.objectContaining({ index: 0, text: REFUSAL, finish_reason: 'content_filter' })]);
    const answered = await client().completions.create({ model: `vllm:${VLLM_MODEL}`, prompt: 'def add(a, b):' });
    expect(answered.choices[0]).toMatchObject({ text: REFUSAL, finish_reason: 'stop' });
  }, 90_000);

  it('streamed: the refusal deltas are the text chunks, the last chunk finishes content_filter', async () => {
    const stream = await client().completions.create({ model: `vllm:${VLLM_MODEL}`, prompt: REFUSED_PROMPT, stream: true });
    let text = '';
    const finishReasons: (string | null)[] = [];
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      text += chunk.choices[0]?.text ?? '';
      finishReasons.push(chunk.choices[0]?.finish_reason ?? null);
    }
    expect(chunks).toBeGreaterThan(2);
    expect(text).toBe(REFUSAL);
    expect(finishReasons.filter((reason) => reason !== null)).toEqual(['content_filter']);
    expect(finishReasons.at(-1)).toBe('content_filter');
  }, 90_000);
});
