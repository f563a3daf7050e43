import type { ProviderClass, SensitivityLevel, WorkflowClass } from '../../../src/common/vocabulary.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import type { Policy } from '../../../src/policy/types.js';
import type { ProviderModel, ProviderRecord, RegisteredProvider } from '../../../src/registry/types.js';
import { remoteMediaUrls } from '../../../src/router/remote-media.js';
import type { RouteContext, RouteInput } from '../../../src/router/types.js';
import type { CanonicalRequest } from '../../../src/wire/canonical.js';

export interface ProviderSpec {
  id: string;
  class?: ProviderClass;
  baseUrl?: string;
  models?: Partial<ProviderModel>[];
  deviations?: ProviderRecord['deviations'];
  engine?: ProviderRecord['engine'];
  retiredAt?: string | null;
  version?: number;
  /** `auth.env`: the variable its key is read from. */
  authEnv?: string;
  /** Default openai. */
  wire?: ProviderRecord['wire'];
}

/** A registered provider as the registry would return it; one `small` model by default. */
export function provider(spec: ProviderSpec): RegisteredProvider {
  const providerClass = spec.class ?? 'local';
  const baseUrl = spec.baseUrl ?? (providerClass === 'local' ? 'http://127.0.0.1:11434/v1' : 'https://api.openai.com/v1');
  const models: ProviderModel[] = (spec.models ?? [{}]).map((model, index) => ({
    id: model.id ?? `${spec.id}-model-${index}`,
    ...(model.kind === undefined ? {} : { kind: model.kind }),
    contextWindow: model.contextWindow ?? 32_000,
    capabilityClass: model.capabilityClass ?? 'small',
    ...(model.priority === undefined ? {} : { priority: model.priority }),
    ...(model.vramGb === undefined ? {} : { vramGb: model.vramGb }),
    ...(model.tags === undefined ? {} : { tags: model.tags }),
    ...(model.price === undefined ? {} : { price: model.price }),
    ...(model.aliases === undefined ? {} : { aliases: model.aliases }),
    ...(model.deviations === undefined ? {} : { deviations: model.deviations }),
  }));
  return {
    id: spec.id,
    currentVersion: spec.version ?? 1,
    retiredAt: spec.retiredAt ?? null,
    contentHash: `hash-${spec.id}`,
    versionCreatedAt: '2025-01-01T00:00:00.000Z',
    record: {
      apiVersion: 'syndicate/v1',
      kind: 'Provider',
      id: spec.id,
      class: providerClass,
      wire: spec.wire ?? 'openai',
      baseUrl,
      models,
      deviations: spec.deviations ?? [],
      ...(spec.engine === undefined ? {} : { engine: spec.engine }),
      ...(spec.authEnv === undefined ? {} : { auth: { env: spec.authEnv } }),
    },
  };
}

export function textRequest(text: string, extra: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return { model: 'auto', messages: [{ role: 'user', content: [{ type: 'text', text }] }], stream: false, ...extra };
}

/** A route input; its media URLs are those of its request unless given (as `routeRequest` collects them). */
export function input(overrides: Partial<RouteInput> & { sensitivity?: SensitivityLevel; workflow?: WorkflowClass } = {}): RouteInput {
  const request = overrides.request ?? textRequest('summarise the meeting notes');
  return {
    request,
    mediaUrls: remoteMediaUrls(request),
    sensitivity: 'public',
    workflow: 'batch',
    estimatedPromptTokens: 100,
    ...overrides,
  };
}

export function context(providers: RegisteredProvider[], overrides: Partial<RouteContext> & { policy?: Policy } = {}): RouteContext {
  return { policy: defaultPolicy(), providers, health: {}, ...overrides };
}

/** Candidate keys `provider:model` in rank order. */
export function order(plan: { candidates: { provider: string; model: string }[] }): string[] {
  return plan.candidates.map((candidate) => `${candidate.provider}:${candidate.model}`);
}

export function exclusionOf(plan: { excluded: { provider: string; model: string; rules: string[]; reasons: string[] }[] }, key: string) {
  return plan.excluded.find((exclusion) => `${exclusion.provider}:${exclusion.model}` === key);
}

export const PRICE = { inputPerMTok: 3, outputPerMTok: 15 };
