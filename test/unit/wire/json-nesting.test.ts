import { describe, expect, it } from 'vitest';
import { MAX_JSON_NESTING, pointerPastNesting } from '../../../src/wire/json.js';

const nested = (depth: number): unknown => JSON.parse('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));

describe('pointerPastNesting', () => {
  it('finds nothing in a value within the bound, nor in a scalar', () => {
    expect(pointerPastNesting({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: false })).toBeUndefined();
    expect(pointerPastNesting(nested(MAX_JSON_NESTING - 1))).toBeUndefined();
    expect(pointerPastNesting('text')).toBeUndefined();
    expect(pointerPastNesting(null)).toBeUndefined();
  });

  it('names the value itself with an empty pointer when it alone is past the bound', () => {
    expect(pointerPastNesting({ a: 1 }, 0)).toBe('');
  });

  it('names the outer field a too-deep value is in: keys and array indices, at most four segments', () => {
    expect(pointerPastNesting({ tools: [{ parameters: nested(200) }] })).toBe('/tools/0/parameters/a');
    expect(pointerPastNesting({ messages: [1, 2, [nested(3)]] }, 3)).toBe('/messages/2/0');
  });

  it('escapes and shortens the segments it names', () => {
    const long = 'k'.repeat(70);
    expect(pointerPastNesting({ 'a/b~c': { [long]: nested(3) } }, 3)).toBe(`/a~1b~0c/${'k'.repeat(64)}…/a`);
  });

  it('of two values past the bound, names the one in the later field (the walk takes the last first)', () => {
    expect(pointerPastNesting({ first: nested(5), second: [nested(5)] }, 4)).toBe('/second/0/a/a');
    expect(pointerPastNesting([nested(5), nested(5)], 4)).toBe('/1/a/a/a');
  });
});
