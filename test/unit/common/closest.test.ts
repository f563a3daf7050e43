import { describe, expect, it } from 'vitest';
import { closest } from '../../../src/common/closest.js';

describe('closest', () => {
  it('names the nearest within two edits, a case-only difference first', () => {
    expect(closest('modles', ['models', 'deviations'])).toBe('models');
    expect(closest('Models', ['modes', 'models'])).toBe('models');
    expect(closest('nope', ['ollama-local'])).toBeUndefined();
  });

  it('between names as near, the one that begins as the misspelling does (olama: ollama, not llama)', () => {
    expect(closest('olama', ['llama', 'ollama'])).toBe('ollama');
    expect(closest('llamma', ['llama', 'ollama'])).toBe('llama');
  });
});
