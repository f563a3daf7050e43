import { describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import type { Policy } from '../../../src/policy/types.js';
import { hintForUnavailable, unavailabilityOfExclusions } from '../../../src/router/hints.js';
import { planRoute } from '../../../src/router/plan.js';
import type { RecentFirstTokens } from '../../../src/router/types.js';
import { context, exclusionOf, input, order, PRICE, provider, textRequest } from './fixtures.js';

const local = provider({ id: 'ollama', models: [{ id: 'llama3.2:3b', priority: 1, aliases: ['llama'] }] });
const approved = provider({ id: 'anthropic', class: 'approved_hosted', baseUrl: 'https://api.anthropic.com', models: [{ id: 'claude-sonnet-4-5', price: PRICE }] });
const restrictedHosted = provider({
  id: 'glm',
  class: 'restricted_hosted',
  baseUrl: 'https://open.bigmodel.cn/api/paas/v4',
  models: [{ id: 'glm-4.6', price: { inputPerMTok: 0.6, outputPerMTok: 2.2 } }],
});
const everyClass = [local, approved, restrictedHosted];

function policyWith(change: (policy: Policy) => void): Policy {
  const policy = defaultPolicy();
  change(policy);
  return policy;
}

describe('sensitivity map', () => {
  it.each([
    ['public', ['anthropic:claude-sonnet-4-5', 'glm:glm-4.6', 'ollama:llama3.2:3b']],
    ['internal', ['anthropic:claude-sonnet-4-5', 'ollama:llama3.2:3b']],
    ['confidential', ['ollama:llama3.2:3b']],
    ['restricted', ['ollama:llama3.2:3b']],
  ] as const)('%s reaches exactly the default classes', (sensitivity, expected) => {
    const plan = planRoute(input({ sensitivity }), context(everyClass));
    expect(order(plan).sort()).toEqual([...expected].sort());
    expect(plan.failedClosed).toBe(false);
  });

  it('explains a class exclusion with the level and the allowed classes', () => {
    const plan = planRoute(input({ sensitivity: 'confidential' }), context(everyClass));
    expect(plan.allowedClasses).toEqual(['local']);
    expect(exclusionOf(plan, 'anthropic:claude-sonnet-4-5')).toMatchObject({
      rules: ['class_not_allowed'],
      reasons: ['class approved_hosted may not receive confidential data (allowed: local)'],
    });
  });

  it('ignores a policy that lets restricted data reach a hosted class (defence in depth)', () => {
    const policy = policyWith((changed) => {
      changed.sensitivity.restricted = ['local', 'approved_hosted'];
    });
    const plan = planRoute(input({ sensitivity: 'restricted' }), context(everyClass, { policy }));
    expect(order(plan)).toEqual(['ollama:llama3.2:3b']);
    expect(plan.explanation).toContain('restricted data only goes to local providers');
  });
});

describe('exclusion rules', () => {
  it('never routes to a blocked provider', () => {
    const blocked = provider({ id: 'shady', class: 'blocked', baseUrl: 'https://api.openai.com/v1' });
    const plan = planRoute(input(), context([blocked]));
    expect(plan.candidates).toEqual([]);
    expect(exclusionOf(plan, 'shady:shady-model-0')?.rules).toEqual(['blocked']);
  });

  it('never routes to a retired provider', () => {
    const retired = provider({ id: 'old', retiredAt: '2025-01-01T00:00:00.000Z' });
    const plan = planRoute(input(), context([retired]));
    expect(plan.candidates).toEqual([]);
    expect(exclusionOf(plan, 'old:old-model-0')).toMatchObject({ rules: ['retired'], reasons: ['provider retired at 2025-01-01T00:00:00.000Z'] });
  });

  it('never routes to a hosted host that is not on the egress allow-list', () => {
    const stranger = provider({ id: 'stranger', class: 'approved_hosted', baseUrl: 'https://llm.example.com/v1', models: [{ price: PRICE }] });
    const plan = planRoute(input(), context([stranger]));
    expect(plan.candidates).toEqual([]);
    expect(exclusionOf(plan, 'stranger:stranger-model-0')).toMatchObject({
      rules: ['egress_denied'],
      reasons: ['host llm.example.com is not on the egress allow-list'],
    });
  });

  it('refuses a local-class provider whose address is not loopback', () => {
    const lan = provider({ id: 'lan', baseUrl: 'http://192.168.1.20:11434/v1' });
    const plan = planRoute(input(), context([lan]));
    expect(exclusionOf(plan, 'lan:lan-model-0')?.rules).toEqual(['not_loopback']);
  });

  it('applies the trust tier: classes it may not use, and levels above its maximum', () => {
    const untrusted = planRoute(input({ trustTier: 'untrusted' }), context(everyClass));
    expect(order(untrusted)).toEqual(['ollama:llama3.2:3b']);
    expect(exclusionOf(untrusted, 'anthropic:claude-sonnet-4-5')?.reasons).toEqual(['trust tier untrusted may not use class approved_hosted']);
    const agent = planRoute(input({ trustTier: 'agent', sensitivity: 'restricted' }), context(everyClass));
    expect(agent.candidates).toEqual([]);
    expect(exclusionOf(agent, 'ollama:llama3.2:3b')?.reasons).toEqual(['trust tier agent may send at most confidential data']);
    // A class the level excludes is excluded by the tier too: no class, and so no provider, may take it from this caller.
    expect(exclusionOf(agent, 'anthropic:claude-sonnet-4-5')?.rules).toEqual(['class_not_allowed', 'trust_tier']);
  });

  it('fails closed to local on an unknown trust tier', () => {
    const plan = planRoute(input({ trustTier: 'mystery' }), context(everyClass));
    expect(plan.failedClosed).toBe(true);
    expect(order(plan)).toEqual(['ollama:llama3.2:3b']);
    expect(plan.explanation).toContain('trust tier mystery is not defined in the policy: failing closed to local only');
  });

  it('keeps only the explicitly requested provider', () => {
    const plan = planRoute(input({ explicitProvider: 'anthropic' }), context(everyClass));
    expect(order(plan)).toEqual(['anthropic:claude-sonnet-4-5']);
    // The others are not considered, rather than each listed as "not the requested provider".
    expect(plan.excluded).toEqual([]);
  });

  it('skips an unreachable local engine and a recently failed hosted provider', () => {
    const plan = planRoute(
      input(),
      context(everyClass, {
        health: {
          ollama: { state: 'down', checkedAt: '2025-06-01T10:00:00.000Z', reason: 'connection refused (is the engine running?)' },
          anthropic: { state: 'down', checkedAt: '2025-06-01T10:00:00.000Z', reason: 'HTTP 529' },
        },
      }),
    );
    expect(order(plan)).toEqual(['glm:glm-4.6']);
    expect(exclusionOf(plan, 'ollama:llama3.2:3b')?.reasons).toEqual([
      'engine unreachable: connection refused (is the engine running?) (checked 2025-06-01T10:00:00.000Z)',
    ]);
    expect(exclusionOf(plan, 'anthropic:claude-sonnet-4-5')?.reasons).toEqual(['recently failed: HTTP 529 (checked 2025-06-01T10:00:00.000Z)']);
  });

  it('says a local engine whose calls kept failing is failing, not unreachable', () => {
    const plan = planRoute(
      input(),
      context(everyClass, {
        health: {
          ollama: { state: 'down', cause: 'failing', checkedAt: '2025-06-01T10:00:00.000Z', reason: '3 calls in a row failed; the last: ollama answered HTTP 500: boom', retryAfterMs: 3500 },
          anthropic: { state: 'down', checkedAt: '2025-06-01T10:00:00.000Z', reason: 'HTTP 529' },
        },
      }),
    );
    expect(exclusionOf(plan, 'ollama:llama3.2:3b')).toMatchObject({
      rules: ['unhealthy'],
      reasons: ['engine failing: 3 calls in a row failed; the last: ollama answered HTTP 500: boom (checked 2025-06-01T10:00:00.000Z)'],
      unavailable: { cause: 'failing', retryInSeconds: 3.5 },
    });
    // The hint follows the cause: a down provider is unreachable unless its calls kept failing.
    expect(exclusionOf(plan, 'anthropic:claude-sonnet-4-5')).toMatchObject({ unavailable: { cause: 'unreachable' } });
  });

  it('holds back a rate-limited provider, saying so and for how long, and keeps the others', () => {
    const plan = planRoute(
      input(),
      context(everyClass, {
        health: { ollama: { state: 'rate_limited', checkedAt: '2025-06-01T10:00:00.000Z', reason: 'ollama answered HTTP 429: slow down', retryAfterMs: 6200 } },
      }),
    );
    expect(order(plan)).not.toContain('ollama:llama3.2:3b');
    expect(order(plan).length).toBeGreaterThan(0);
    expect(exclusionOf(plan, 'ollama:llama3.2:3b')).toEqual({
      provider: 'ollama',
      model: 'llama3.2:3b',
      class: 'local',
      rules: ['rate_limited'],
      reasons: ['rate-limited for another 7 s: ollama answered HTTP 429: slow down (checked 2025-06-01T10:00:00.000Z)'],
      retryAfterSeconds: 6.2,
    });
  });

  describe('a model held back on its own', () => {
    const claude = provider({
      id: 'claude',
      class: 'approved_hosted',
      baseUrl: 'https://api.anthropic.com',
      models: [
        { id: 'claude-opus-4-1', price: PRICE, priority: 9 },
        { id: 'claude-haiku-4-5', price: PRICE, priority: 1 },
      ],
    });
    const checkedAt = '2025-06-01T10:00:00.000Z';
    const now = new Date(checkedAt);
    const opusLimited = { claude: { 'claude-opus-4-1': { state: 'rate_limited', checkedAt, reason: 'claude answered HTTP 429: rate_limit_error', retryAfterMs: 6200 } } } as const;

    it('a rate-limited model is excluded with its wait and until when; the provider’s other models stay candidates', () => {
      const plan = planRoute(input({ now }), context([claude, local], { modelHealth: opusLimited }));
      expect(order(plan)).toContain('claude:claude-haiku-4-5');
      expect(order(plan)).not.toContain('claude:claude-opus-4-1');
      expect(exclusionOf(plan, 'claude:claude-opus-4-1')).toEqual({
        provider: 'claude',
        model: 'claude-opus-4-1',
        class: 'approved_hosted',
        rules: ['rate_limited'],
        reasons: [
          "model claude-opus-4-1 rate-limited for another 7 s (until 2025-06-01T10:00:06.200Z), claude's other models stay routable: claude answered HTTP 429: rate_limit_error (checked 2025-06-01T10:00:00.000Z)",
        ],
        retryAfterSeconds: 6.2,
        heldModel: true,
      });
      expect(plan.explanation).toContain('claude:claude-opus-4-1 (approved_hosted) — model claude-opus-4-1 rate-limited for another 7 s');
    });

    it('pinned to the held model (provider:model): no candidate, the one exclusion says why and for how long', () => {
      const plan = planRoute(input({ now, request: textRequest('hi', { model: 'claude:claude-opus-4-1' }) }), context([claude, local], { modelHealth: opusLimited }));
      expect(plan.candidates).toEqual([]);
      expect(plan.excluded).toEqual([expect.objectContaining({ provider: 'claude', model: 'claude-opus-4-1', rules: ['rate_limited'], retryAfterSeconds: 6.2, heldModel: true })]);
      // The other model of the provider, pinned, is routed as usual.
      expect(order(planRoute(input({ now, request: textRequest('hi', { model: 'claude:claude-haiku-4-5' }) }), context([claude], { modelHealth: opusLimited })))).toEqual(['claude:claude-haiku-4-5']);
    });

    it('a model its provider does not serve is down (not_found) for its wait; an overloaded one failing', () => {
      const plan = planRoute(
        input({ now }),
        context([claude, local], {
          modelHealth: {
            claude: {
              'claude-opus-4-1': { state: 'down', cause: 'not_found', checkedAt, reason: 'claude answered HTTP 404: model: claude-opus-4-1', retryAfterMs: 30_000 },
              'claude-haiku-4-5': { state: 'down', cause: 'failing', checkedAt, reason: '3 calls in a row failed; the last: claude answered HTTP 529: Overloaded', retryAfterMs: 12_000 },
            },
          },
        }),
      );
      expect(order(plan)).toEqual(['ollama:llama3.2:3b']);
      expect(exclusionOf(plan, 'claude:claude-opus-4-1')).toMatchObject({
        rules: ['unhealthy'],
        reasons: ['model claude-opus-4-1 not served by claude, held back for another 30 s (until 2025-06-01T10:00:30.000Z): claude answered HTTP 404: model: claude-opus-4-1 (checked 2025-06-01T10:00:00.000Z)'],
        unavailable: { cause: 'not_found', retryInSeconds: 30 },
        heldModel: true,
      });
      expect(exclusionOf(plan, 'claude:claude-haiku-4-5')).toMatchObject({ rules: ['unhealthy'], unavailable: { cause: 'failing', retryInSeconds: 12 }, heldModel: true });
    });

    it('a model held down for failing calls keeps what the last one was (its status, its connection reset) for the hint, as its provider would; one without a cause is failing, not unreachable', () => {
      const plan = planRoute(
        input({ now }),
        context([claude, local], {
          modelHealth: {
            claude: {
              'claude-opus-4-1': { state: 'down', cause: 'failing', status: 529, connectionReset: true, checkedAt, reason: 'claude failed (upstream_reset) (seen by another syndicate process)', retryAfterMs: 12_000 },
              'claude-haiku-4-5': { state: 'down', checkedAt, reason: 'claude failed (seen by another syndicate process)', retryAfterMs: 5000 },
            },
          },
        }),
      );
      expect(exclusionOf(plan, 'claude:claude-opus-4-1')).toMatchObject({ rules: ['unhealthy'], unavailable: { cause: 'failing', status: 529, connectionReset: true, retryInSeconds: 12 }, heldModel: true });
      expect(exclusionOf(plan, 'claude:claude-haiku-4-5')).toMatchObject({
        reasons: ['model claude-haiku-4-5 failing, held back for another 5 s (until 2025-06-01T10:00:05.000Z): claude failed (seen by another syndicate process) (checked 2025-06-01T10:00:00.000Z)'],
        unavailable: { cause: 'failing', retryInSeconds: 5 },
      });
      const unavailable = unavailabilityOfExclusions(plan.excluded);
      expect(unavailable).toEqual([
        { provider: 'claude', model: 'claude-opus-4-1', local: false, kind: 'failing', status: 529, connectionReset: true, retryInSeconds: 12 },
        { provider: 'claude', model: 'claude-haiku-4-5', local: false, kind: 'failing', retryInSeconds: 5 },
      ]);
      expect(hintForUnavailable(unavailable.slice(0, 1))).toContain('calls fail (the connection reset, before or during the answer)');
    });

    it('a provider held back as a whole is said once, as the provider’s, not again per model', () => {
      const plan = planRoute(
        input({ now }),
        context([claude], { health: { claude: { state: 'rate_limited', checkedAt, reason: 'claude answered HTTP 429: quota', retryAfterMs: 2000 } }, modelHealth: opusLimited }),
      );
      expect(exclusionOf(plan, 'claude:claude-opus-4-1')).toMatchObject({ reasons: ['rate-limited for another 2 s: claude answered HTTP 429: quota (checked 2025-06-01T10:00:00.000Z)'], retryAfterSeconds: 2 });
      expect(exclusionOf(plan, 'claude:claude-opus-4-1')).not.toHaveProperty('heldModel');
    });
  });

  it('collects every reason that applies, not only the first', () => {
    const both = provider({ id: 'both', class: 'approved_hosted', baseUrl: 'https://llm.example.com', models: [{ price: PRICE }] });
    const plan = planRoute(input({ sensitivity: 'confidential' }), context([both]));
    expect(exclusionOf(plan, 'both:both-model-0')?.rules).toEqual(['class_not_allowed', 'egress_denied']);
  });
});

describe('required capabilities', () => {
  const tools = [{ name: 'lookup', inputSchema: { type: 'object' } }];

  it('tools: needs a model tagged tools, unless the policy lifts that requirement', () => {
    const able = provider({ id: 'able', models: [{ id: 'qwen2.5-coder:7b', tags: ['code', 'tools'] }] });
    const plan = planRoute(input({ request: textRequest('hi', { tools }) }), context([able, local]));
    expect(order(plan)).toEqual(['able:qwen2.5-coder:7b']);
    expect(exclusionOf(plan, 'ollama:llama3.2:3b')?.reasons).toEqual(['request has tools but the model is not tagged tools']);
    const lifted = policyWith((changed) => {
      changed.capabilities.requireToolsTag = false;
    });
    expect(order(planRoute(input({ request: textRequest('hi', { tools }) }), context([able, local], { policy: lifted }))).sort()).toEqual([
      'able:qwen2.5-coder:7b',
      'ollama:llama3.2:3b',
    ]);
  });

  describe('a model that refuses a forced tool or turning thinking off (models[].deviations)', () => {
    const alwaysThinks = provider({
      id: 'anthropic',
      class: 'approved_hosted',
      baseUrl: 'https://api.anthropic.com',
      models: [
        { id: 'claude-opus-5-5', priority: 10, tags: ['tools'], price: PRICE, deviations: ['forced_tool_choice_unsupported', 'thinking_always_on'] },
        { id: 'claude-sonnet-5-5', priority: 1, tags: ['tools'], price: PRICE },
      ],
    });

    it.each([
      ['required', 'a tool'],
      [{ name: 'lookup' }, 'tool lookup'],
    ] as const)('tool_choice %j: left out, with why, and the next model first', (toolChoice, worded) => {
      const plan = planRoute(input({ request: textRequest('hi', { tools, toolChoice }) }), context([alwaysThinks]));
      expect(order(plan)).toEqual(['anthropic:claude-sonnet-5-5']);
      expect(exclusionOf(plan, 'anthropic:claude-opus-5-5')).toMatchObject({
        rules: ['tool_choice'],
        reasons: [`request forces ${worded} (tool_choice) and the model declares forced_tool_choice_unsupported: it answers such a request with a 400`],
      });
      expect(plan.explanation).toContain(`request needs: tools, forced ${worded}`);
      expect(plan.explanation).toContain('  - anthropic:claude-opus-5-5 (approved_hosted) — request forces');
    });

    it('tool_choice auto or none, or no tools: the model stays first', () => {
      for (const toolChoice of ['auto', 'none'] as const) {
        expect(order(planRoute(input({ request: textRequest('hi', { tools, toolChoice }) }), context([alwaysThinks])))[0]).toBe('anthropic:claude-opus-5-5');
      }
      expect(order(planRoute(input({ request: textRequest('hi', { toolChoice: 'required' }) }), context([alwaysThinks])))[0]).toBe('anthropic:claude-opus-5-5');
    });

    it('thinking disabled or budgeted by hand: left out; adaptive: kept', () => {
      for (const type of ['disabled', 'enabled']) {
        const plan = planRoute(input({ request: textRequest('hi', { thinking: { type, budget_tokens: 1024 } }) }), context([alwaysThinks]));
        expect(order(plan)).toEqual(['anthropic:claude-sonnet-5-5']);
        expect(exclusionOf(plan, 'anthropic:claude-opus-5-5')?.rules).toEqual(['thinking']);
      }
      expect(order(planRoute(input({ request: textRequest('hi', { thinking: { type: 'adaptive' } }) }), context([alwaysThinks])))[0]).toBe('anthropic:claude-opus-5-5');
    });

    it('pinned to it: no candidate, the refusal to come', () => {
      const plan = planRoute(input({ request: textRequest('hi', { tools, toolChoice: 'required', model: 'anthropic:claude-opus-5-5' }) }), context([alwaysThinks]));
      expect(plan.candidates).toEqual([]);
      expect(plan.explanation).toContain('no candidate: the request would be refused');
    });
  });

  it('tools: keeps a provider with nonstandard tool-call serialization (repaired) unless the policy excludes it', () => {
    const quirky = provider({ id: 'quirky', models: [{ tags: ['tools'] }], deviations: ['nonstandard_tool_call_serialization'] });
    const repaired = planRoute(input({ request: textRequest('hi', { tools }) }), context([quirky]));
    expect(repaired.candidates[0]?.reasons).toContain('declares nonstandard_tool_call_serialization: the wire adapter repairs tool-call arguments to JSON text');
    const policy = policyWith((changed) => {
      changed.capabilities.nonstandardToolCalls = 'exclude';
    });
    const excluded = planRoute(input({ request: textRequest('hi', { tools }) }), context([quirky], { policy }));
    expect(excluded.candidates).toEqual([]);
    expect(exclusionOf(excluded, 'quirky:quirky-model-0')?.rules).toEqual(['tools']);
    const withoutTools = planRoute(input(), context([quirky], { policy }));
    expect(order(withoutTools)).toEqual(['quirky:quirky-model-0']);
  });

  it('JSON: demotes weak_json_adherence, excludes it for strict schemas or when the policy says so', () => {
    const weak = provider({ id: 'aaa-weak', models: [{ id: 'weak', priority: 9 }], deviations: ['weak_json_adherence'] });
    const solid = provider({ id: 'zzz-solid', models: [{ id: 'solid', priority: 0 }] });
    const json = planRoute(input({ request: textRequest('list', { responseFormat: { type: 'json_object' } }) }), context([weak, solid]));
    expect(order(json)).toEqual(['zzz-solid:solid', 'aaa-weak:weak']);
    expect(json.candidates[1]?.reasons).toContain('declares weak_json_adherence: ranked after models without it');
    const text = planRoute(input(), context([weak, solid]));
    expect(order(text)).toEqual(['aaa-weak:weak', 'zzz-solid:solid']);
    const strict = planRoute(
      input({ request: textRequest('list', { responseFormat: { type: 'json_schema', schema: { type: 'object' }, strict: true } }) }),
      context([weak, solid]),
    );
    expect(order(strict)).toEqual(['zzz-solid:solid']);
    expect(exclusionOf(strict, 'aaa-weak:weak')?.rules).toEqual(['json']);
    const policy = policyWith((changed) => {
      changed.capabilities.weakJson = 'exclude';
    });
    const excluded = planRoute(input({ request: textRequest('list', { responseFormat: { type: 'json_object' } }) }), context([weak, solid], { policy }));
    expect(order(excluded)).toEqual(['zzz-solid:solid']);
  });

  it('vision: an image part needs a model tagged vision', () => {
    const seeing = provider({ id: 'seeing', models: [{ id: 'llava', tags: ['vision'] }] });
    const request = textRequest('what is this');
    request.messages = [{ role: 'user', content: [{ type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=' }] }];
    const plan = planRoute(input({ request }), context([seeing, local]));
    expect(order(plan)).toEqual(['seeing:llava']);
    expect(exclusionOf(plan, 'ollama:llama3.2:3b')?.reasons).toEqual(['request has images but the model is not tagged vision']);
  });

  it('capability rules apply when their conditions hold', () => {
    const policy = policyWith((changed) => {
      changed.capabilities.rules = [{ name: 'code-needs-medium', when: { task: 'code' }, require: { minCapabilityClass: 'medium', tags: ['code'] } }];
    });
    const tiny = provider({ id: 'tiny', models: [{ id: 'tiny', capabilityClass: 'small', tags: ['code'] }] });
    const coder = provider({ id: 'coder', models: [{ id: 'qwen-coder', capabilityClass: 'medium', tags: ['code'] }] });
    const codePlan = planRoute(input({ request: textRequest('refactor this function') }), context([tiny, coder], { policy }));
    expect(order(codePlan)).toEqual(['coder:qwen-coder']);
    expect(exclusionOf(codePlan, 'tiny:tiny')?.reasons).toEqual(['rule code-needs-medium: capability small is below medium']);
    const prosePlan = planRoute(input({ request: textRequest('write a poem about the sea') }), context([tiny, coder], { policy }));
    expect(order(prosePlan).sort()).toEqual(['coder:qwen-coder', 'tiny:tiny']);
  });

  it("a stored session's envelope excludes the models above its approved class, and only those", () => {
    const tiny = provider({ id: 'tiny', models: [{ id: 'tiny', capabilityClass: 'small' }] });
    const coder = provider({ id: 'coder', models: [{ id: 'qwen-coder', capabilityClass: 'medium' }] });
    const big = provider({ id: 'big', models: [{ id: 'big-model', capabilityClass: 'large' }] });
    const plan = planRoute(input({ sessionEnvelope: { sessionId: 'ses_1', maxCapability: 'medium' } }), context([tiny, coder, big]));
    expect(order(plan).sort()).toEqual(['coder:qwen-coder', 'tiny:tiny']);
    expect(exclusionOf(plan, 'big:big-model')).toMatchObject({ rules: ['session_envelope'], reasons: ["capability large is above session ses_1's approved medium"] });
    expect(plan.explanation).toContain("big:big-model (local) — capability large is above session ses_1's approved medium");
  });
});

describe('context window', () => {
  // One user message: the chat template allowance is 128 + 8 per message = 136 tokens.
  const allowance = 136;
  const qwen = provider({ id: 'fakeoai', models: [{ id: 'm1', contextWindow: 32_768 }] });

  it('fits: the window holds the prompt, the template allowance and the whole requested output; nothing is lowered', () => {
    const plan = planRoute(input({ estimatedPromptTokens: 100, maxTokens: 32_768 - 100 - allowance }), context([qwen]));
    expect(order(plan)).toEqual(['fakeoai:m1']);
    expect(plan.candidates[0]?.loweredMaxTokens).toBeUndefined();
    expect(plan.candidates[0]?.reasons.join('; ')).not.toContain('lowered');
  });

  it('must lower: a 2-token prompt with max_tokens 40000 stays eligible, its max output lowered to what the window leaves', () => {
    const plan = planRoute(input({ estimatedPromptTokens: 2, request: textRequest('hi', { maxTokens: 40_000 }) }), context([qwen]));
    expect(plan.excluded).toEqual([]);
    expect(plan.candidates[0]).toMatchObject({ provider: 'fakeoai', model: 'm1', loweredMaxTokens: 32_768 - 2 - allowance });
    expect(plan.candidates[0]?.reasons).toContain(
      `max output lowered from 40000 to ${32_768 - 2 - allowance} tokens: what context window 32768 leaves after the prompt (2) and the chat template allowance (${allowance})`,
    );
    // route --explain shows it on the candidate's line.
    expect(plan.explanation).toMatch(/1\. fakeoai:m1 \(local, v1\) — .*max output lowered from 40000 to 32630 tokens/);
    // A 1 100-token prompt with Claude Code's 32 000 is lowered too, not refused.
    const agent = planRoute(input({ estimatedPromptTokens: 1100, maxTokens: 32_000 }), context([qwen]));
    expect(agent.candidates[0]?.loweredMaxTokens).toBe(32_768 - 1100 - allowance);
  });

  it('prompt too long: only when the window leaves less than the minimum output after the prompt', () => {
    const keeps1024 = 32_768 - allowance - 1024;
    expect(planRoute(input({ estimatedPromptTokens: keeps1024, maxTokens: 40_000 }), context([qwen])).candidates[0]?.loweredMaxTokens).toBe(1024);
    const tooLong = planRoute(input({ estimatedPromptTokens: keeps1024 + 1, maxTokens: 40_000 }), context([qwen]));
    expect(tooLong.candidates).toEqual([]);
    expect(exclusionOf(tooLong, 'fakeoai:m1')).toMatchObject({
      rules: ['context_length'],
      reasons: [`context window 32768 leaves 1023 tokens after the prompt (${keeps1024 + 1}) and the chat template allowance (${allowance}); an answer needs at least 1024`],
    });
    const overflowing = planRoute(input({ estimatedPromptTokens: 40_000, maxTokens: 10 }), context([qwen]));
    expect(exclusionOf(overflowing, 'fakeoai:m1')?.reasons).toEqual([`context window 32768 < ${40_000 + allowance} tokens of the prompt (40000) and the chat template allowance (${allowance})`]);
  });

  it('a request for less than the minimum needs only what it asked for; a request for none needs the minimum', () => {
    const small = provider({ id: 'small', models: [{ id: 'short', contextWindow: 4096 }] });
    const room = 4096 - 3900 - allowance;
    expect(order(planRoute(input({ estimatedPromptTokens: 3900, maxTokens: room }), context([small])))).toEqual(['small:short']);
    expect(exclusionOf(planRoute(input({ estimatedPromptTokens: 3900, maxTokens: room + 1 }), context([small])), 'small:short')?.rules).toEqual(['context_length']);
    expect(exclusionOf(planRoute(input({ estimatedPromptTokens: 3900 }), context([small])), 'small:short')?.reasons).toEqual([
      `context window 4096 leaves ${room} tokens after the prompt (3900) and the chat template allowance (${allowance}); an answer needs at least 1024`,
    ]);
    const unbounded = planRoute(input({ estimatedPromptTokens: 4096 - allowance - 1024 }), context([small]));
    expect(order(unbounded)).toEqual(['small:short']);
    expect(unbounded.candidates[0]?.loweredMaxTokens).toBeUndefined();
  });

  it("no max output asked: the policy's assumed output, or what the window leaves when less, for a wire that needs one", () => {
    const policy = policyWith((changed) => {
      changed.cost.defaultOutputTokens = 6000;
    });
    const small = provider({ id: 'small', models: [{ id: 'short', contextWindow: 8192 }] });
    const roomy = planRoute(input({ estimatedPromptTokens: 100 }), context([small], { policy }));
    expect(roomy.candidates[0]).toMatchObject({ defaultMaxTokens: 6000 });
    expect(roomy.candidates[0]?.reasons.join('; ')).not.toContain('no max output asked');
    const room = 8192 - 3000 - allowance;
    const full = planRoute(input({ estimatedPromptTokens: 3000 }), context([small], { policy }));
    expect(full.candidates[0]).toMatchObject({ defaultMaxTokens: room });
    expect(full.candidates[0]?.loweredMaxTokens).toBeUndefined();
    expect(full.candidates[0]?.reasons).toContain(
      `no max output asked: ${room} tokens assumed, what context window 8192 leaves after the prompt (3000) and the chat template allowance (${allowance}) (the policy assumes 6000)`,
    );
    // Without the policy's value, 1 024; a request that sets its max output gets none.
    expect(planRoute(input({ estimatedPromptTokens: 100 }), context([small])).candidates[0]).toMatchObject({ defaultMaxTokens: 1024 });
    expect(planRoute(input({ estimatedPromptTokens: 100, maxTokens: 300 }), context([small], { policy })).candidates[0]?.defaultMaxTokens).toBeUndefined();
  });

  it('a small window needs a quarter of itself for the answer, not 1 024 tokens', () => {
    const tiny = provider({ id: 'tiny', models: [{ id: 'tiny.gguf', contextWindow: 2048 }] });
    expect(planRoute(input({ estimatedPromptTokens: 2048 - allowance - 512, maxTokens: 4096 }), context([tiny])).candidates[0]?.loweredMaxTokens).toBe(512);
    expect(exclusionOf(planRoute(input({ estimatedPromptTokens: 2048 - allowance - 511, maxTokens: 4096 }), context([tiny])), 'tiny:tiny.gguf')?.reasons[0]).toMatch(
      /an answer needs at least 512$/,
    );
  });

  it('the template allowance grows with the messages, the system prompt and tool definitions', () => {
    const request = textRequest('hi', {
      system: 'be brief',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'hi' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'hello' }] },
        { role: 'user', content: [{ type: 'text', text: 'again' }] },
      ],
      tools: [{ name: 'lookup', inputSchema: { type: 'object' } }],
      maxTokens: 40_000,
    });
    const plan = planRoute(input({ estimatedPromptTokens: 50, request }), context([provider({ id: 'tools', models: [{ id: 'm', contextWindow: 32_768, tags: ['tools'] }] })]));
    expect(plan.candidates[0]?.loweredMaxTokens).toBe(32_768 - 50 - (128 + 8 * 4 + 512));
  });

  it('among otherwise equal candidates, one that takes the whole requested output ranks first; a preference still decides', () => {
    const short = provider({ id: 'a-short', models: [{ id: 'm', contextWindow: 32_768 }] });
    const long = provider({ id: 'b-long', models: [{ id: 'm', contextWindow: 131_072 }] });
    const plan = planRoute(input({ estimatedPromptTokens: 2, maxTokens: 40_000 }), context([short, long]));
    expect(order(plan)).toEqual(['b-long:m', 'a-short:m']);
    expect(plan.candidates.map((candidate) => candidate.loweredMaxTokens)).toEqual([undefined, 32_768 - 2 - allowance]);
    // Without lowering, ids decide as before.
    expect(order(planRoute(input({ estimatedPromptTokens: 2, maxTokens: 4000 }), context([short, long])))).toEqual(['a-short:m', 'b-long:m']);
    // The operator's priority outranks the tie-break: the preferred model is used, with its output lowered.
    const preferred = provider({ id: 'a-short', models: [{ id: 'm', contextWindow: 32_768, priority: 5 }] });
    expect(order(planRoute(input({ estimatedPromptTokens: 2, maxTokens: 40_000 }), context([preferred, long])))).toEqual(['a-short:m', 'b-long:m']);
  });

  it('a lowered candidate is priced at the output it is sent', () => {
    const priced = provider({ id: 'priced', class: 'approved_hosted', baseUrl: 'https://api.anthropic.com', models: [{ id: 'c', contextWindow: 32_768, price: PRICE }] });
    const plan = planRoute(input({ estimatedPromptTokens: 2, maxTokens: 40_000 }), context([priced]));
    const lowered = 32_768 - 2 - allowance;
    expect(plan.candidates[0]?.estimatedCostUsd).toBeCloseTo((2 * PRICE.inputPerMTok + lowered * PRICE.outputPerMTok) / 1_000_000, 8);
  });
});

describe('cost ceilings', () => {
  const pricey = provider({ id: 'anthropic', class: 'approved_hosted', baseUrl: 'https://api.anthropic.com', models: [{ id: 'opus', price: { inputPerMTok: 15, outputPerMTok: 75 } }] });

  it('estimates price x tokens (prompt + max tokens, or the policy default output)', () => {
    const plan = planRoute(input({ estimatedPromptTokens: 10_000, maxTokens: 1000 }), context([pricey]));
    expect(plan.candidates[0]?.estimatedCostUsd).toBeCloseTo(0.15 + 0.075, 10);
    const assumed = planRoute(input({ estimatedPromptTokens: 10_000 }), context([pricey]));
    expect(assumed.candidates[0]?.estimatedCostUsd).toBeCloseTo(0.15 + (1024 * 75) / 1_000_000, 10);
  });

  it('excludes a model above the per-request ceiling', () => {
    const plan = planRoute(input({ estimatedPromptTokens: 10_000, maxTokens: 20_000 }), context([pricey, local]));
    expect(order(plan)).toEqual(['ollama:llama3.2:3b']);
    expect(exclusionOf(plan, 'anthropic:opus')).toMatchObject({
      rules: ['cost_per_request'],
      reasons: ['estimated $1.65 exceeds the per-request ceiling $1.00'],
    });
    const cheaper = planRoute(input({ estimatedPromptTokens: 10_000, maxTokens: 10_000 }), context([pricey, local]));
    expect(order(cheaper)).toContain('anthropic:opus');
  });

  it('excludes a model that would take the day over the per-day ceiling', () => {
    const below = planRoute(input({ estimatedPromptTokens: 1000, maxTokens: 1000 }), context([pricey], { spentTodayUsd: 19.9 }));
    expect(order(below)).toEqual(['anthropic:opus']);
    const over = planRoute(input({ estimatedPromptTokens: 1000, maxTokens: 1000 }), context([pricey], { spentTodayUsd: 19.95 }));
    expect(over.candidates).toEqual([]);
    expect(exclusionOf(over, 'anthropic:opus')?.reasons).toEqual(['$19.95 spent today + estimated $0.09 exceeds the per-day ceiling $20.00']);
  });

  it('an unknown spend never blocks a free local model but blocks priced ones', () => {
    const plan = planRoute(input(), context([pricey, local], { spentTodayUsd: Number.POSITIVE_INFINITY }));
    expect(order(plan)).toEqual(['ollama:llama3.2:3b']);
    expect(exclusionOf(plan, 'anthropic:opus')?.reasons[0]).toContain('spend today unknown');
  });

  // GPT-6.2 Sol's catalog price: input and cache rates double, output 1.5x, for the whole request over 272K input tokens.
  const sol = provider({
    id: 'openai',
    class: 'approved_hosted',
    models: [{ id: 'sol', contextWindow: 1_050_000, price: { inputPerMTok: 2, outputPerMTok: 10, tiers: [{ aboveInputTokens: 272_000, inputPerMTok: 4, outputPerMTok: 15 }] } }],
  });

  it('prices a prompt over a tier threshold at the tier, so it can exceed the per-request ceiling only because of the tier', () => {
    const atThreshold = planRoute(input({ estimatedPromptTokens: 272_000, maxTokens: 1000 }), context([sol]));
    expect(order(atThreshold)).toEqual(['openai:sol']);
    expect(atThreshold.candidates[0]?.estimatedCostUsd).toBeCloseTo(0.554, 8);
    // 300 000 tokens at the base rates would be $0.61, under the $1.00 ceiling; the vendor bills $1.215.
    const over = planRoute(input({ estimatedPromptTokens: 300_000, maxTokens: 1000 }), context([sol]));
    expect(over.candidates).toEqual([]);
    expect(exclusionOf(over, 'openai:sol')).toMatchObject({
      rules: ['cost_per_request'],
      reasons: ['estimated $1.22 (prompt over 272000 tokens: the whole request at $4 / $15 per MTok in/out) exceeds the per-request ceiling $1.00'],
    });
  });

  it('ranks cheapest on the tier price, and says which tier priced a candidate', () => {
    // Cheaper below 100 000 prompt tokens, five times dearer above.
    const tiered = provider({ id: 'anthropic', class: 'approved_hosted', baseUrl: 'https://api.anthropic.com', models: [{ id: 'haiku', contextWindow: 1_000_000, price: { inputPerMTok: 0.1, outputPerMTok: 0.5, tiers: [{ aboveInputTokens: 100_000, inputPerMTok: 0.5, outputPerMTok: 2.5 }] } }] });
    const flat = provider({ id: 'openai', class: 'approved_hosted', models: [{ id: 'luna', contextWindow: 1_000_000, price: { inputPerMTok: 0.2, outputPerMTok: 1 } }] });
    const cheapest = { policy: policyWith((changed) => { changed.workflows.batch.prefer = ['cheapest']; }) };
    expect(order(planRoute(input({ estimatedPromptTokens: 100_000, maxTokens: 1000 }), context([tiered, flat], cheapest)))).toEqual(['anthropic:haiku', 'openai:luna']);
    const long = planRoute(input({ estimatedPromptTokens: 150_000, maxTokens: 1000 }), context([tiered, flat], cheapest));
    expect(order(long)).toEqual(['openai:luna', 'anthropic:haiku']);
    expect(long.candidates[1]?.reasons).toContain('estimated $0.08 (prompt over 100000 tokens: the whole request at $0.5 / $2.5 per MTok in/out)');
  });

  it('a hosted model without a declared price cannot pass a ceiling', () => {
    const unpriced = provider({ id: 'openai', class: 'approved_hosted', baseUrl: 'https://api.openai.com/v1', models: [{ id: 'gpt-x' }] });
    const plan = planRoute(input(), context([unpriced]));
    expect(exclusionOf(plan, 'openai:gpt-x')?.rules).toEqual(['price_unknown']);
  });
});

describe('hot-swap: a cold model on an engine with a VRAM budget', () => {
  const engine = (resident: string[]) => ({ warm: { ollama: resident } });
  const ollama = provider({
    id: 'ollama',
    engine: { kind: 'ollama', vramBudgetGb: 8 },
    models: [
      { id: 'chat', priority: 2, vramGb: 4, tags: ['chat'] },
      { id: 'coder', priority: 5, vramGb: 5, tags: ['code'] },
    ],
  });

  it('outranks what must go: routed, with the lower-ranked models to unload first', () => {
    const plan = planRoute(input({ request: textRequest('hi', { model: 'ollama:coder' }) }), context([ollama], engine(['chat'])));
    expect(plan.candidates[0]).toMatchObject({ model: 'coder', warm: false, evicts: ['chat'] });
    expect(plan.candidates[0]?.reasons).toContain('cold on a full engine: loading it evicts chat (priority 2)');
  });

  it('does not outrank what would have to go: excluded (engine_budget), with the hint to unload or force', () => {
    const plan = planRoute(input({ request: textRequest('hi', { model: 'ollama:chat' }) }), context([ollama], engine(['coder'])));
    expect(plan.candidates).toEqual([]);
    expect(exclusionOf(plan, 'ollama:chat')?.rules).toEqual(['engine_budget']);
    expect(exclusionOf(plan, 'ollama:chat')?.reasons[0]).toBe(
      'cold, and no room can be made for it: chat does not fit in the 8 GB budget: chat (priority 2) does not outrank coder (priority 5, 5 GB)',
    );
  });

  it('an engine_budget exclusion is not undone by the last resort for a missed first-token budget', () => {
    // A declared cold start puts the cold model over the interactive budget too; that alone would keep it as a last resort.
    const slow = provider({ id: 'ollama', engine: { kind: 'ollama', vramBudgetGb: 8, launch: { command: 'ollama', args: ['serve'], readyPath: '/', coldStartSeconds: 20 } }, models: [{ id: 'chat', priority: 2, vramGb: 4 }, { id: 'coder', priority: 5, vramGb: 5 }] });
    const plan = planRoute(input({ workflow: 'interactive', request: textRequest('hi', { model: 'ollama:chat' }) }), context([slow], engine(['coder'])));
    expect(plan.candidates).toEqual([]);
    expect(exclusionOf(plan, 'ollama:chat')?.rules).toEqual(['latency_budget', 'engine_budget']);
  });

  it('warm, room to spare, or no budget declared: nothing to evict', () => {
    expect(planRoute(input({ request: textRequest('hi', { model: 'ollama:chat' }) }), context([ollama], engine(['chat', 'coder']))).candidates[0]?.evicts).toBeUndefined();
    const roomy = provider({ id: 'ollama', engine: { kind: 'ollama', vramBudgetGb: 24 }, models: [{ id: 'chat', priority: 2, vramGb: 4 }, { id: 'coder', priority: 5, vramGb: 5 }] });
    expect(planRoute(input({ request: textRequest('hi', { model: 'ollama:chat' }) }), context([roomy], engine(['coder']))).candidates[0]?.evicts).toBeUndefined();
    const unbudgeted = provider({ id: 'ollama', engine: { kind: 'ollama' }, models: [{ id: 'chat', priority: 2, vramGb: 4 }, { id: 'coder', priority: 5, vramGb: 5 }] });
    expect(planRoute(input({ request: textRequest('hi', { model: 'ollama:chat' }) }), context([unbudgeted], engine(['coder']))).candidates).toHaveLength(1);
  });
});

describe('latency budget and cold starts', () => {
  const coldDeclared = provider({
    id: 'llamacpp',
    baseUrl: 'http://127.0.0.1:8080/v1',
    models: [{ id: 'qwen-14b', priority: 10 }],
    engine: { kind: 'llama.cpp', launch: { command: 'llama-server', readyPath: '/health', coldStartSeconds: 20 } },
  });
  const warmLocal = provider({ id: 'ollama', models: [{ id: 'llama3.2:3b', priority: 1 }] });

  it('a cold local model counts its declared load time against the interactive budget', () => {
    const plan = planRoute(input({ workflow: 'interactive' }), context([coldDeclared, warmLocal], { warm: { llamacpp: [], ollama: ['llama3.2:3b'] } }));
    expect(order(plan)).toEqual(['ollama:llama3.2:3b']);
    expect(exclusionOf(plan, 'llamacpp:qwen-14b')?.reasons).toEqual(['expected first token 20000 ms exceeds the interactive budget of 1500 ms']);
  });

  it('a recorded load time wins over the declared one', () => {
    const plan = planRoute(
      input({ workflow: 'interactive' }),
      context([coldDeclared, warmLocal], { warm: { llamacpp: [], ollama: ['llama3.2:3b'] }, coldStartMs: () => ({ ms: 900, source: 'recorded' }) }),
    );
    expect(order(plan)).toEqual(['ollama:llama3.2:3b', 'llamacpp:qwen-14b']);
    expect(plan.candidates[1]?.expectedFirstTokenMs).toBe(900);
    expect(plan.candidates[1]?.reasons).toContain('model is cold: recorded load time 900 ms counts against the first-token budget');
    // What the evidence keeps of it: whether each model was loaded when planned.
    expect(plan.candidates.map((candidate) => candidate.warm)).toEqual([true, false]);
    const unknown = planRoute(input({ workflow: 'batch' }), context([coldDeclared]));
    expect(unknown.candidates[0]?.warm).toBeUndefined();
  });

  it('an observed cold-start cost (engines that time no loads) counts like a recorded one, and says what it is', () => {
    const plan = planRoute(
      input({ workflow: 'interactive' }),
      context([coldDeclared, warmLocal], { warm: { llamacpp: [], ollama: ['llama3.2:3b'] }, coldStartMs: () => ({ ms: 2400, source: 'observed' }) }),
    );
    expect(exclusionOf(plan, 'llamacpp:qwen-14b')?.reasons).toEqual(['expected first token 2400 ms exceeds the interactive budget of 1500 ms']);
    const batch = planRoute(input({ workflow: 'batch' }), context([coldDeclared], { warm: { llamacpp: [] }, coldStartMs: () => ({ ms: 2400, source: 'observed' }) }));
    expect(batch.candidates[0]?.reasons).toContain("model is cold: observed cold-start cost 2400 ms (its cold answers' first token minus its warm ones') counts against the first-token budget");
  });

  it('between models as fast as far as is known, the one its engine holds ranks before the one it must load first', () => {
    // Same engine, same priority, no latency on record, no load time known: only their residency tells them apart.
    const ollama = provider({ id: 'ollama', engine: { kind: 'ollama' }, models: [{ id: 'a-cold' }, { id: 'b-warm' }] });
    const resident = { warm: { ollama: ['b-warm'] } };
    for (const workflow of ['interactive', 'batch'] as const) {
      const plan = planRoute(input({ workflow }), context([ollama], resident));
      expect(order(plan), workflow).toEqual(['ollama:b-warm', 'ollama:a-cold']);
      expect(plan.candidates[1]?.reasons, workflow).toContain('model is cold; its load time is unknown');
    }
    // A cold model whose load time is unknown is not faster for its warm answers on record: its next
    // first token adds a load of unknown length, so the loaded model, measured, comes first.
    const slowWarm = planRoute(input({ workflow: 'interactive' }), context([ollama], { ...resident, firstTokens: (_provider, model) => (model === 'b-warm' ? { medianMs: 900, answers: 3, calls: 3, failures: 0 } : { medianMs: 100, answers: 3, calls: 3, failures: 0 }) }));
    expect(order(slowWarm)).toEqual(['ollama:b-warm', 'ollama:a-cold']);
    expect(slowWarm.candidates[1]?.reasons).toContain('expected first token 100 ms (median of its last 3 answers) plus a load of unknown time (cold): ranked after the models whose first token does not wait on a load of unknown time');
    // With its load time known, the cold model's expectation is whole: the faster one on record wins, cold or not.
    const known = planRoute(input({ workflow: 'interactive' }), context([ollama], { ...resident, coldStartMs: () => ({ ms: 300, source: 'recorded' }), firstTokens: (_provider, model) => (model === 'b-warm' ? { medianMs: 900, answers: 3, calls: 3, failures: 0 } : { medianMs: 100, answers: 3, calls: 3, failures: 0 }) }));
    expect(order(known)).toEqual(['ollama:a-cold', 'ollama:b-warm']);
  });

  it('prefer fastest: a cold model with no first token on record does not rank before a warm one measured fast; route --explain says why', () => {
    const ollama = provider({ id: 'ollama', engine: { kind: 'ollama' }, models: [{ id: 'a-cold' }, { id: 'b-warm' }] });
    const plan = planRoute(input({ workflow: 'interactive' }), context([ollama], { warm: { ollama: ['b-warm'] }, firstTokens: (_provider, model) => (model === 'b-warm' ? { medianMs: 300, answers: 5, calls: 5, failures: 0 } : undefined) }));
    expect(order(plan)).toEqual(['ollama:b-warm', 'ollama:a-cold']);
    expect(plan.candidates[0]?.reasons).toContain('expected first token 300 ms (median of its last 5 answers)');
    expect(plan.candidates[1]?.reasons).toContain('no known first-token delay (cold, its load time unknown): ranked after the models whose first token does not wait on a load of unknown time');
    expect(plan.explanation).toContain('ranked after the models whose first token does not wait on a load of unknown time');
    // Loaded but never answered: it ranks as fast, so that it gets its chance to be measured.
    const unmeasured = planRoute(input({ workflow: 'interactive' }), context([ollama], { warm: { ollama: ['a-cold', 'b-warm'] }, firstTokens: (_provider, model) => (model === 'b-warm' ? { medianMs: 300, answers: 5, calls: 5, failures: 0 } : undefined) }));
    expect(order(unmeasured)).toEqual(['ollama:a-cold', 'ollama:b-warm']);
    expect(unmeasured.candidates[0]?.reasons).toContain('no known first-token delay: ranked as fast, so that it is measured');
  });

  it('a warm model counts no load time; batch work has no first-token budget', () => {
    const warm = planRoute(input({ workflow: 'interactive' }), context([coldDeclared], { warm: { llamacpp: ['qwen-14b'] } }));
    expect(warm.candidates[0]).toMatchObject({ provider: 'llamacpp', rank: 1 });
    expect(warm.candidates[0]?.expectedFirstTokenMs).toBeUndefined();
    const batch = planRoute(input({ workflow: 'batch' }), context([coldDeclared], { warm: { llamacpp: [] } }));
    expect(order(batch)).toEqual(['llamacpp:qwen-14b']);
  });

  it('keeps over-budget candidates as a last resort when nothing meets the budget', () => {
    const plan = planRoute(input({ workflow: 'interactive' }), context([coldDeclared], { warm: { llamacpp: [] } }));
    expect(order(plan)).toEqual(['llamacpp:qwen-14b']);
    expect(plan.candidates[0]?.reasons.some((reason) => reason.startsWith('kept as a last resort'))).toBe(true);
    expect(plan.explanation).toContain('no candidate meets the interactive first-token budget');
  });

  it('a candidate excluded for another reason is not restored as a last resort', () => {
    const plan = planRoute(input({ workflow: 'interactive', sensitivity: 'restricted', trustTier: 'agent' }), context([coldDeclared], { warm: { llamacpp: [] } }));
    expect(plan.candidates).toEqual([]);
  });

  it('observed hosted first-token latency counts against the budget', () => {
    const plan = planRoute(
      input({ workflow: 'interactive' }),
      context([approved, warmLocal], { liveFirstTokens: { anthropic: { 'claude-sonnet-4-5': 2500 } } }),
    );
    expect(order(plan)).toEqual(['ollama:llama3.2:3b']);
    expect(exclusionOf(plan, 'anthropic:claude-sonnet-4-5')?.rules).toEqual(['latency_budget']);
  });
});

describe('ranking', () => {
  const hostedA = provider({ id: 'anthropic', class: 'approved_hosted', baseUrl: 'https://api.anthropic.com', models: [{ id: 'haiku', priority: 2, price: { inputPerMTok: 1, outputPerMTok: 5 } }] });
  const hostedB = provider({ id: 'openai', class: 'approved_hosted', baseUrl: 'https://api.openai.com/v1', models: [{ id: 'mini', priority: 7, price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } }] });
  const localA = provider({ id: 'ollama', models: [{ id: 'llama3.2:3b', priority: 4 }, { id: 'qwen2.5-coder:7b', priority: 1, tags: ['code'] }] });

  function withPreference(prefer: Policy['workflows']['batch']['prefer']): Policy {
    return policyWith((changed) => {
      changed.workflows.batch.prefer = prefer;
    });
  }

  it('prefer local / prefer hosted, then priority', () => {
    const localFirst = planRoute(input(), context([hostedA, hostedB, localA], { policy: withPreference(['local']) }));
    expect(order(localFirst)).toEqual(['ollama:llama3.2:3b', 'ollama:qwen2.5-coder:7b', 'openai:mini', 'anthropic:haiku']);
    const hostedFirst = planRoute(input(), context([hostedA, hostedB, localA], { policy: withPreference(['hosted']) }));
    expect(order(hostedFirst)).toEqual(['openai:mini', 'anthropic:haiku', 'ollama:llama3.2:3b', 'ollama:qwen2.5-coder:7b']);
  });

  it('prefer cheapest orders by estimated cost', () => {
    const plan = planRoute(input({ estimatedPromptTokens: 1000 }), context([hostedA, hostedB, localA], { policy: withPreference(['cheapest']) }));
    expect(order(plan)).toEqual(['ollama:llama3.2:3b', 'ollama:qwen2.5-coder:7b', 'openai:mini', 'anthropic:haiku']);
    expect(plan.candidates.map((candidate) => candidate.rank)).toEqual([1, 2, 3, 4]);
  });

  it('prefer priority alone mixes classes by declared priority', () => {
    const plan = planRoute(input(), context([hostedA, hostedB, localA], { policy: withPreference(['priority']) }));
    expect(order(plan)).toEqual(['openai:mini', 'ollama:llama3.2:3b', 'anthropic:haiku', 'ollama:qwen2.5-coder:7b']);
  });

  it('task tags rank a matching model first', () => {
    const plan = planRoute(input({ request: textRequest('why does this Python function raise KeyError?') }), context([hostedA, hostedB, localA], { policy: withPreference(['priority']) }));
    expect(plan.tasks).toEqual(['code']);
    expect(order(plan)[0]).toBe('ollama:qwen2.5-coder:7b');
    expect(plan.candidates[0]?.reasons).toContain('tagged code, preferred for task code');
  });

  it('prefer fastest puts a cold model after warm and hosted ones', () => {
    const policy = withPreference(['fastest', 'priority']);
    const cold = provider({
      id: 'vllm',
      baseUrl: 'http://127.0.0.1:8000/v1',
      models: [{ id: 'big', priority: 99 }],
      engine: { kind: 'vllm', launch: { command: 'vllm', readyPath: '/health', coldStartSeconds: 60 } },
    });
    const plan = planRoute(input(), context([cold, hostedB, localA], { policy, warm: { vllm: [], ollama: ['llama3.2:3b', 'qwen2.5-coder:7b'] } }));
    expect(order(plan)).toEqual(['openai:mini', 'ollama:llama3.2:3b', 'ollama:qwen2.5-coder:7b', 'vllm:big']);
  });

  describe('prefer fastest with first tokens recorded in evidence', () => {
    const policy = withPreference(['fastest', 'priority']);
    const steady = provider({ id: 'steady', models: [{ id: 'm' }] });
    const erratic = provider({ id: 'erratic', models: [{ id: 'm' }] });
    const slow = provider({ id: 'slow', models: [{ id: 'm' }] });
    const history: Record<string, RecentFirstTokens> = {
      steady: { medianMs: 212.6, answers: 12, calls: 14, failures: 2 },
      slow: { medianMs: 900, answers: 1, calls: 1, failures: 0 },
      erratic: { medianMs: undefined, answers: 0, calls: 2, failures: 2 },
    };
    const firstTokens = (providerId: string): RecentFirstTokens | undefined => history[providerId];

    it('ranks by the median, says where it comes from, and ranks a provider whose calls all failed as slowest', () => {
      const plan = planRoute(input(), context([erratic, slow, steady], { policy, firstTokens }));
      expect(order(plan)).toEqual(['steady:m', 'slow:m', 'erratic:m']);
      expect(plan.candidates[0]).toMatchObject({ expectedFirstTokenMs: 213 });
      expect(plan.candidates[0]?.reasons).toContain('expected first token 213 ms (median of its last 12 answers)');
      expect(plan.candidates[1]?.reasons).toContain('expected first token 900 ms (median of its last 1 answer)');
      expect(plan.candidates[2]?.expectedFirstTokenMs).toBeUndefined();
      expect(plan.candidates[2]?.reasons).toContain('no answer in its last 2 calls, all failed: ranked as slowest');
      // Without the history, nothing is known: ids decide (what a CLI process did before).
      expect(order(planRoute(input(), context([erratic, slow, steady], { policy })))).toEqual(['erratic:m', 'slow:m', 'steady:m']);
    });

    it('what this process observed itself comes first; the history counts against the latency budget', () => {
      const live = planRoute(input(), context([slow, steady], { policy, firstTokens, liveFirstTokens: { slow: { m: 49.6 } } }));
      expect(order(live)).toEqual(['slow:m', 'steady:m']);
      expect(live.candidates[0]?.reasons).toContain('expected first token 50 ms (its last answer in this process)');
      const interactive = planRoute(input({ workflow: 'interactive' }), context([slow, steady], { firstTokens: () => ({ medianMs: 2500, answers: 3, calls: 3, failures: 0 }) }));
      expect(interactive.candidates.every((candidate) => candidate.reasons.some((reason) => reason.startsWith('kept as a last resort: expected first token 2500 ms')))).toBe(true);
    });

    it("two models of one engine are ranked by their own first tokens, never by each other's", () => {
      const engine = provider({ id: 'ollama', models: [{ id: 'llama3.2:1b' }, { id: 'llama3.3:70b' }] });
      const other = provider({ id: 'vllm', models: [{ id: 'qwen-14b' }] });
      const seeded: Record<string, RecentFirstTokens> = {
        'ollama llama3.3:70b': { medianMs: 3000, answers: 5, calls: 5, failures: 0 },
        'vllm qwen-14b': { medianMs: 400, answers: 5, calls: 5, failures: 0 },
      };
      const history = (providerId: string, model: string): RecentFirstTokens | undefined => seeded[`${providerId} ${model}`];
      // Only the 1B has answered in this process: the 70B keeps its own figure from evidence.
      const plan = planRoute(input(), context([engine, other], { policy, firstTokens: history, liveFirstTokens: { ollama: { 'llama3.2:1b': 80 } } }));
      expect(order(plan)).toEqual(['ollama:llama3.2:1b', 'vllm:qwen-14b', 'ollama:llama3.3:70b']);
      expect(plan.candidates[2]).toMatchObject({ expectedFirstTokenMs: 3000 });
      // And once the 70B has answered here, its own answer, not the 1B's.
      const live = planRoute(input(), context([engine, other], { policy, firstTokens: history, liveFirstTokens: { ollama: { 'llama3.2:1b': 80, 'llama3.3:70b': 2500 } } }));
      expect(order(live)).toEqual(['ollama:llama3.2:1b', 'vllm:qwen-14b', 'ollama:llama3.3:70b']);
      expect(live.candidates[2]?.reasons).toContain('expected first token 2500 ms (its last answer in this process)');
    });

    it('a cold local model adds its load time to the median of its warm answers', () => {
      const cold = provider({ id: 'vllm', models: [{ id: 'big' }], engine: { kind: 'vllm', launch: { command: 'vllm', readyPath: '/health', coldStartSeconds: 20 } } });
      const plan = planRoute(input(), context([cold], { policy, warm: { vllm: [] }, firstTokens: () => ({ medianMs: 300, answers: 4, calls: 4, failures: 0 }) }));
      expect(plan.candidates[0]).toMatchObject({ expectedFirstTokenMs: 20_300 });
      expect(plan.candidates[0]?.reasons).toContain('expected first token 20300 ms (load 20000 ms + median of its last 4 answers)');
    });
  });

  it('a candidate whose key is not set ranks after every candidate that can be called, whatever the preference, and says so', () => {
    const keyless = provider({ id: 'anthropic', class: 'approved_hosted', baseUrl: 'https://api.anthropic.com', authEnv: 'ANTHROPIC_API_KEY', models: [{ id: 'haiku', priority: 9, price: PRICE }] });
    const providers = [keyless, hostedB, localA];
    const plan = planRoute(input(), context(providers, { policy: withPreference(['hosted', 'priority']), env: {} }));
    expect(order(plan)).toEqual(['openai:mini', 'ollama:llama3.2:3b', 'ollama:qwen2.5-coder:7b', 'anthropic:haiku']);
    expect(plan.candidates[3]).toMatchObject({ rank: 4, missingKey: 'ANTHROPIC_API_KEY' });
    expect(plan.candidates[3]?.reasons[0]).toBe('key ANTHROPIC_API_KEY not set: ranked after every candidate that can be called');
    expect(plan.explanation).toContain('4. anthropic:haiku (approved_hosted, v1) — key ANTHROPIC_API_KEY not set: ranked after every candidate that can be called');
    expect(plan.candidates.slice(0, 3).every((candidate) => candidate.missingKey === undefined)).toBe(true);
    // An empty value is no key either; with the key set, or without an environment to check, the preference decides.
    expect(order(planRoute(input(), context(providers, { policy: withPreference(['hosted', 'priority']), env: { ANTHROPIC_API_KEY: '' } })))[3]).toBe('anthropic:haiku');
    const withKey = planRoute(input(), context(providers, { policy: withPreference(['hosted', 'priority']), env: { ANTHROPIC_API_KEY: 'sk-test' } }));
    expect(order(withKey)[0]).toBe('anthropic:haiku');
    expect(withKey.candidates[0]?.missingKey).toBeUndefined();
    expect(order(planRoute(input(), context(providers, { policy: withPreference(['hosted', 'priority']) })))[0]).toBe('anthropic:haiku');
    // Alone, it stays a candidate: the call is what names the variable.
    expect(order(planRoute(input(), context([keyless], { env: {} })))).toEqual(['anthropic:haiku']);
  });

  it("route --explain's call order names the candidates without a key last, as not called", () => {
    const keyless = provider({ id: 'anthropic', class: 'approved_hosted', baseUrl: 'https://api.anthropic.com', authEnv: 'ANTHROPIC_API_KEY', models: [{ id: 'haiku', priority: 9, price: PRICE }] });
    const policy = policyWith((changed) => {
      changed.workflows.batch.prefer = ['local', 'priority'];
      changed.fallback = { ...changed.fallback, order: ['openai'] };
    });
    const plan = planRoute(input(), context([keyless, hostedB, localA], { policy, env: {} }));
    expect(order(plan)).toEqual(['ollama:llama3.2:3b', 'ollama:qwen2.5-coder:7b', 'openai:mini', 'anthropic:haiku']);
    expect(plan.explanation.split('\n')).toContain(
      'calls in this order: ollama:llama3.2:3b, then on failure openai:mini (fallback.order), ollama:qwen2.5-coder:7b; not called, no key: anthropic:haiku',
    );
  });

  it('assumes neither local nor hosted is better: with no preference only priority and ids decide', () => {
    const policy = withPreference([]);
    const hosted = provider({ id: 'aaa', class: 'approved_hosted', baseUrl: 'https://api.openai.com/v1', models: [{ id: 'm', price: PRICE }] });
    const onHost = provider({ id: 'bbb', models: [{ id: 'm' }] });
    expect(order(planRoute(input(), context([onHost, hosted], { policy })))).toEqual(['aaa:m', 'bbb:m']);
    const hostedLater = provider({ id: 'ccc', class: 'approved_hosted', baseUrl: 'https://api.openai.com/v1', models: [{ id: 'm', price: PRICE }] });
    expect(order(planRoute(input(), context([onHost, hostedLater], { policy })))).toEqual(['bbb:m', 'ccc:m']);
  });
});

