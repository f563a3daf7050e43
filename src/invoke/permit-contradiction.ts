import { PolicyRefusalError } from '../errors.js';
import { permitIssueCommand } from '../permits/index.js';
import type { PermitPayload } from '../permits/token.js';
import type { RegisteredProvider } from '../registry/types.js';
import { selectModels } from '../router/plan.js';
import { MODELS_NAMED_IN_HINTS as NAMED_MODELS } from '../registry/model-names.js';

/**
 * A presented permit (`run --permit`) against the provider and model the caller also named: a
 * refusal when they contradict it, before routing — routed as asked, the request would be refused
 * later with a hint for whatever model routing found, not for the mismatch itself. Undefined when
 * they agree, name nothing, or name what no registered provider has (reported as unknown).
 * `model` is the request's model (`auto` when none was named; `provider:model` from `--provider id:model`).
 */
export function permitContradiction(
  permit: PermitPayload,
  providerId: string | undefined,
  model: string,
  providers: readonly RegisteredProvider[],
): PolicyRefusalError | undefined {
  const permitted = `${permit.provider}:${permit.model}`;
  const issueFor = (provider: string, modelId: string): string =>
    permitIssueCommand({ providerId: provider, model: modelId, maxSensitivity: permit.maxSensitivity, ...(permit.session === undefined ? {} : { sessionId: permit.session }) });
  const refusal = (what: string, field: 'provider' | 'model', got: string, hint: string): PolicyRefusalError =>
    new PolicyRefusalError('permit_out_of_scope', `${what} contradicts permit ${permit.id}, which names provider ${permit.provider} model ${permit.model}`, {
      hint,
      details: { permitId: permit.id, differences: [{ field, expected: field === 'provider' ? permit.provider : permit.model, got }] },
    });

  if (providerId !== undefined && providerId !== permit.provider) {
    const target = providers.find((provider) => provider.id === providerId);
    if (target === undefined) return undefined;
    const named = model === 'auto' ? undefined : selectModels(model, [target]).pairs[0]?.model.id;
    const chatModels = target.record.models.filter((candidate) => candidate.kind !== 'embedding').map((candidate) => candidate.id);
    const modelId = named ?? chatModels[0];
    const others = named === undefined ? chatModels.slice(1) : [];
    const command = modelId === undefined ? `syndicate permit issue --provider ${providerId} --model MODEL` : issueFor(providerId, modelId);
    const alternatives =
      others.length === 0
        ? ''
        : ` (or --model ${others.slice(0, NAMED_MODELS).join(', ')}${others.length > NAMED_MODELS ? `, …: \`syndicate provider show ${providerId}\`` : ''})`;
    return refusal(
      `--provider ${providerId}`,
      'provider',
      providerId,
      `drop --provider to run on the permit's ${permitted}, or issue a permit for ${providerId} and present that one: \`${command}\`${alternatives}`,
    );
  }

  if (model === 'auto') return undefined;
  const pairs = selectModels(model, providers, providerId).pairs;
  if (pairs.length === 0 || pairs.some((pair) => pair.provider.id === permit.provider && pair.model.id === permit.model)) return undefined;
  const first = pairs[0] as (typeof pairs)[number];
  const fromProvider = providerId !== undefined && model.startsWith(`${providerId}:`);
  return refusal(
    fromProvider ? `--provider ${model}` : `--model ${model}`,
    'model',
    model,
    `${fromProvider ? `give --provider ${providerId} without a model` : 'drop --model'} to run on the permit's ${permitted}, ` +
      `or issue a permit for ${first.provider.id}:${first.model.id} and present that one: \`${issueFor(first.provider.id, first.model.id)}\``,
  );
}
