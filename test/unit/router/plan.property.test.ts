import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CALLABLE_PROVIDER_CLASSES, PROVIDER_CLASSES, type ProviderClass } from '../../../src/common/vocabulary.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import type { Policy, WorkflowPreference } from '../../../src/policy/types.js';
import type { RegisteredProvider } from '../../../src/registry/types.js';
import { MIN_OUTPUT_TOKENS, templateAllowance } from '../../../src/router/context-fit.js';
import { fallbackCandidates } from '../../../src/router/fallback.js';
import { planRoute } from '../../../src/router/plan.js';
import { remoteMediaUrls } from '../../../src/router/remote-media.js';
import type { HealthSnapshot, LiveFirstTokens, RouteInput, WarmSnapshot } from '../../../src/router/types.js';
import type { CanonicalRequest } from '../../../src/wire/canonical.js';

const HOSTS = ['127.0.0.1', 'localhost', 'api.anthropic.com', 'api.openai.com', 'open.bigmodel.cn', 'llm.example.com', '10.0.0.7', 'evil.test'];
const TAGS = ['code', 'vision', 'tools', 'chat'];
const DEVIATIONS = ['weak_json_adherence', 'nonstandard_tool_call_serialization', 'approximate_token_counts'] as const;

const providerArbitrary = (index: number): fc.Arbitrary<RegisteredProvider> =>
  fc
    .record({
      providerClass: fc.constantFrom<ProviderClass>(...PROVIDER_CLASSES),
      host: fc.constantFrom(...HOSTS),
      retired: fc.boolean(),
      deviations: fc.subarray([...DEVIATIONS]),
      coldStartSeconds: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }),
      models: fc.array(
        fc.record({
          contextWindow: fc.integer({ min: 512, max: 200_000 }),
          capabilityClass: fc.constantFrom('small', 'medium', 'large', 'frontier' as const),
          priority: fc.option(fc.integer({ min: -5, max: 20 }), { nil: undefined }),
          tags: fc.subarray(TAGS),
          price: fc.option(fc.record({ inputPerMTok: fc.double({ min: 0, max: 80, noNaN: true }), outputPerMTok: fc.double({ min: 0, max: 80, noNaN: true }) }), {
            nil: undefined,
          }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    })
    .map(({ providerClass, host, retired, deviations, coldStartSeconds, models }) => {
      const id = `p${index}`;
      return {
        id,
        currentVersion: 1,
        retiredAt: retired ? '2025-01-01T00:00:00.000Z' : null,
        contentHash: id,
        versionCreatedAt: '2025-01-01T00:00:00.000Z',
        record: {
          apiVersion: 'syndicate/v1',
          kind: 'Provider',
          id,
          class: providerClass,
          wire: 'openai',
          baseUrl: `${providerClass === 'local' ? 'http' : 'https'}://${host}:8080/v1`,
          models: models.map((model, modelIndex) => ({
            id: `m${modelIndex}`,
            contextWindow: model.contextWindow,
            capabilityClass: model.capabilityClass,
            tags: model.tags,
            ...(model.priority === undefined ? {} : { priority: model.priority }),
            ...(model.price === undefined ? {} : { price: model.price }),
          })),
          deviations,
          ...(coldStartSeconds === undefined ? {} : { engine: { kind: 'ollama' as const, launch: { command: 'ollama', readyPath: '/', coldStartSeconds } } }),
        },
      } satisfies RegisteredProvider;
    });

const providersArbitrary = fc.integer({ min: 0, max: 7 }).chain((count) => fc.tuple(...Array.from({ length: count }, (_, index) => providerArbitrary(index))));

const preferArbitrary = fc.subarray<WorkflowPreference['prefer'][number]>(['local', 'hosted', 'cheapest', 'fastest', 'priority']).chain((keys) => fc.shuffledSubarray(keys, { minLength: keys.length, maxLength: keys.length }));

/** Any preferences, ceilings, egress list, tiers — with confidential and restricted kept local. */
const policyArbitrary: fc.Arbitrary<Policy> = fc
  .record({
    publicClasses: fc.subarray([...CALLABLE_PROVIDER_CLASSES], { minLength: 1 }),
    internalClasses: fc.subarray([...CALLABLE_PROVIDER_CLASSES], { minLength: 1 }),
    interactivePrefer: preferArbitrary,
    batchPrefer: preferArbitrary,
    firstTokenMs: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
    perRequestUsd: fc.option(fc.double({ min: 0, max: 5, noNaN: true }), { nil: undefined }),
    egress: fc.subarray(HOSTS),
    weakJson: fc.constantFrom('demote' as const, 'exclude' as const),
    nonstandardToolCalls: fc.constantFrom('repair' as const, 'exclude' as const),
    tierClasses: fc.subarray([...CALLABLE_PROVIDER_CLASSES], { minLength: 1 }),
  })
  .map((generated) => {
    const policy = defaultPolicy();
    policy.sensitivity.public = generated.publicClasses;
    policy.sensitivity.internal = generated.internalClasses;
    policy.workflows.interactive = { prefer: generated.interactivePrefer, latencyBudget: generated.firstTokenMs === undefined ? {} : { firstTokenMs: generated.firstTokenMs } };
    policy.workflows.batch.prefer = generated.batchPrefer;
    policy.cost = { ...(generated.perRequestUsd === undefined ? {} : { perRequestUsd: generated.perRequestUsd }), defaultOutputTokens: 1024 };
    policy.egress.allowHosts = generated.egress;
    policy.capabilities.weakJson = generated.weakJson;
    policy.capabilities.nonstandardToolCalls = generated.nonstandardToolCalls;
    policy.trustTiers = { ...policy.trustTiers, generated: { maxSensitivity: 'restricted', allowedClasses: generated.tierClasses } };
    return policy;
  });

const requestArbitrary: fc.Arbitrary<CanonicalRequest> = fc
  .record({
    text: fc.constantFrom('refactor this python function', 'summarise the notes', 'describe the screenshot', 'hello'),
    model: fc.constantFrom('auto', 'm0', 'p0:m0', 'p1:m1', 'missing'),
    tools: fc.boolean(),
    json: fc.constantFrom('none', 'json_object', 'strict'),
    image: fc.boolean(),
    maxTokens: fc.option(fc.integer({ min: 1, max: 50_000 }), { nil: undefined }),
  })
  .map(({ text, model, tools, json, image, maxTokens }) => ({
    model,
    messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text }, ...(image ? [{ type: 'image' as const, mediaType: 'image/png', data: 'AAAA' }] : [])] }],
    stream: false,
    ...(tools ? { tools: [{ name: 'lookup', inputSchema: { type: 'object' } }] } : {}),
    ...(json === 'json_object' ? { responseFormat: { type: 'json_object' as const } } : {}),
    ...(json === 'strict' ? { responseFormat: { type: 'json_schema' as const, schema: { type: 'object' }, strict: true } } : {}),
    ...(maxTokens === undefined ? {} : { maxTokens }),
  }));

