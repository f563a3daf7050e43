import type { Detector, DetectorMatch } from '../../src/classify/index.js';

/** A detector that records the texts it is given and finds the word "falcon" (confidential). */
export function countingDetector(): Detector & { calls: string[] } {
  const calls: string[] = [];
  return {
    id: 'test.counting',
    calls,
    scan(text: string): DetectorMatch[] {
      calls.push(text);
      const start = text.indexOf('falcon');
      return start < 0 ? [] : [{ detector: 'test.counting', level: 'confidential', reason: 'falcon', start, end: start + 6, excerpt: 'falcon' }];
    },
  };
}
