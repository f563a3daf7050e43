import { describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { unknownProviderReferences } from '../../../src/policy/references.js';

describe('unknownProviderReferences', () => {
  const withOrder = (order: string[]) => ({ ...defaultPolicy(), fallback: { order, maxHops: 3 } });

  it('names each fallback.order id no registered provider is, with the nearest registered one', () => {
    expect(unknownProviderReferences(withOrder(['ollama', 'lama-cpp', 'gone']), ['ollama', 'llama-cpp', 'claude'])).toEqual([
      'fallback.order names "lama-cpp", which no registered provider is (did you mean "llama-cpp"?): it orders no fallback',
      'fallback.order names "gone", which no registered provider is: it orders no fallback',
    ]);
  });

  it('says nothing when every id is registered, or the order is empty', () => {
    expect(unknownProviderReferences(withOrder(['ollama']), ['ollama', 'claude'])).toEqual([]);
    expect(unknownProviderReferences(defaultPolicy(), [])).toEqual([]);
  });
});
