import { registerProviderRecord } from '../../../src/registry/register.js';
import { retireProvider } from '../../../src/registry/registry.js';
import type { EngineKind, ProviderClass } from '../../../src/common/vocabulary.js';
import type { Store } from '../../../src/store/store.js';

export interface FixtureProvider {
  id?: string;
  providerClass?: ProviderClass;
  baseUrl?: string;
  models?: { id: string; aliases?: string[] }[];
  engine?: EngineKind;
}

/** Registers a provider through the real registry and returns its current version. */
export async function registerFixtureProvider(store: Store, fixture: FixtureProvider = {}): Promise<number> {
  const outcome = await registerProviderRecord(
    store,
    {
      apiVersion: 'syndicate/v1',
      kind: 'Provider',
      id: fixture.id ?? 'local-engine',
      class: fixture.providerClass ?? 'local',
      wire: 'openai',
      baseUrl: fixture.baseUrl ?? 'http://127.0.0.1:11434/v1',
      ...(fixture.engine === undefined ? {} : { engine: { kind: fixture.engine } }),
      models: (fixture.models ?? [{ id: 'llama3.2:3b', aliases: ['llama-small'] }, { id: 'qwen2.5:7b' }]).map((model) => ({
        id: model.id,
        contextWindow: 8192,
        capabilityClass: 'small',
        ...(model.aliases === undefined ? {} : { aliases: model.aliases }),
      })),
    },
    `test provider ${fixture.id ?? 'local-engine'}`,
  );
  return outcome.version;
}

export function retireFixtureProvider(store: Store, id: string): void {
  retireProvider(store, id);
}
