import { describe, expect, it } from 'vitest';
import { StopStringFilter } from '../../../src/engines/server/stop-strings.js';

function feed(stops: string[], chunks: string[]): { sent: string[]; answer: string; matched: boolean } {
  const filter = new StopStringFilter(stops);
  const sent = chunks.map((chunk) => filter.push(chunk));
  sent.push(filter.flush());
  return { sent, answer: filter.answer, matched: filter.matched };
}

describe('StopStringFilter', () => {
  it('passes text through when there are no stop strings', () => {
    expect(feed([], ['ab', 'cd'])).toEqual({ sent: ['ab', 'cd', ''], answer: 'abcd', matched: false });
  });

  it('cuts before a stop string that falls inside one chunk, keeping spacing as generated', () => {
    expect(feed(['er'], ['ex', 'per', 'i'])).toEqual({ sent: ['ex', 'p', '', ''], answer: 'exp', matched: true });
  });

  it('holds back a possible start of a stop string until it is decided', () => {
    expect(feed(['END'], ['one E', 'N', 'D two'])).toEqual({ sent: ['one ', '', '', ''], answer: 'one ', matched: true });
    expect(feed(['END'], ['one E', 'Nx'])).toEqual({ sent: ['one ', 'ENx', ''], answer: 'one ENx', matched: false });
  });

  it('stops at the earliest of several stop strings', () => {
    expect(feed(['c', 'b'], ['abc'])).toEqual({ sent: ['a', ''], answer: 'a', matched: true });
  });

  it('ignores text after the stop', () => {
    const filter = new StopStringFilter(['x']);
    expect(filter.push('axb')).toBe('a');
    expect(filter.push('more')).toBe('');
    expect(filter.answer).toBe('a');
  });
});
