import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../src/errors.js';
import { isContentFiltered, upstreamConditionOf } from '../../../src/wire/error-scope.js';
import { decodeOpenAIResponse, decodeOpenAIStreamEvent, openAIFinishReason } from '../../../src/wire/openai/adapter.js';
import { parseServerSentEvents } from '../../../src/wire/sse.js';
import { StreamAccumulator } from '../../../src/wire/stream-accumulator.js';

const fixture = (name: string): string => readFileSync(resolve(import.meta.dirname, '..', '..', 'fixtures', 'wire', 'openai', name), 'utf8');

/**
 * Zhipu GLM's finish reasons beside OpenAI's (docs.bigmodel.cn, chat completions): `sensitive`, its
 * safety review cutting the answer (OpenAI's `content_filter`), and `network_error`, its inference
 * failing — in an HTTP 200 answer, which read as a finish reason it does not know was a complete
 * answer (`other`), exit 0 with the answer cut short.
 */
describe('Zhipu GLM finish reasons', () => {
  it('sensitive is a content filter, whole and streamed; model_context_window_exceeded a length', () => {
    const response = decodeOpenAIResponse(fixture('glm-sensitive.json'));
    expect(response.finishReason).toBe('content_filter');
    expect(response.rawFinishReason).toBe('sensitive');
    expect(openAIFinishReason('model_context_window_exceeded')).toBe('length');
    const [event] = parseServerSentEvents('data: {"id":"a","model":"glm-5.3","choices":[{"index":0,"finish_reason":"sensitive","delta":{"content":""}}]}\n\n');
    expect(decodeOpenAIStreamEvent(event!)).toContainEqual({ type: 'finish', finishReason: 'content_filter', rawFinishReason: 'sensitive' });
  });

  it('network_error in a whole answer is a retryable upstream failure, not an answer', () => {
    let thrown: unknown;
    try {
      decodeOpenAIResponse(fixture('glm-network-error.json'));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UpstreamError);
    expect((thrown as UpstreamError).code).toBe('upstream_inference_failed');
    expect((thrown as UpstreamError).isRetryable).toBe(true);
    expect((thrown as UpstreamError).message).toContain('network_error');
  });

  it('network_error in a stream is an error in the stream after the text, with no finish', () => {
    const accumulator = new StreamAccumulator();
    for (const event of parseServerSentEvents(fixture('glm-network-error.chunks.txt'))) {
      for (const part of decodeOpenAIStreamEvent(event)) accumulator.add(part);
    }
    expect(accumulator.error?.message).toContain('network_error');
    expect(accumulator.finished).toBe(false);
    expect(accumulator.toResponse().text).toBe('The capital of France is');
  });
});

/** GLM's 1301 (its safety review refused the input or the answer): a content filter, the request's and not the provider's health. */
describe('a provider content filter refusing the request', () => {
  it('GLM 1301 and Azure/Moonshot content_filter are content filtered; other 400s and 429s are not', () => {
    expect(isContentFiltered(400, fixture('error-400-glm-1301.json'))).toBe(true);
    expect(upstreamConditionOf(400, fixture('error-400-glm-1301.json'))).toBeUndefined();
    expect(isContentFiltered(400, '{"error":{"type":"content_filter","message":"The request was rejected because it was considered high risk"}}')).toBe(true);
    expect(isContentFiltered(400, fixture('error-400-vllm.json'))).toBe(false);
    expect(isContentFiltered(429, '{"error":{"code":"1302","message":"并发数过高"}}')).toBe(false);
    expect(isContentFiltered(500, fixture('error-400-glm-1301.json'))).toBe(false);
  });
});
