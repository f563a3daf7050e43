import { describe, expect, it } from 'vitest';
import { counted } from '../../../src/cli/output.js';

describe('counted', () => {
  it('puts a count before its noun, singular for one', () => {
    expect(counted(0, 'row')).toBe('0 rows');
    expect(counted(1, 'row')).toBe('1 row');
    expect(counted(100_000, 'row')).toBe('100000 rows');
  });
});
