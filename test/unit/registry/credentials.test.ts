import { describe, expect, it } from 'vitest';
import { credentialOf, engineCredentialHeaders, missingCredential } from '../../../src/registry/credentials.js';
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

  it('names the variable when it holds whitespace alone (an `export KEY=" "`, a blank line read into it)', () => {
    expect(missingCredential(record({ env: 'ANTHROPIC_API_KEY' }), { ANTHROPIC_API_KEY: '  ' })).toBe('ANTHROPIC_API_KEY');
    expect(missingCredential(record({ env: 'ANTHROPIC_API_KEY' }), { ANTHROPIC_API_KEY: '\r\n' })).toBe('ANTHROPIC_API_KEY');
  });

  it('is undefined when the key is set, or the record needs none', () => {
    expect(missingCredential(record({ env: 'ANTHROPIC_API_KEY' }), { ANTHROPIC_API_KEY: 'sk-ant-test' })).toBeUndefined();
    expect(missingCredential(record(), {})).toBeUndefined();
  });
});

/**
 * A key read with the end of its line (a `.env` saved with CRLF line ends, `read` or a heredoc):
 * sent as it was, its line break failed the call before it was sent, as "a bug in the wire
 * adapter" (exit 70). No key carries whitespace around it, so it is sent without.
 */
describe('credentialOf', () => {
  it('is the key without the whitespace around it, as every header carrying it sends it', () => {
    expect(credentialOf(record({ env: 'ANTHROPIC_API_KEY' }), { ANTHROPIC_API_KEY: 'sk-ant-test\r\n' })).toBe('sk-ant-test');
    expect(credentialOf(record({ env: 'ANTHROPIC_API_KEY' }), { ANTHROPIC_API_KEY: ' sk-ant-test ' })).toBe('sk-ant-test');
    expect(engineCredentialHeaders({ auth: { env: 'LLAMA_KEY' }, wire: 'openai' }, { LLAMA_KEY: 'secret\n' })).toEqual({ authorization: 'Bearer secret' });
  });

  it('is undefined when the record needs no key, or its variable is unset, empty or blank', () => {
    expect(credentialOf(record(), { ANTHROPIC_API_KEY: 'sk-ant-test' })).toBeUndefined();
    expect(credentialOf(record({ env: 'ANTHROPIC_API_KEY' }), {})).toBeUndefined();
    expect(credentialOf(record({ env: 'ANTHROPIC_API_KEY' }), { ANTHROPIC_API_KEY: ' \n' })).toBeUndefined();
  });
});
