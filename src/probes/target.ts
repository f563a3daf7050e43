import { modelKindOf } from '../common/vocabulary.js';
import { InvalidInputError, UsageError } from '../errors.js';
import { credentialProblems, loopbackProblems, structuralProblems } from '../registry/checks.js';
import { findDeclaredModel } from '../registry/model-names.js';
import { requireProvider } from '../registry/registry.js';
import type { ProviderModel, RegisteredProvider } from '../registry/types.js';
import type { Store } from '../store/store.js';
import { validateAgainstSchema } from '../validation/validate.js';
import type { ObservedDeviation, ProbeCheck, ProbedProvider } from './types.js';

/** The provider and model a probe run is about. */
export interface ProbeTarget {
  provider: RegisteredProvider;
  model: ProviderModel;
}

/**
 * Resolves `<id> [--model M]`: an unknown provider or model is a usage error (exit 2); a stored
 * record that no longer validates (schema, credentials, structure, local-class rule) is an
 * invalid-input error (exit 3), because probing a record that is itself wrong proves nothing.
 */
export async function resolveProbeTarget(store: Store, providerId: string, modelId?: string): Promise<ProbeTarget> {
  const provider = requireProvider(store, providerId);
  const label = `provider ${providerId} v${provider.currentVersion}`;
  const problems = [...validateAgainstSchema('provider', provider.record, label), ...credentialProblems(provider.record, label)];
  if (problems.length === 0) {
    problems.push(...structuralProblems(provider.record, label), ...(await loopbackProblems(provider.record, label)));
  }
  if (problems.length > 0) {
    throw new InvalidInputError(`the stored record of ${providerId} (v${provider.currentVersion}) is invalid, so it cannot be probed`, problems, {
      hint: `fix the provider file and register it again: \`syndicate provider register <file>\``,
    });
  }
  const models = provider.record.models;
  // The probes are chat requests: by default the first chat model, and never an embedding model.
  const chatModels = models.filter((candidate) => modelKindOf(candidate) === 'chat');
  const named = modelId === undefined ? undefined : findDeclaredModel(provider.record, modelId);
  const model = modelId === undefined ? chatModels[0] : named !== undefined && modelKindOf(named) === 'chat' ? named : undefined;
  if (model === undefined) {
    const embedding = named;
    throw new UsageError(
      embedding !== undefined
        ? `${providerId}:${embedding.id} is an embedding model (kind: embedding); the probes send chat requests`
        : `provider ${providerId} has no ${modelId === undefined ? 'chat model' : `model ${modelId}`}`,
      { hint: `chat models of ${providerId}: ${chatModels.map((candidate) => candidate.id).join(', ') || '(none)'}` },
    );
  }
  return { provider, model };
}

export function probedProvider(provider: RegisteredProvider): ProbedProvider {
  return { id: provider.id, version: provider.currentVersion, class: provider.record.class, wire: provider.record.wire };
}

/** Every deviation the checks observed (declared or not), first occurrence per deviation and source. */
export function observedDeviations(checks: readonly ProbeCheck[], sourceOf: (check: ProbeCheck) => string): ObservedDeviation[] {
  const seen = new Set<string>();
  const observed: ObservedDeviation[] = [];
  for (const check of checks) {
    if (check.deviation === undefined || (check.verdict !== 'deviation' && check.verdict !== 'declared')) continue;
    const source = sourceOf(check);
    const key = `${check.deviation}|${source}`;
    if (seen.has(key)) continue;
    seen.add(key);
    observed.push({
      deviation: check.deviation,
      declared: check.verdict === 'declared',
      source,
      ...(check.evidenceId === undefined ? {} : { evidenceId: check.evidenceId }),
      detail: check.detail,
    });
  }
  return observed;
}