function stateArbitrary(providers: RegisteredProvider[]): fc.Arbitrary<{ health: HealthSnapshot; liveFirstTokens: LiveFirstTokens; warm: WarmSnapshot; spent: number }> {
  const ids = providers.map((provider) => provider.id);
  return fc.record({
    health: fc.dictionary(
      ids.length === 0 ? fc.constant('none') : fc.constantFrom(...ids),
      fc.record({ state: fc.constantFrom('up' as const, 'down' as const), checkedAt: fc.constant('2025-06-01T00:00:00.000Z') }),
    ),
    liveFirstTokens: fc.dictionary(
      ids.length === 0 ? fc.constant('none') : fc.constantFrom(...ids),
      fc.dictionary(fc.constantFrom('m0', 'm1', 'm2'), fc.integer({ min: 0, max: 10_000 })),
    ),
    warm: fc.dictionary(ids.length === 0 ? fc.constant('none') : fc.constantFrom(...ids), fc.subarray(['m0', 'm1', 'm2'])),
    spent: fc.double({ min: 0, max: 50, noNaN: true }),
  }) as fc.Arbitrary<{ health: HealthSnapshot; liveFirstTokens: LiveFirstTokens; warm: WarmSnapshot; spent: number }>;
}

const scenarioArbitrary = fc
  .record({
    providers: providersArbitrary,
    policy: policyArbitrary,
    request: requestArbitrary,
    workflow: fc.constantFrom('interactive' as const, 'batch' as const),
    trustTier: fc.constantFrom(undefined, 'operator', 'agent', 'untrusted', 'generated', 'nonexistent'),
    explicitProvider: fc.constantFrom(undefined, 'p0', 'p3'),
    promptTokens: fc.integer({ min: 0, max: 150_000 }),
  })
  .chain((scenario) => stateArbitrary(scenario.providers).map((state) => ({ ...scenario, ...state })));

type Scenario = typeof scenarioArbitrary extends fc.Arbitrary<infer T> ? T : never;

function plan(scenario: Scenario, sensitivity: RouteInput['sensitivity']) {
  return planRoute(
    {
      request: scenario.request,
      mediaUrls: remoteMediaUrls(scenario.request),
      sensitivity,
      workflow: scenario.workflow,
      ...(scenario.trustTier === undefined ? {} : { trustTier: scenario.trustTier }),
      ...(scenario.explicitProvider === undefined ? {} : { explicitProvider: scenario.explicitProvider }),
      estimatedPromptTokens: scenario.promptTokens,
    },
    {
      policy: scenario.policy,
      providers: scenario.providers,
      health: scenario.health,
      liveFirstTokens: scenario.liveFirstTokens,
      warm: scenario.warm,
      spentTodayUsd: scenario.spent,
      coldStartMs: (providerId: string) => (providerId === 'p1' ? { ms: 3000, source: 'recorded' as const } : undefined),
    },
  );
}

