import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { engineDownHint, requireLocalProvider } from '../../../src/engines/manage.js';
import { servedArguments } from '../../../src/engines/server/description.js';
import { embeddedProviderRecord, type LoadedModelInfo } from '../../../src/engines/server/index.js';
import { registerProviderRecord } from '../../../src/registry/register.js';
import { findProvider, retireProvider } from '../../../src/registry/registry.js';
import type { ProviderClass } from '../../../src/common/vocabulary.js';
import { openStore, type Store } from '../../../src/store/store.js';

/** The usage error `requireLocalProvider` throws for `id`. */
function refusal(store: Store, id: string, retired: 'refused' | 'allowed' = 'refused'): UsageError {
  try {
    requireLocalProvider(store, id, retired);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`${id} was not refused`);
}

describe('engine commands: an id that names no provider', () => {
  let store: Store;

  beforeEach(() => {
    store = openStore(':memory:');
  });
  afterEach(() => store.close());

  async function register(id: string, providerClass: ProviderClass, baseUrl: string): Promise<void> {
    await registerProviderRecord(
      store,
      {
        apiVersion: 'syndicate/v1',
        kind: 'Provider',
        id,
        class: providerClass,
        wire: 'openai',
        baseUrl,
        ...(providerClass === 'local' ? {} : { auth: { env: 'EXAMPLE_API_KEY' } }),
        models: [{ id: 'small', contextWindow: 4096, capabilityClass: 'small' }],
        deviations: [],
      },
      'test',
    );
  }

  it('offers only the local providers the command takes: never a hosted one, nor a retired one unless the command takes those', async () => {
    await register('engine', 'local', 'http://127.0.0.1:8080/v1');
    await register('old-engine', 'local', 'http://127.0.0.1:8081/v1');
    await register('hosted', 'approved_hosted', 'https://api.example.com/v1');
    retireProvider(store, 'old-engine');

    const unknown = refusal(store, 'nope');
    expect(unknown.message).toBe('unknown provider "nope"');
    expect(unknown.hint).toBe('local providers: engine');
    expect(unknown.details).toEqual({ knownProviders: ['engine'] });
    // A typo is suggested among the same ids.
    expect(refusal(store, 'engin').message).toBe('unknown provider "engin" (did you mean "engine"?)');
    // `engine stop` takes a retired engine (one started before its retirement must stay stoppable).
    expect(refusal(store, 'nope', 'allowed').hint).toBe('local providers: engine, old-engine');
  });

  it('with no local provider registered, says how to register one', async () => {
    await register('hosted', 'approved_hosted', 'https://api.example.com/v1');
    expect(refusal(store, 'ollama').hint).toBe(
      'no local provider is registered; `syndicate provider add NAME` registers a running engine, `syndicate engine serve --model FILE --register ID` serves a GGUF model as one',
    );
  });
});

describe('an engine that does not answer: how to start it', () => {
  let store: Store;

  beforeEach(() => {
    store = openStore(':memory:');
  });
  afterEach(() => store.close());

  it('an `engine serve --register` record: the command that serves its model again, with the file and port it had', async () => {
    const info: LoadedModelInfo = {
      id: 'tiny',
      path: '/models/my tiny.gguf',
      backend: 'cpu',
      contextWindow: 2048,
      trainedContextWindow: 2048,
      sizeBytes: 4_783_104,
      chatWrapper: 'JinjaTemplate',
      chatTemplate: undefined,
      threads: 1,
      parallel: 1,
      llamaCppRelease: 'b0000',
      loadMs: 1,
    };
    await registerProviderRecord(store, embeddedProviderRecord('embedded', 'http://127.0.0.1:8090/v1', info), 'test');
    const provider = findProvider(store, 'embedded');
    if (provider === undefined) throw new Error('not registered');
    expect(engineDownHint(provider, null)).toBe(
      "serve its model again: `syndicate engine serve --model '/models/my tiny.gguf' --port 8090 --register embedded`, or fix its baseUrl (http://127.0.0.1:8090/v1)",
    );
    // Served with options besides the defaults: the command repeats them (a proxy's --allow-host would otherwise be 403 after the restart).
    const served = servedArguments({ host: '127.0.0.1', gpu: 'cpu', parallel: 2, threads: 3, contextSize: 1024, allowedHosts: ['llm.example.org', 'proxy.internal'], drainTimeout: '8s' });
    await registerProviderRecord(store, embeddedProviderRecord('embedded', 'http://127.0.0.1:8090/v1', info, served), 'test');
    const withOptions = findProvider(store, 'embedded');
    if (withOptions === undefined) throw new Error('not registered');
    expect(engineDownHint(withOptions, null)).toBe(
      "serve its model again: `syndicate engine serve --model '/models/my tiny.gguf' --port 8090 --threads 3 --gpu cpu --context 1024 --parallel 2 --allow-host llm.example.org proxy.internal --drain-timeout 8s --register embedded`, or fix its baseUrl (http://127.0.0.1:8090/v1)",
    );
    // A description edited since: the command with a placeholder for the file.
    await registerProviderRecord(store, { ...provider.record, description: 'the little one' }, 'test');
    const edited = findProvider(store, 'embedded');
    if (edited === undefined) throw new Error('not registered');
    expect(engineDownHint(edited, null)).toBe(
      'serve its model again: `syndicate engine serve --model FILE.gguf --port 8090 --register embedded` (FILE.gguf: the model it served), or fix its baseUrl (http://127.0.0.1:8090/v1)',
    );
  });
});
