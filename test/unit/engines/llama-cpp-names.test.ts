import { describe, expect, it } from 'vitest';
import { sameLlamaCppModel } from '../../../src/engines/control/llama-cpp.js';

describe('llama-server model names against a record\'s', () => {
  it('matches the path a single-model server names its model by to the file name, with or without .gguf', () => {
    expect(sameLlamaCppModel('/models/qwen2.5-7b-instruct-q4_k_m.gguf', 'qwen2.5-7b-instruct-q4_k_m.gguf')).toBe(true);
    expect(sameLlamaCppModel('/models/qwen2.5-7b-instruct-q4_k_m.gguf', 'qwen2.5-7b-instruct-q4_k_m')).toBe(true);
    expect(sameLlamaCppModel('C:\\models\\tiny.gguf', 'tiny.gguf')).toBe(true);
    expect(sameLlamaCppModel('/models/tiny.gguf', '/models/tiny.gguf')).toBe(true);
    expect(sameLlamaCppModel('tiny', 'tiny')).toBe(true);
  });

  it('matches nothing else', () => {
    expect(sameLlamaCppModel('/models/tiny.gguf', 'other.gguf')).toBe(false);
    expect(sameLlamaCppModel('/models/tiny.gguf', 'models/tiny.gguf')).toBe(false);
    // A router's ids (and an --alias) are names, not paths: no file name to read in them.
    expect(sameLlamaCppModel('tiny', 'tiny.gguf')).toBe(false);
    expect(sameLlamaCppModel('tiny.gguf', 'tiny')).toBe(false);
  });
});