describe('model selection', () => {
  const ollama = provider({ id: 'ollama', models: [{ id: 'llama3.2:3b', aliases: ['fast'] }, { id: 'qwen3:8b' }] });
  const anthropic = provider({ id: 'anthropic', class: 'approved_hosted', baseUrl: 'https://api.anthropic.com', models: [{ id: 'claude-sonnet-4-5', aliases: ['sonnet'], price: PRICE }] });

  it('auto considers every model', () => {
    expect(order(planRoute(input(), context([ollama, anthropic]))).sort()).toEqual(['anthropic:claude-sonnet-4-5', 'ollama:llama3.2:3b', 'ollama:qwen3:8b']);
  });

  it('an alias, a bare model id with a colon, and provider:model pin the model', () => {
    expect(order(planRoute(input({ request: textRequest('hi', { model: 'sonnet' }) }), context([ollama, anthropic])))).toEqual(['anthropic:claude-sonnet-4-5']);
    expect(order(planRoute(input({ request: textRequest('hi', { model: 'qwen3:8b' }) }), context([ollama, anthropic])))).toEqual(['ollama:qwen3:8b']);
    expect(order(planRoute(input({ request: textRequest('hi', { model: 'ollama:fast' }) }), context([ollama, anthropic])))).toEqual(['ollama:llama3.2:3b']);
  });

  it("an Ollama engine's model is found with or without Ollama's implied :latest; another engine's only by its exact id", () => {
    const engine = { kind: 'ollama' as const };
    const pulled = provider({ id: 'ol', engine, models: [{ id: 'llama3.2:latest' }, { id: 'nomic' }] });
    const llamaCpp = provider({ id: 'lc', engine: { kind: 'llama.cpp' as const }, models: [{ id: 'qwen:latest' }] });
    const pinned = (model: string): string[] => order(planRoute(input({ request: textRequest('hi', { model }) }), context([pulled, llamaCpp])));
    expect(pinned('ol:llama3.2')).toEqual(['ol:llama3.2:latest']);
    expect(pinned('llama3.2')).toEqual(['ol:llama3.2:latest']);
    expect(pinned('ol:nomic:latest')).toEqual(['ol:nomic']);
    expect(pinned('ol:llama3.2:1b')).toEqual([]);
    expect(pinned('lc:qwen')).toEqual([]);
    expect(pinned('lc:qwen:latest')).toEqual(['lc:qwen:latest']);
    // An exact id wins over the other spelling when a record declares both.
    const both = provider({ id: 'ol', engine, models: [{ id: 'phi' }, { id: 'phi:latest' }] });
    expect(order(planRoute(input({ request: textRequest('hi', { model: 'ol:phi' }) }), context([both])))).toEqual(['ol:phi']);
  });

  it('a provider asked for by name is the only one considered: the others are neither candidates nor listed as excluded', () => {
    const plan = planRoute(input({ sensitivity: 'confidential', explicitProvider: 'anthropic' }), context([ollama, anthropic]));
    expect(plan.candidates).toEqual([]);
    expect(plan.excluded.map((exclusion) => `${exclusion.provider}:${exclusion.model} ${exclusion.rules.join(',')}`)).toEqual(['anthropic:claude-sonnet-4-5 class_not_allowed']);
    expect(plan.explanation).toContain('provider anthropic asked for: no other provider considered');
    expect(order(planRoute(input({ explicitProvider: 'ollama' }), context([ollama, anthropic])))).toEqual(['ollama:llama3.2:3b', 'ollama:qwen3:8b']);
    // A model of another provider is no model of this one.
    expect(planRoute(input({ explicitProvider: 'ollama', request: textRequest('hi', { model: 'anthropic:sonnet' }) }), context([ollama, anthropic])).excluded).toEqual([]);
  });

  it('a pinned model still passes every rule: a confidential prompt pinned to a hosted model gets no candidate', () => {
    const plan = planRoute(input({ sensitivity: 'confidential', request: textRequest('hi', { model: 'anthropic:claude-sonnet-4-5' }) }), context([ollama, anthropic]));
    expect(plan.candidates).toEqual([]);
    expect(plan.excluded).toEqual([
      {
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        class: 'approved_hosted',
        rules: ['class_not_allowed'],
        reasons: ['class approved_hosted may not receive confidential data (allowed: local)'],
      },
    ]);
    expect(plan.explanation).toContain('no candidate: the request would be refused');
  });

  it('an unknown model gives an empty plan that says so', () => {
    const plan = planRoute(input({ request: textRequest('hi', { model: 'gpt-9' }) }), context([ollama, anthropic]));
    expect(plan.candidates).toEqual([]);
    expect(plan.explanation).toContain('model gpt-9: no registered model or alias matches');
  });
});