const RUNS = { numRuns: 400 };

describe('router properties', () => {
  it('confidential and restricted requests never get a hosted candidate, whatever the providers, preferences, health or warm state', () => {
    fc.assert(
      fc.property(scenarioArbitrary, fc.constantFrom('confidential' as const, 'restricted' as const), (scenario, sensitivity) => {
        const result = plan(scenario, sensitivity);
        for (const candidate of result.candidates) {
          expect(candidate.class).toBe('local');
          const registered = scenario.providers.find((provider) => provider.id === candidate.provider);
          expect(registered?.record.class).toBe('local');
        }
      }),
      RUNS,
    );
  });

  it('never lists a blocked, retired or egress-denied provider as a candidate, at any level', () => {
    fc.assert(
      fc.property(scenarioArbitrary, fc.constantFrom('public' as const, 'internal' as const, 'confidential' as const, 'restricted' as const), (scenario, sensitivity) => {
        const result = plan(scenario, sensitivity);
        const allowHosts = new Set(scenario.policy.egress.allowHosts);
        for (const candidate of result.candidates) {
          const registered = scenario.providers.find((provider) => provider.id === candidate.provider);
          expect(registered).toBeDefined();
          expect(registered?.record.class).not.toBe('blocked');
          expect(registered?.retiredAt).toBeNull();
          if (registered?.record.class !== 'local') expect(allowHosts.has(new URL(registered?.record.baseUrl ?? '').hostname)).toBe(true);
          expect(result.allowedClasses).toContain(candidate.class);
          expect(scenario.policy.sensitivity[sensitivity]).toContain(candidate.class);
        }
      }),
      RUNS,
    );
  });

  it('every considered model is either a candidate or an exclusion with at least one reason; ranks are 1..n', () => {
    fc.assert(
      fc.property(scenarioArbitrary, fc.constantFrom('public' as const, 'internal' as const), (scenario, sensitivity) => {
        const result = plan(scenario, sensitivity);
        expect(result.candidates.map((candidate) => candidate.rank)).toEqual(result.candidates.map((_candidate, index) => index + 1));
        for (const exclusion of result.excluded) {
          expect(exclusion.reasons.length).toBeGreaterThan(0);
          expect(exclusion.rules.length).toBe(exclusion.reasons.length);
        }
        const keys = [...result.candidates.map((candidate) => `${candidate.provider}:${candidate.model}`), ...result.excluded.map((exclusion) => `${exclusion.provider}:${exclusion.model}`)];
        expect(new Set(keys).size).toBe(keys.length);
      }),
      RUNS,
    );
  });

  it('no candidate is sent more than its window holds; a lowered output keeps the minimum; only a prompt that leaves less is too long', () => {
    fc.assert(
      fc.property(scenarioArbitrary, (scenario) => {
        const result = plan(scenario, 'public');
        const requested = scenario.request.maxTokens;
        const prompt = scenario.promptTokens + templateAllowance(scenario.request);
        const windowOf = (providerId: string, modelId: string): number =>
          scenario.providers.find((provider) => provider.id === providerId)?.record.models.find((model) => model.id === modelId)?.contextWindow ?? 0;
        const minimum = (window: number): number => Math.min(requested ?? Number.POSITIVE_INFINITY, MIN_OUTPUT_TOKENS, Math.floor(window / 4));
        for (const candidate of result.candidates) {
          const window = windowOf(candidate.provider, candidate.model);
          expect(prompt + (candidate.loweredMaxTokens ?? requested ?? minimum(window))).toBeLessThanOrEqual(window);
          if (candidate.loweredMaxTokens !== undefined) {
            expect(candidate.loweredMaxTokens).toBeLessThan(requested ?? 0);
            expect(candidate.loweredMaxTokens).toBeGreaterThanOrEqual(minimum(window));
          }
        }
        for (const exclusion of result.excluded.filter((excluded) => excluded.rules.includes('context_length'))) {
          const window = windowOf(exclusion.provider, exclusion.model);
          expect(window - prompt).toBeLessThan(minimum(window));
        }
      }),
      RUNS,
    );
  });

  it('fallback never moves to a class wider than the permitted one', () => {
    fc.assert(
      fc.property(scenarioArbitrary, fc.constantFrom(...CALLABLE_PROVIDER_CLASSES), (scenario, permitted) => {
        const result = plan(scenario, 'public');
        const rank = { local: 0, approved_hosted: 1, restricted_hosted: 2, blocked: 99 } as const;
        for (const failed of result.candidates) {
          for (const next of fallbackCandidates(result, failed, permitted)) {
            expect(rank[next.class]).toBeLessThanOrEqual(rank[permitted]);
            expect(next.rank).toBeGreaterThan(failed.rank);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
