/**
 * `run` leaves out the `max_tokens` the anthropic wire filled in unless the answer was cut at it:
 * it knows that warning by its code (`max_tokens_filled_in`, the value sent beside it), not by the
 * words of its message, which are for people.
 */
import { describe, expect, it } from 'vitest';
import { printedWarnings } from '../../../src/invoke/summary.js';
import { encodeAnthropicRequest } from '../../../src/wire/anthropic/adapter.js';
import type { CanonicalResponse, WireWarning } from '../../../src/wire/canonical.js';

const cut: Pick<CanonicalResponse, 'finishReason' | 'rawFinishReason'> = { finishReason: 'length', rawFinishReason: 'max_tokens' };
const ended: Pick<CanonicalResponse, 'finishReason' | 'rawFinishReason'> = { finishReason: 'stop', rawFinishReason: 'end_turn' };

function printed(warnings: WireWarning[], response: Pick<CanonicalResponse, 'finishReason' | 'rawFinishReason'>): WireWarning[] {
  return printedWarnings({ warnings, response: response as CanonicalResponse });
}

describe('the warning of a max_tokens the anthropic wire filled in', () => {
  it('carries its code and the value sent', () => {
    const { warnings } = encodeAnthropicRequest({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], stream: false }, { baseUrl: 'x', defaultMaxTokens: 777 });
    expect(warnings).toContainEqual({ setting: 'maxTokens', message: 'the anthropic wire requires max_tokens; none was given, so 777 was sent', code: 'max_tokens_filled_in', value: 777 });
  });

  it('is known by its code whatever its words: left out of an answer that ended, the value it records named in one cut at it', () => {
    const filledIn: WireWarning = { setting: 'maxTokens', message: 'max_tokens was filled in', code: 'max_tokens_filled_in', value: 2048 };
    expect(printed([filledIn], ended)).toEqual([]);
    expect(printed([filledIn], cut)).toEqual([{ ...filledIn, message: expect.stringMatching(/^the answer was cut at 2048 tokens \(stop reason max_tokens\), the max_tokens sent for want of one .*: ask for more with --max-tokens$/) }]);
  });

  it('words like it without its code are printed as they are', () => {
    const lookalike: WireWarning = { setting: 'maxTokens', message: 'the anthropic wire requires max_tokens; none was given, so 1024 was sent' };
    expect(printed([lookalike], ended)).toEqual([lookalike]);
  });
});
