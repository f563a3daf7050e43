import type { RegisteredProvider } from './types.js';

/** One provider as `provider list --json` and the MCP `providers` tool report it. */
export interface ProviderSummary {
  id: string;
  version: number;
  status: 'active' | 'retired';
  retiredAt: string | null;
  class: RegisteredProvider['record']['class'];
  wire: RegisteredProvider['record']['wire'];
  baseUrl: string;
  models: string[];
  deviations: RegisteredProvider['record']['deviations'];
  contentHash: string;
}

export function providerSummary(provider: RegisteredProvider): ProviderSummary {
  return {
    id: provider.id,
    version: provider.currentVersion,
    status: provider.retiredAt === null ? 'active' : 'retired',
    retiredAt: provider.retiredAt,
    class: provider.record.class,
    wire: provider.record.wire,
    baseUrl: provider.record.baseUrl,
    models: provider.record.models.map((model) => model.id),
    deviations: provider.record.deviations,
    contentHash: provider.contentHash,
  };
}
