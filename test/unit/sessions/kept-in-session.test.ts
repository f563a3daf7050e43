import { describe, expect, it } from 'vitest';
import { keptInSession } from '../../../src/sessions/converse.js';

describe('keptInSession: which answers a stored session keeps as its turn', () => {
  it('not one its provider stopped for its content with no refusal statement (Anthropic stop_reason refusal, a content_filter finish)', () => {
    expect(keptInSession({ finishReason: 'content_filter' })).toBe(false);
  });

  it("a refusal statement of the model's own is its answer, whatever the finish (OpenAI's `refusal`)", () => {
    expect(keptInSession({ finishReason: 'stop', refusal: "I'm sorry, I cannot assist with that request." })).toBe(true);
    expect(keptInSession({ finishReason: 'content_filter', refusal: "I'm sorry, I cannot assist with that request." })).toBe(true);
  });

  it.each([['stop'], ['length'], ['tool_calls'], ['other']] as const)('every other finish (%s)', (finishReason) => {
    expect(keptInSession({ finishReason })).toBe(true);
  });
});
