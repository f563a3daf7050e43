import { describe, expect, it } from 'vitest';
import { addFromCatalog } from '../../../src/catalog/add.js';
import { UsageError } from '../../../src/errors.js';

/** The usage error `provider add NAME --base-url URL` stops at, before any store is opened or engine asked. */
async function refusal(name: string, baseUrl: string): Promise<UsageError> {
  const error = await addFromCatalog(
    () => {
      throw new Error('the store was opened');
    },
    name,
    { baseUrl },
  ).catch((caught: unknown) => caught);
  if (!(error instanceof UsageError)) throw new Error(`not refused as a usage error: ${String(error)}`);
  return error;
}

describe('provider add --base-url that is no http(s) URL', () => {
  it('an address without its scheme, as engines print them: the hint writes the scheme onto it', async () => {
    const bare = await refusal('llama.cpp', '127.0.0.1:8081');
    expect(bare.message).toBe('--base-url "127.0.0.1:8081" is not an http(s) URL');
    expect(bare.hint).toBe('write its scheme: --base-url http://127.0.0.1:8081');
    expect((await refusal('ollama', 'localhost:11434/v1')).hint).toBe('write its scheme: --base-url http://localhost:11434/v1');
  });

  it('anything else: the catalog entry\'s own base URL as the example', async () => {
    expect((await refusal('llama.cpp', 'foo')).hint).toBe('e.g. --base-url http://127.0.0.1:8080/v1');
  });
});
