import { UpstreamError } from '../errors.js';
import type { PipelineContext } from '../invoke/types.js';
import { deviationForObservation } from '../wire/observations.js';
import { recordDiscoveredDeviations } from './discovery.js';
import { engineReportedContext } from './engine-context.js';
import { judgeContextWindow } from './judges.js';
import { ProbeRunner, type ProbeRunnerOptions } from './runner.js';
import { observedDeviations, probedProvider, resolveProbeTarget } from './target.js';
import { FAILING_VERDICTS, type ProbeCheck, type ProviderTestReport } from './types.js';
import { checkContentType, checkResponseBody, deviationVerdict, withoutDeviations } from './wire-checks.js';

/** The one minimal request of `provider test`: public text, a few tokens, deterministic. */
export const PROVIDER_TEST_PROMPT = 'Name the capital of France in one short sentence.';
export const PROVIDER_TEST_MAX_TOKENS = 16;

export interface ProviderTestOptions extends ProbeRunnerOptions {
  providerId: string;
  model?: string;
}

/**
 * `provider test`: one minimal, well-formed request through the governed pipeline (its own
 * permit and evidence row), then the exact response bytes checked against the wire contract
 * (content type, required fields and types, finish reason, usage shape, id, model echo) and
 * against the record (declared deviations, and the context window a local engine reports).
 *
 * Undeclared deviations are recorded as discoveries linked to the evidence row, but the record
 * is never changed: this is the CI check, and drift must keep failing until someone acts
 * (`provider capabilities` updates the record). Throws `UsageError` (unknown id or model),
 * `InvalidInputError` (the stored record is invalid), `UpstreamError` (unreachable, the
 * upstream refused the request, or the exchange broke before the answer was whole),
 * `PolicyRefusalError` (the policy forbids calling it).
 */
export async function testProvider(context: PipelineContext, options: ProviderTestOptions): Promise<ProviderTestReport> {
  const { provider, model } = await resolveProbeTarget(context.store, options.providerId, options.model);
  const { record } = provider;
  const declared = record.deviations ?? [];
  const runner = new ProbeRunner(context, provider, model.id, { timeoutOption: `syndicate provider test ${provider.id} --timeout`, ...options });
  const call = await runner.call('provider-test', {
    messages: [{ role: 'user', content: [{ type: 'text', text: PROVIDER_TEST_PROMPT }] }],
    maxTokens: PROVIDER_TEST_MAX_TOKENS,
    temperature: 0,
    stream: false,
  });

  const checks: ProbeCheck[] = [];
  const evidenceId = call.evidenceId;
  const withEvidence = (check: ProbeCheck): ProbeCheck => (evidenceId === undefined ? check : { ...check, evidenceId });
  if (call.failure !== undefined) {
    const answeredWithError = call.failure.status !== undefined && (call.failure.status < 200 || call.failure.status >= 300);
    if (call.responseText === undefined || answeredWithError || call.failure.kind === 'broken') {
      // The upstream refused a minimal well-formed request (bad key, unknown model, overloaded), or the
      // exchange broke before the answer was whole (a reset, a timeout): an upstream failure, not drift.
      throw new UpstreamError(`${provider.id} did not answer the test request: ${call.failure.message}`, {
        code: call.failure.code,
        ...(call.failure.status === undefined ? {} : { status: call.failure.status }),
        hint: 'check that the engine is running and serves the model, and that the API key variable is set; the evidence row holds the response',
        details: { evidenceIds: runner.evidenceIds },
      });
    }
    checks.push(withEvidence({ name: 'wire.decode', verdict: 'fail', detail: call.failure.message }));
  }
  if (call.responseText !== undefined) {
    checks.push(withEvidence(checkContentType(call.responseContentType, false, 'wire')));
    const bodyChecks = checkResponseBody(call.responseText, { wire: record.wire, requestedModel: model.id, declared });
    // A body that did not decode is no answer to observe a deviation on.
    checks.push(...(call.result === undefined ? withoutDeviations(bodyChecks).judged : bodyChecks).map(withEvidence));
  }
  for (const observation of call.result?.response.observations ?? []) {
    const deviation = deviationForObservation(observation);
    if (deviation === undefined) continue;
    checks.push(withEvidence({ name: `decode.${observation}`, verdict: deviationVerdict(deviation, declared), deviation, detail: `the wire adapter had to tolerate ${observation}` }));
  }
  for (const warning of call.warnings) {
    checks.push(withEvidence({ name: `request.${warning.setting}`, verdict: 'warn', detail: warning.message }));
  }

  if (record.class === 'local') {
    try {
      const report = await engineReportedContext(record, model.id, { timeoutMs: 5000 });
      const why = record.engine?.kind === undefined ? 'the record declares no engine.kind, so the engine cannot be asked' : `${record.engine.kind} does not report a context window`;
      checks.push(...judgeContextWindow(model.contextWindow, report, why).checks.map((check) => ({ ...check, name: check.name.replace('context-window', 'record.context-window') })));
    } catch (error) {
      checks.push({ name: 'record.context-window', verdict: 'inconclusive', detail: `could not read the engine's context window: ${(error as Error).message}` });
    }
  }

  const released = runner.releaseDownHolds();
  const deviations = observedDeviations(checks, () => 'provider-test');
  const conforms = !checks.some((check) => FAILING_VERDICTS.includes(check.verdict));
  const discovery = recordDiscoveredDeviations(context.store, provider.id, deviations.filter((item) => !item.declared), { update: false, model: model.id });
  return {
    provider: probedProvider(provider),
    model: model.id,
    conforms,
    checks,
    deviations,
    evidenceIds: runner.evidenceIds,
    released,
    ...(discovery === undefined ? {} : { discovery }),
  };
}