describe('failing closed', () => {
  it('a policy without a sensitivity entry routes local only', () => {
    const policy = policyWith((changed) => {
      delete (changed.sensitivity as Partial<Policy['sensitivity']>).public;
    });
    const plan = planRoute(input(), context(everyClass, { policy }));
    expect(plan.failedClosed).toBe(true);
    expect(order(plan)).toEqual(['ollama:llama3.2:3b']);
  });

  it('an exception while planning leaves only local candidates', () => {
    const broken = provider({ id: 'broken', class: 'approved_hosted', baseUrl: 'https://api.openai.com/v1' });
    (broken.record as { deviations: unknown }).deviations = 42;
    const policy = policyWith((changed) => {
      changed.workflows.batch.prefer = ['hosted'];
    });
    const plan = planRoute(input({ request: textRequest('hi', { responseFormat: { type: 'json_object' } }) }), context([broken, local, approved], { policy }));
    expect(plan.failedClosed).toBe(true);
    expect(order(plan)).toEqual(['ollama:llama3.2:3b']);
    expect(exclusionOf(plan, 'anthropic:claude-sonnet-4-5')?.rules).toEqual(['fail_closed']);
    expect(plan.explanation).toMatch(/planning failed .*failing closed to local providers only/);
  });

  it('a policy file that could not be refreshed leaves only local candidates, and the plan says why', () => {
    const failure = '/home/op/policy.yaml changed and is not a valid policy (...); until it is fixed the last valid policy applies, to local providers only';
    const plan = planRoute(input(), context(everyClass, { policyFailure: failure }));
    expect(plan.failedClosed).toBe(true);
    expect(order(plan)).toEqual(['ollama:llama3.2:3b']);
    expect(exclusionOf(plan, 'anthropic:claude-sonnet-4-5')?.rules).toEqual(['fail_closed']);
    expect(plan.explanation).toContain(failure);
  });
});
