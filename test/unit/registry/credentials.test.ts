import { describe, expect, it } from 'vitest';
import { missingCredential } from '../../../src/registry/credentials.js';
import type { ProviderRecord } from '../../../src/registry/types.js';

const record = (auth?: ProviderRecord['auth']): ProviderRecord => ({
  apiVersion: 'syndicate/v1',
  kind: 'Provider',
  id: 'anthropic-hosted',
  class: 'approved_hosted',
  wire: 'anthropic',
  baseUrl: 'https://api.anthropic.com',
  ...(auth === undefined ? {} : { auth }),
  models: [{ id: 'claude-sonnet-4-5', contextWindow: 200_000, capabilityClass: 'large' }] as ProviderRecord['models'],
  deviations: [],
});

describe('missingCredential', () => {
  it('names the variable when it is unset or empty', () => {
    expect(missingCredential(record({ env: 'ANTHROPIC_API_KEY' }), {})).toBe('ANTHROPIC_API_KEY');
    expect(missingCredential(record({ env: 'ANTHROPIC_API_KEY' }), { ANTHROPIC_API_KEY: '' })).toBe('ANTHROPIC_API_KEY');
  });

  it('is undefined when the key is set, or the record needs none', () => {
    expect(missingCredential(record({ env: 'ANTHROPIC_API_KEY' }), { ANTHROPIC_API_KEY: 'sk-ant-test' })).toBeUndefined();
    expect(missingCredential(record(), {})).toBeUndefined();
  });
});
