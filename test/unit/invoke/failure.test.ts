import { describe, expect, it } from 'vitest';
import { unknownModelError } from '../../../src/invoke/failure.js';
import { provider } from '../router/fixtures.js';

const hintList = (hint: string | undefined): string => /one of: (.*?); `syndicate provider list`/.exec(hint ?? '')?.[1] ?? '';

describe('unknownModelError', () => {
  const up = provider({ id: 'up', models: [{ id: 'a', aliases: ['small'] }] });
  const down = provider({ id: 'down', models: [{ id: 'b' }] });
  const keyless = provider({ id: 'keyless', class: 'approved_hosted', models: [{ id: 'c' }] });
  const retired = provider({ id: 'old', retiredAt: '2025-01-01T00:00:00.000Z', models: [{ id: 'd' }] });
  const why = (entry: { id: string }): string | undefined => ({ down: 'down', keyless: 'key KEYLESS_API_KEY not set' })[entry.id];

  it('lists what can be served now first, then the others marked with why; retired providers not at all', () => {
    const error = unknownModelError('gpt-4o', [down, keyless, retired, up], undefined, why);
    expect(error.message).toBe('unknown model "gpt-4o": no registered model or alias matches');
    expect(hintList(error.hint)).toBe('up:a, small, down:b (down), keyless:c (key KEYLESS_API_KEY not set)');
    expect(error.details).toEqual({ model: 'gpt-4o', known: ['up:a', 'small', 'down:b', 'keyless:c'], unservable: { 'down:b': 'down', 'keyless:c': 'key KEYLESS_API_KEY not set' } });
  });

  it('shows at most eight and counts the rest; servable ones are never pushed out by unservable ones', () => {
    const many = provider({ id: 'many', models: Array.from({ length: 10 }, (_unused, index) => ({ id: `m${index}` })) });
    const list = hintList(unknownModelError('x', [down, many], undefined, why).hint);
    expect(list).toBe('many:m0, many:m1, many:m2, many:m3, many:m4, many:m5, many:m6, many:m7 and 3 more');
  });

  it("names only the pinned provider's models", () => {
    const error = unknownModelError('b', [down, up], 'up', why);
    expect(error.message).toBe('unknown model "b": no model or alias of provider up matches');
    expect(hintList(error.hint)).toBe('up:a, small');
    expect(unknownModelError('x', [], undefined, why).hint).toContain('one of: (none);');
  });
});
