import { describe, expect, it } from 'vitest';
import { providerChoice } from '../../../src/invoke/provider-choice.js';

describe('providerChoice', () => {
  it('reads a provider, or provider:model with the model kept as provider:model (model ids may hold colons)', () => {
    expect(providerChoice(undefined)).toEqual({});
    expect(providerChoice('ollama')).toEqual({ provider: 'ollama' });
    expect(providerChoice('ollama:llama3.2:3b')).toEqual({ provider: 'ollama', model: 'ollama:llama3.2:3b' });
  });

  it('an empty provider or model is a usage error naming the option, not "no provider  is registered"', () => {
    expect(() => providerChoice(':x', 'provider')).toThrow('provider ":x" names no provider');
    expect(() => providerChoice('ollama:')).toThrow('--provider "ollama:" names no model');
  });
});
