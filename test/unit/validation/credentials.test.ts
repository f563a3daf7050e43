import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { credentialKind, findLiteralCredentials } from '../../../src/validation/credentials.js';

const PROVIDERS = resolve(import.meta.dirname, '..', '..', '..', 'providers');

describe('literal credential detection', () => {
  it.each([
    ['sk-ant-api03-FAKEfakeFAKEfake0123', 'Anthropic'],
    ['sk-proj-FAKEfakeFAKEfake0123456789', 'OpenAI'],
    ['ghp_FAKEfakeFAKEfakeFAKEfakeFAKEfake0123', 'GitHub'],
    ['AKIAFAKEFAKEFAKEFAKE', 'AWS'],
    ['-----BEGIN RSA PRIVATE KEY-----', 'private key'],
    ['https://user:pass@example.com/v1', 'URL'],
    ['https://example.com/v1?api_key=abc', 'URL query'],
    ['a1b2c3d4e5f60718293a4b5c6d7e8f90.Zx8Yw7Vu6Ts5Rq4P', 'random-looking'],
  ])('flags %s', (text, kind) => {
    expect(credentialKind(text)).toContain(kind);
  });

  it.each([
    'llama3.2:3b',
    'Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf',
    'hf.co/bartowski/Qwen2.5-Coder-32B-Instruct-GGUF:Q4_K_M',
    'claude-sonnet-4-5-20250929',
    'http://127.0.0.1:11434/v1',
    'ANTHROPIC_API_KEY',
    'sha256:2af3b81862c6be03c769683af18efdadb2c33f60ff32ab6f83e42c043d6c7816',
  ])('does not flag %s', (text) => {
    expect(credentialKind(text)).toBeUndefined();
  });

  it('flags any literal under a secret-named key, with its pointer', () => {
    expect(findLiteralCredentials({ auth: { env: 'X', password: 'p' }, models: [{ apiKey: 'short' }] })).toEqual([
      { pointer: '/auth/password', kind: 'a literal value under the secret-named key "password"' },
      { pointer: '/models/0/apiKey', kind: 'a literal value under the secret-named key "apiKey"' },
    ]);
    expect(findLiteralCredentials({ token: '' })).toEqual([]);
  });

  it('finds nothing in any shipped catalog entry or example', () => {
    for (const folder of ['catalog', 'examples']) {
      for (const file of readdirSync(join(PROVIDERS, folder))) {
        expect(findLiteralCredentials(parse(readFileSync(join(PROVIDERS, folder, file), 'utf8'))), file).toEqual([]);
      }
    }
  });
});
