import { describe, expect, it } from 'vitest';
import { BUILT_IN_DETECTORS, classifyRequest, classifyText, type Detector } from '../../../src/classify/index.js';
import type { CanonicalRequest } from '../../../src/wire/canonical.js';

const OPTIONS = { indicatorWords: [], patterns: [] };

function userRequest(text: string): CanonicalRequest {
  return { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text }] }], stream: false };
}

const throwingDetector: Detector = {
  id: 'test.throwing',
  scan() {
    throw new Error('boom');
  },
};

describe('the classifier fails closed', () => {
  it('a detector that throws makes a public text restricted, with a classifier.error finding', () => {
    const result = classifyText('what is the capital of France?', { ...OPTIONS, detectors: [...BUILT_IN_DETECTORS, throwingDetector] });
    expect(result.level).toBe('restricted');
    expect(result.failedClosed).toBe(true);
    expect(result.findings).toEqual([
      expect.objectContaining({ detector: 'classifier.error', level: 'restricted', location: 'text', reason: expect.stringContaining("detector 'test.throwing' failed (boom)") }),
    ]);
  });

  it('keeps the other detectors\' findings when one throws', () => {
    const result = classifyText('mail jane@example.com', { ...OPTIONS, detectors: [throwingDetector, ...BUILT_IN_DETECTORS] });
    expect(result.level).toBe('restricted');
    expect(result.findings.map((finding) => finding.detector).sort()).toEqual(['classifier.error', 'pii.email']);
  });

  it('an operator regex that does not compile fails closed instead of throwing', () => {
    const result = classifyRequest(userRequest('nothing sensitive here'), {
      indicatorWords: [],
      patterns: [{ name: 'broken', level: 'internal', regex: '([unclosed' }],
    });
    expect(result.level).toBe('restricted');
    expect(result.failedClosed).toBe(true);
    expect(result.findings[0]).toMatchObject({ detector: 'classifier.error', location: 'messages[0].content[0]' });
    expect(result.findings[0]?.reason).toContain("detector 'operator.pattern' failed");
  });

  it('a detector overrunning the time budget fails closed', () => {
    const slowDetector: Detector = {
      id: 'test.slow',
      scan() {
        const until = performance.now() + 30;
        while (performance.now() < until) {
          // busy: JavaScript regular expressions cannot be interrupted either
        }
        return [];
      },
    };
    const result = classifyText('hello', { ...OPTIONS, detectors: [slowDetector], timeoutMs: 5 });
    expect(result.level).toBe('restricted');
    expect(result.failedClosed).toBe(true);
    expect(result.findings[0]?.reason).toContain('exceeded its time budget');
  });

  it('a malformed request (messages not a list) fails closed', () => {
    const malformed = { model: 'm', messages: 'hello', stream: false } as unknown as CanonicalRequest;
    const result = classifyRequest(malformed, OPTIONS);
    expect(result).toMatchObject({ level: 'restricted', failedClosed: true });
    expect(result.findings[0]).toMatchObject({ detector: 'classifier.error', location: 'request' });
  });

  it('a content part of an unknown type fails closed', () => {
    const request = {
      model: 'm',
      messages: [{ role: 'user', content: [{ type: 'audio', data: 'UklGRg==' }] }],
      stream: false,
    } as unknown as CanonicalRequest;
    const result = classifyRequest(request, OPTIONS);
    expect(result).toMatchObject({ level: 'restricted', failedClosed: true });
    expect(result.findings[0]).toMatchObject({ detector: 'classifier.error', location: 'messages[0].content[0]' });
    expect(result.findings[0]?.reason).toContain("content part of type 'audio' cannot be scanned");
  });

  it('classifyText given something that is not text fails closed', () => {
    const result = classifyText(42 as unknown as string, OPTIONS);
    expect(result).toMatchObject({ level: 'restricted', failedClosed: true });
  });

  it('a detector error message is truncated, and the level cannot be lowered by a hint', () => {
    const longError: Detector = {
      id: 'test.long',
      scan() {
        throw new Error('x'.repeat(1000));
      },
    };
    const result = classifyText('hello', { ...OPTIONS, detectors: [longError], hint: 'public' });
    expect(result.level).toBe('restricted');
    expect(result.findings[0]?.reason.length).toBeLessThan(300);
  });
});
