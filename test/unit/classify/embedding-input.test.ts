import { describe, expect, it } from 'vitest';
import { classifyRequest } from '../../../src/classify/index.js';
import type { CanonicalRequest, EmbeddingInput } from '../../../src/wire/canonical.js';

const OPTIONS = { indicatorWords: [], patterns: [] };

function embedding(input: EmbeddingInput): CanonicalRequest {
  return { model: 'auto', messages: [], stream: false, embedding: { input, encodingFormat: 'float' } };
}

describe('an embeddings request is classified before it leaves the host', () => {
  it('scans every input text, each finding located at its input', () => {
    const result = classifyRequest(embedding({ kind: 'texts', texts: ['a harmless paragraph', 'connect with postgres://app:S3cr3t-Pa55w0rd@db.internal:5432/orders'] }), OPTIONS);
    expect(result.level).toBe('restricted');
    expect(result.failedClosed).toBe(false);
    expect(result.findings.map((finding) => finding.location)).toContain('input[1]');
    expect(result.findings.every((finding) => finding.location !== 'input[0]')).toBe(true);
  });

  it('finds a value a chunker cut between two adjacent inputs, located at the pair (the provider gets both in one body)', () => {
    const split = [
      ['Refund the payment made with card 4111 1111', '1111 1111 on 3 March.', 'pii.card'],
      ['The staging key is AKIAIOSFOD', 'NN7EXAMPLE; rotate it.', 'secret.aws-access-key-id'],
    ] as const;
    for (const [first, second, detector] of split) {
      const result = classifyRequest(embedding({ kind: 'texts', texts: ['an unrelated paragraph', first, second] }), OPTIONS);
      expect(result.findings.map((finding) => [finding.detector, finding.location])).toEqual([[detector, 'input[1..2] (joined)']]);
    }
    // Only what spans a boundary: the end of one document beside the start of another is no value.
    const apart = classifyRequest(embedding({ kind: 'texts', texts: ['Order 4111', '1111 shipped', 'Invoice 2024-0193 paid.'] }), OPTIONS);
    expect(apart).toMatchObject({ level: 'public', findings: [] });
  });

  it('is public when no input holds anything sensitive', () => {
    expect(classifyRequest(embedding({ kind: 'texts', texts: ['The quick brown fox.', 'Lorem ipsum.'] }), OPTIONS)).toMatchObject({ level: 'public', failedClosed: false });
  });

  it('fails closed on token ids: only the model\'s tokenizer can read them', () => {
    const result = classifyRequest(embedding({ kind: 'tokens', tokens: [[9906, 1917], [791]] }), OPTIONS);
    expect(result).toMatchObject({ level: 'restricted', failedClosed: true });
    expect(result.findings).toEqual([
      expect.objectContaining({
        location: 'input',
        level: 'restricted',
        reason: "token ids (3 in 2 inputs; only the model's tokenizer can read them) cannot be scanned: treated as restricted",
      }),
    ]);
  });
});
