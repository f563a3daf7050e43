import { describe, expect, it } from 'vitest';
import {
  alternativesTo,
  engineRemedies,
  hintForExclusions,
  hintForInputTooLong,
  hintForUnavailable,
  hintForUntriedKeyless,
  localModelsLeftOut,
  unavailabilityOfExclusions,
  withEngineRemedies,
  type Alternative,
  type PresentedPermit,
} from '../../../src/router/hints.js';
import { planRoute } from '../../../src/router/plan.js';
import type { Exclusion, RouteInput } from '../../../src/router/types.js';
import { context, input, provider, textRequest } from './fixtures.js';

const excluded = (...rules: Exclusion['rules']): Exclusion => ({ provider: 'p', model: 'm', class: 'local', rules, reasons: rules.map((rule) => `${rule} reason`) });
const alternative = (provider: string, model = 'm'): Alternative => ({ provider, model, name: provider });
const names = (alternatives: readonly Alternative[]): string[] => alternatives.map((entry) => entry.name);

describe('hintForExclusions', () => {
  it('names the remedy for the rules that excluded the candidates, not a generic one', () => {
    expect(hintForExclusions([excluded('tools')])).toBe(
      'no eligible model is tagged for what the request needs: tag a model that has it (models[].tags in its provider record, checked by `syndicate provider capabilities ID`) or send the request to one that does; `syndicate route --explain` shows every rule',
    );
    expect(hintForExclusions([excluded('context_length')])).toMatch(/^the prompt does not fit any eligible model's context window/);
    expect(hintForExclusions([excluded('class_not_allowed')])).toMatch(/^data this sensitive stays on this host: register a local provider/);
    // A public request refused only because its host is not allowed is not told its data is too sensitive.
    expect(hintForExclusions([excluded('egress_denied')])).toMatch(/^the provider's host is not on the policy's egress allow-list: add it to egress\.allowHosts/);
    expect(hintForExclusions([excluded('fail_closed')])).toMatch(/^the policy or the classifier could not decide/);
    expect(hintForExclusions([excluded('trust_tier')])).toMatch(/^the caller's trust tier/);
    expect(hintForExclusions([excluded('not_loopback')])).toMatch(/^a local-class provider must answer on this host/);
  });

  it('names the remedy of each cost limit met, not the others', () => {
    const cost = "the policy's cost limits exclude the rest: ";
    const perRequest = 'raise cost.perRequestUsd in the policy, or ask for a shorter answer (the estimate counts the max output asked, else cost.defaultOutputTokens)';
    const perDay = 'raise cost.perDayUsd in the policy, or wait for the next UTC day';
    const unpriced = 'price the model in its provider record (models[].price), without which no cost ceiling can be checked';
    // A priced model over the per-request ceiling is not told to get a price.
    expect(hintForExclusions([excluded('cost_per_request')])).toBe(`${cost}${perRequest}; \`syndicate route --explain\` shows every rule`);
    expect(hintForExclusions([excluded('cost_per_day')])).toBe(`${cost}${perDay}; \`syndicate route --explain\` shows every rule`);
    expect(hintForExclusions([excluded('price_unknown')])).toBe(`${cost}${unpriced}; \`syndicate route --explain\` shows every rule`);
    expect(hintForExclusions([excluded('cost_per_request', 'cost_per_day'), excluded('price_unknown')])).toBe(`${cost}${perRequest}; ${perDay}; ${unpriced}; \`syndicate route --explain\` shows every rule`);
    // An unpriced model of a class the level refuses anyway is no pricing matter.
    const refusedClass: Exclusion = { provider: 'gpt', model: 'mini', class: 'approved_hosted', rules: ['class_not_allowed', 'price_unknown'], reasons: ['class', 'price'] };
    expect(hintForExclusions([refusedClass, excluded('cost_per_request')])).not.toContain('price the model');
  });

  it('a caller whose trust tier may not send the level is told so, with the commands that set the tier, not to register a local provider', () => {
    const hosted: Exclusion = { provider: 'claude', model: 'sonnet', class: 'approved_hosted', rules: ['class_not_allowed', 'trust_tier'], reasons: ['class approved_hosted may not receive restricted data', 'trust tier agent may send at most confidential data'] };
    const local: Exclusion = { provider: 'llama', model: 'tiny', class: 'local', rules: ['trust_tier'], reasons: ['trust tier agent may send at most confidential data'] };
    for (const exclusions of [[hosted], [hosted, local]]) {
      const hint = hintForExclusions(exclusions);
      expect(hint).toMatch(/^the caller's trust tier keeps it from these providers: /);
      expect(hint).toContain('`syndicate serve --trust-tier`');
      expect(hint).toContain('`syndicate mcp --trust-tier`');
      expect(hint).not.toContain('register a local provider');
    }
  });

  it('tells an embeddings request too long for every window to split its input, not to compact a conversation', () => {
    expect(hintForExclusions([excluded('context_length')], { embeddings: true })).toBe(
      "an input is longer than every eligible embedding model's context window: split it into shorter texts (one vector each), or use an embedding model with a larger contextWindow; `syndicate route --explain` shows every rule",
    );
  });

  it('gives at most two remedies, the data-class one first, and always where to see every rule', () => {
    const hint = hintForExclusions([excluded('tools'), excluded('class_not_allowed', 'price_unknown'), excluded('context_length')]);
    const parts = hint.split('; ');
    expect(parts).toHaveLength(3);
    expect(parts[0]).toMatch(/^data this sensitive stays on this host/);
    expect(parts[1]).toMatch(/^no eligible model is tagged/);
    expect(parts[2]).toBe('`syndicate route --explain` shows every rule');
    expect(hintForExclusions([])).toBe('`syndicate route --explain` shows every rule');
  });

  it('a provider of an allowed class that was not considered comes first, instead of "register a local provider"', () => {
    const hosted: Exclusion = { provider: 'claude', model: 'sonnet', class: 'approved_hosted', rules: ['class_not_allowed'], reasons: ['class approved_hosted may not receive restricted data'] };
    expect(hintForExclusions([hosted], { alternatives: [alternative('llama')] })).toBe(
      'llama may take it: name it instead, or let the policy choose (model `auto`, no provider named); `syndicate route --explain` shows every rule',
    );
    const parts = hintForExclusions([hosted, excluded('tools')], { alternatives: [alternative('llama'), alternative('ollama')] }).split('; ');
    expect(parts).toEqual([
      'llama, ollama may take it: name one of them instead, or let the policy choose (model `auto`, no provider named)',
      expect.stringMatching(/^no eligible model is tagged/),
      '`syndicate route --explain` shows every rule',
    ]);
  });

  it('does not say no model of the kind the request needs may take it when a provider not considered has one', () => {
    const embeddingModel: Exclusion = { provider: 'ollama', model: 'nomic-embed-text', class: 'local', rules: ['model_kind'], reasons: ['an embedding model (kind: embedding): it answers embeddings requests only'] };
    expect(hintForExclusions([embeddingModel], { alternatives: [alternative('vllm')] })).toBe(
      'vllm may take it: name it instead, or let the policy choose (model `auto`, no provider named); `syndicate route --explain` shows every rule',
    );
    expect(hintForExclusions([embeddingModel])).toMatch(/^no model of the kind the request needs may take it: /);
  });

  it('does not say it when a model of the kind the request needs was left out for another rule: that rule is the remedy', () => {
    // `run --image` with Ollama's embedding model registered beside chat models not tagged vision (README, Sessions).
    const embeddingModel: Exclusion = { provider: 'ollama', model: 'nomic-embed-text', class: 'local', rules: ['model_kind', 'vision'], reasons: ['an embedding model (kind: embedding): it answers embeddings requests only', 'request has images but the model is not tagged vision'] };
    const chatModel: Exclusion = { provider: 'ollama', model: 'llama3.2:3b', class: 'local', rules: ['vision'], reasons: ['request has images but the model is not tagged vision'] };
    const hosted: Exclusion = { provider: 'claude', model: 'sonnet', class: 'approved_hosted', rules: ['class_not_allowed'], reasons: ['class approved_hosted may not receive confidential data'] };
    const hint = hintForExclusions([hosted, embeddingModel, chatModel], { localLeftOut: [embeddingModel, chatModel] });
    expect(hint).not.toContain('no model of the kind');
    expect(hint.split('; ')).toEqual([
      expect.stringMatching(/^data this sensitive stays on this host, and no local model registered may take it: /),
      expect.stringMatching(/^no eligible model is tagged for what the request needs/),
      '`syndicate route --explain` shows every rule',
    ]);
    // A chat model refused by its class alone is no model the request may use: the kind remedy stays.
    expect(hintForExclusions([hosted, embeddingModel])).toContain('no model of the kind the request needs may take it');
  });
});

describe('hintForExclusions with a class that may not receive the data', () => {
  const hostedRefused: Exclusion = {
    provider: 'claude',
    model: 'sonnet',
    class: 'approved_hosted',
    rules: ['class_not_allowed', 'egress_denied', 'price_unknown'],
    reasons: ['class approved_hosted may not receive restricted data', 'host api.anthropic.com is not on the egress allow-list', 'no price declared'],
  };

  it('does not offer the egress allow-list (nor a price): the class rule refuses it whatever the list', () => {
    expect(hintForExclusions([hostedRefused], { alternatives: [alternative('ollama')] })).toBe(
      'ollama may take it: name it instead, or let the policy choose (model `auto`, no provider named); `syndicate route --explain` shows every rule',
    );
    const alone = hintForExclusions([hostedRefused]);
    expect(alone).toMatch(/^data this sensitive stays on this host: register a local provider/);
    expect(alone).not.toContain('egress');
    expect(alone).not.toContain('cost limits');
  });

  it('still offers it where the class is allowed and only the host is not', () => {
    const publicRefused: Exclusion = { ...hostedRefused, rules: ['egress_denied'], reasons: ['host api.anthropic.com is not on the egress allow-list'] };
    expect(hintForExclusions([hostedRefused, publicRefused])).toContain('add it to egress.allowHosts');
  });
});

describe('hintForExclusions where only local models may take the data', () => {
  const hosted: Exclusion = { provider: 'claude', model: 'sonnet', class: 'approved_hosted', rules: ['class_not_allowed'], reasons: ['class approved_hosted may not receive restricted data'] };
  const embedder: Exclusion = { provider: 'ollama', model: 'nomic-embed-text', class: 'local', rules: ['model_kind'], reasons: ['an embedding model (kind: embedding): it answers embeddings requests only'] };
  const small: Exclusion = { provider: 'llama', model: 'tiny.gguf', class: 'local', rules: ['context_length'], reasons: ['context window 2048 < 3000 tokens of the prompt'] };

  it('names each local model left out with why, instead of asking for a local provider to be registered', () => {
    const parts = hintForExclusions([hosted, embedder, small], { localLeftOut: [embedder, small] }).split('; ');
    expect(parts[0]).toBe(
      'data this sensitive stays on this host, and no local model registered may take it: ollama:nomic-embed-text (an embedding model (kind: embedding): it answers embeddings requests only), llama:tiny.gguf (context window 2048 < 3000 tokens of the prompt)',
    );
    // The chat model left out is too small, not of another kind: its remedy, not the embedding model's.
    expect(parts[1]).toMatch(/^the prompt does not fit any eligible model's context window/);
  });

  it('names at most four, counting the rest', () => {
    const many = ['a', 'b', 'c', 'd', 'e', 'f'].map((id): Exclusion => ({ ...small, provider: id }));
    const hint = hintForExclusions([hosted], { localLeftOut: many });
    expect(hint).toContain('d:tiny.gguf (context window 2048 < 3000 tokens of the prompt) and 2 more; ');
    expect(hint).not.toContain('e:tiny.gguf');
  });

  it('a failed-closed plan names them too, and asks for a local provider only when none is registered', () => {
    const failedClosed: Exclusion = { ...hosted, rules: ['fail_closed'], reasons: ['planning failed closed: only local providers are considered'] };
    expect(hintForExclusions([failedClosed, embedder], { localLeftOut: [embedder] })).toContain(
      'the policy or the classifier could not decide, so only local providers may take it: fix what the route explanation names (no local model registered may take it either: ollama:nomic-embed-text (an embedding model',
    );
    expect(hintForExclusions([failedClosed])).toMatch(/fix what the route explanation names, or register a local provider/);
  });

  it('counts a blocked provider on this host as a local model, a blocked hosted one not', () => {
    const blockedHere: Exclusion = { provider: 'old-ollama', model: 'llama3.2', class: 'blocked', rules: ['blocked'], reasons: ['provider class is blocked: never called'] };
    const blockedThere: Exclusion = { ...blockedHere, provider: 'old-openai' };
    const providers = [
      provider({ id: 'old-ollama', class: 'blocked', baseUrl: 'http://localhost:11434/v1' }),
      provider({ id: 'old-openai', class: 'blocked', baseUrl: 'https://api.openai.com/v1' }),
      provider({ id: 'ollama' }),
    ];
    expect(localModelsLeftOut([hosted, embedder, blockedHere, blockedThere], providers)).toEqual([embedder, blockedHere]);
  });
});

describe('hintForExclusions for a request a permit pins', () => {
  const permit = (covered: string): PresentedPermit => ({
    target: 'claude:sonnet',
    covers: (entry) => entry.provider === covered,
    issueCommand: (entry) => `syndicate permit issue --provider ${entry.provider} --model ${entry.model} --sensitivity restricted`,
  });
  const hosted: Exclusion = { provider: 'claude', model: 'sonnet', class: 'approved_hosted', rules: ['class_not_allowed'], reasons: ['class approved_hosted may not receive restricted data'] };

  it('offers no alternative the permit does not cover: it gives the command that issues a permit for the best one', () => {
    expect(hintForExclusions([hosted], { alternatives: [alternative('llama', 'qwen.gguf'), alternative('ollama')], permit: permit('nobody') })).toBe(
      'llama, ollama may take it, but the permit covers only claude:sonnet: issue one for llama (`syndicate permit issue --provider llama --model qwen.gguf --sensitivity restricted`) and pass it with --permit; `syndicate route --explain` shows every rule',
    );
  });

  it('names the alternatives it covers as they are', () => {
    expect(hintForExclusions([hosted], { alternatives: [alternative('llama'), alternative('ollama')], permit: permit('ollama') })).toBe(
      'ollama may take it: name it instead (the permit covers it); `syndicate route --explain` shows every rule',
    );
  });
});

describe('alternativesTo: what a refused pinned request may be sent to instead', () => {
  const image = { type: 'image' as const, mediaType: 'image/png', data: 'iVBORw0KGgo=' };
  const withImage = (model: string): RouteInput =>
    input({ request: { model, messages: [{ role: 'user', content: [{ type: 'text', text: 'what is in this picture?' }, image] }], stream: false } });
  const plans = (asked: RouteInput, providers: Parameters<typeof context>[0]) => {
    const refused = planRoute(asked, context(providers));
    const { explicitProvider: _named, ...unpinned } = asked;
    return [refused, planRoute({ ...unpinned, request: { ...asked.request, model: 'auto' } }, context(providers))] as const;
  };

  it('names only models that pass the whole route: an image goes to none that is not tagged vision', () => {
    const ollama = provider({ id: 'ollama', models: [{ id: 'llama3.2:latest' }, { id: 'llava:latest', tags: ['vision'] }] });
    const slow = provider({ id: 'slow', baseUrl: 'http://127.0.0.1:8081/v1', models: [{ id: 'qwen' }] });
    const vllm = provider({ id: 'vllm', baseUrl: 'http://127.0.0.1:8000/v1', models: [{ id: 'mistral' }] });
    const [refused, unpinned] = plans(withImage('ollama:llama3.2:latest'), [ollama, slow, vllm]);
    expect(refused.candidates).toEqual([]);
    expect(names(alternativesTo(refused, unpinned))).toEqual(['ollama:llava:latest']);
    const [, noneTagged] = plans(withImage('ollama:llama3.2:latest'), [provider({ id: 'ollama', models: [{ id: 'llama3.2:latest' }] }), slow, vllm]);
    expect(alternativesTo(refused, noneTagged)).toEqual([]);
  });

  it("names the pinned provider's own models that can take it, by their full name, and other providers by id", () => {
    const ollama = provider({ id: 'ollama', models: [{ id: 'llama3.2:latest' }, { id: 'nomic-embed-text:latest', kind: 'embedding' }] });
    const llama = provider({ id: 'llama', baseUrl: 'http://127.0.0.1:8080/v1', engine: { kind: 'llama.cpp' }, models: [{ id: 'nomic.gguf', kind: 'embedding' }] });
    const embeddings = textRequest('', { model: 'ollama:llama3.2:latest', messages: [], embedding: { input: { kind: 'texts', texts: ['a document'] }, encodingFormat: 'float' } });
    const [refused, unpinned] = plans(input({ request: embeddings }), [ollama, llama]);
    expect(refused.candidates).toEqual([]);
    expect(alternativesTo(refused, unpinned).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { provider: 'llama', model: 'nomic.gguf', name: 'llama' },
      { provider: 'ollama', model: 'nomic-embed-text:latest', name: 'ollama:nomic-embed-text:latest' },
    ]);
  });

  it('names one held out only by its health with its state, and nothing for a request that named nothing', () => {
    const ollama = provider({ id: 'ollama', models: [{ id: 'llama3.2:latest' }] });
    const vllm = provider({ id: 'vllm', baseUrl: 'http://127.0.0.1:8000/v1', models: [{ id: 'llava', tags: ['vision'] }] });
    const asked = withImage('ollama:llama3.2:latest');
    const refused = planRoute(asked, context([ollama, vllm]));
    const down = planRoute({ ...asked, request: { ...asked.request, model: 'auto' } }, context([ollama, vllm], { health: { vllm: { state: 'down', checkedAt: new Date().toISOString() } } }));
    expect(names(alternativesTo(refused, down))).toEqual(['vllm (down)']);
    expect(alternativesTo(refused, undefined)).toEqual([]);
  });
});

describe('hintForUnavailable', () => {
  it('nothing answers: start the engine or fix its base URL, and when syndicate tries it again', () => {
    expect(hintForUnavailable([{ provider: 'llama', local: true, kind: 'unreachable', retryInSeconds: 4.2 }])).toBe(
      'nothing answers at llama: start the engine or fix the baseUrl in its provider record (`syndicate doctor` checks each local engine); syndicate tries it again in 5 s',
    );
    expect(hintForUnavailable([{ provider: 'claude', local: false, kind: 'unreachable' }])).toBe('nothing answers at claude: check the network and the baseUrl in its provider record, then retry');
  });

  it('running but failing: not "start it" but its own log, and how long it stays out', () => {
    const hint = hintForUnavailable([{ provider: 'vllm', local: true, kind: 'failing', retryInSeconds: 3 }]);
    expect(hint).toBe("vllm answers but its calls fail (HTTP 5xx, broken or malformed answers, timeouts): look at the engine's own log or health endpoint; syndicate tries it again in 3 s");
    expect(hint).not.toContain('start');
    expect(hintForUnavailable([{ provider: 'vllm', local: true, kind: 'failing' }])).toMatch(/health endpoint, then retry$/);
    expect(hintForUnavailable([{ provider: 'claude', local: false, kind: 'failing' }, { provider: 'glm', local: false, kind: 'failing' }])).toMatch(
      /^claude, glm answer but their calls fail .*: look at the provider's status page, then retry$/,
    );
  });

  it('a local engine that refused for want of its key (401, 403): says so and names the record\'s key variable, or to add one; never "HTTP 5xx"', () => {
    const providers = [provider({ id: 'llama', authEnv: 'LLAMA_KEY' }), provider({ id: 'vllm' }), provider({ id: 'claude', class: 'approved_hosted', authEnv: 'ANTHROPIC_API_KEY' })];
    const hint = (entries: Parameters<typeof hintForUnavailable>[0]): string => hintForUnavailable(withEngineRemedies(entries, engineRemedies(providers)));
    const named = hint([{ provider: 'llama', local: true, kind: 'failing', status: 401, retryInSeconds: 4.2 }]);
    expect(named).toBe('llama refused the key in LLAMA_KEY: export a valid key for llama as LLAMA_KEY in the environment syndicate runs in (restart a running gateway or MCP server to pass it on)');
    expect(hint([{ provider: 'llama', local: true, kind: 'failing', status: 403 }])).toMatch(/^llama refused the key in LLAMA_KEY \(HTTP 403\): export a valid key/);
    const unnamed = hint([{ provider: 'vllm', local: true, kind: 'failing', status: 403 }]);
    expect(unnamed).toBe(
      'vllm asks for a key (HTTP 403) and its record sends none: add `auth: { env: NAME }` to its provider record, register it again (`syndicate provider register FILE`) and export NAME',
    );
    for (const text of [named, unnamed]) expect(text).not.toContain('5xx');
    // Another status: the calls fail, as before.
    expect(hint([{ provider: 'llama', local: true, kind: 'failing', status: 503 }])).toMatch(/^llama answers but its calls fail \(HTTP 5xx/);
    // The status a probe's answer put it down with reaches the hint through the plan's exclusion.
    expect(unavailabilityOfExclusions([{ ...excluded('unhealthy'), provider: 'llama', unavailable: { cause: 'failing', status: 401, retryInSeconds: 3 } }])).toEqual([
      { provider: 'llama', local: true, kind: 'failing', status: 401, retryInSeconds: 3 },
    ]);
    // Both at once: one clause each.
    expect(hint([{ provider: 'llama', local: true, kind: 'failing', status: 401 }, { provider: 'vllm', local: true, kind: 'failing', status: 401 }]).split('; ')).toHaveLength(2);
  });

  it('a hosted provider that refused its key (401, 403), in a fallback or held for it: the key hint with its auth.env variable, never "HTTP 5xx"', () => {
    const providers = [provider({ id: 'claude', class: 'approved_hosted', authEnv: 'ANTHROPIC_API_KEY' }), provider({ id: 'glm', class: 'approved_hosted' })];
    const hint = (entries: Parameters<typeof hintForUnavailable>[0]): string => hintForUnavailable(withEngineRemedies(entries, engineRemedies(providers)));
    expect(hint([{ provider: 'claude', local: false, kind: 'failing', status: 401, retryInSeconds: 20 }])).toBe(
      'claude refused the key in ANTHROPIC_API_KEY: export a valid key for claude as ANTHROPIC_API_KEY in the environment syndicate runs in (restart a running gateway or MCP server to pass it on)',
    );
    expect(hint([{ provider: 'claude', local: false, kind: 'failing', status: 403, model: 'claude-opus-4-1' }])).toMatch(/^claude refused claude-opus-4-1 to the key in ANTHROPIC_API_KEY: /);
    expect(hint([{ provider: 'glm', local: false, kind: 'failing', status: 401 }])).toMatch(/^glm asks for a key \(HTTP 401\) and its record sends none: add `auth: \{ env: NAME \}`/);
    // Held for its 401s: the status reaches the hint through the plan's exclusion.
    const held = unavailabilityOfExclusions([{ ...excluded('unhealthy'), provider: 'claude', class: 'approved_hosted', unavailable: { cause: 'failing', status: 401, retryInSeconds: 20 } }]);
    expect(hint(held)).toMatch(/^claude refused the key in ANTHROPIC_API_KEY: /);
    expect(hint(held)).not.toContain('5xx');
  });

  it('calls that failed with a connection reset: the clause says so instead of "HTTP 5xx", naming those reset when only some were', () => {
    expect(hintForUnavailable([{ provider: 'claude', local: false, kind: 'failing', connectionReset: true, retryInSeconds: 20 }])).toBe(
      "claude answers but its calls fail (the connection reset, before or during the answer): look at the provider's status page; syndicate tries it again in 20 s",
    );
    expect(
      hintForUnavailable([
        { provider: 'claude', local: false, kind: 'failing', connectionReset: true },
        { provider: 'glm', local: false, kind: 'failing', status: 502 },
      ]),
    ).toMatch(/^claude, glm answer but their calls fail \(connections reset by claude, HTTP 5xx, broken or malformed answers, timeouts\): /);
    // Held for resets: that reaches the hint through the plan's exclusion.
    expect(unavailabilityOfExclusions([{ ...excluded('unhealthy'), provider: 'claude', class: 'approved_hosted', unavailable: { cause: 'failing', connectionReset: true, retryInSeconds: 20 } }])).toEqual([
      { provider: 'claude', local: false, kind: 'failing', connectionReset: true, retryInSeconds: 20 },
    ]);
  });

  it('rate-limited: retry after the shortest wait; every reason gets its clause', () => {
    expect(hintForUnavailable([{ provider: 'claude', local: false, kind: 'rate_limited', retryInSeconds: 12.1 }])).toBe('claude is rate-limiting: retry in 13 s');
    const mixed = hintForUnavailable([
      { provider: 'llama', local: true, kind: 'unreachable', retryInSeconds: 5 },
      { provider: 'vllm', local: true, kind: 'failing', retryInSeconds: 2 },
      { provider: 'claude', local: false, kind: 'rate_limited' },
    ]);
    expect(mixed).toBe(
      'nothing answers at llama: start the engine or fix the baseUrl in its provider record (`syndicate doctor` checks each local engine); syndicate tries it again in 5 s; ' +
        "vllm answers but its calls fail (HTTP 5xx, broken or malformed answers, timeouts): look at the engine's own log or health endpoint; syndicate tries it again in 2 s; " +
        'claude is rate-limiting: retry later',
    );
  });

  it("reads the plan's exclusions: down ones by cause, those only held back by a rate limit, nothing else", () => {
    const down = (cause: 'unreachable' | 'failing', retryInSeconds: number): Exclusion => ({ ...excluded('unhealthy'), unavailable: { cause, retryInSeconds } });
    expect(
      unavailabilityOfExclusions([
        { ...down('failing', 2), provider: 'vllm' },
        { ...down('unreachable', 4), provider: 'llama' },
        { ...excluded('rate_limited'), provider: 'claude', class: 'approved_hosted', retryAfterSeconds: 7 },
        { ...excluded('unhealthy', 'tools'), provider: 'other' },
        excluded('class_not_allowed'),
      ]),
    ).toEqual([
      { provider: 'vllm', local: true, kind: 'failing', retryInSeconds: 2 },
      { provider: 'llama', local: true, kind: 'unreachable', retryInSeconds: 4 },
      { provider: 'claude', local: false, kind: 'rate_limited', retryInSeconds: 7 },
    ]);
  });

  it('reads one also over the first-token budget as its health says: alone, that budget keeps it as a last resort', () => {
    expect(
      unavailabilityOfExclusions([
        { ...excluded('unhealthy', 'latency_budget'), provider: 'llama', unavailable: { cause: 'failing', retryInSeconds: 3 } },
        { ...excluded('rate_limited', 'latency_budget'), provider: 'vllm', retryAfterSeconds: 9 },
        { ...excluded('latency_budget', 'class_not_allowed'), provider: 'claude', class: 'approved_hosted' },
        { ...excluded('latency_budget'), provider: 'ollama' },
      ]),
    ).toEqual([
      { provider: 'llama', local: true, kind: 'failing', retryInSeconds: 3 },
      { provider: 'vllm', local: true, kind: 'rate_limited', retryInSeconds: 9 },
    ]);
  });
});

describe('hintForUnavailable, a model held back on its own', () => {
  it('names provider:model, and says a model its provider does not serve is to be fixed in the record', () => {
    expect(hintForUnavailable([{ provider: 'claude', model: 'claude-opus-4-1', local: false, kind: 'rate_limited', retryInSeconds: 29.2 }])).toBe('claude:claude-opus-4-1 is rate-limiting: retry in 30 s');
    expect(hintForUnavailable([{ provider: 'ollama', model: 'qwen3:8b', local: true, kind: 'not_found', retryInSeconds: 5 }])).toBe(
      'ollama:qwen3:8b is not served by its provider (it answered that the model does not exist): fix the model id in the provider record or load it into the engine (`ollama pull MODEL`, a GGUF in its models directory); syndicate tries it again in 5 s',
    );
  });

  it('reads heldModel exclusions as that model, the others as their provider', () => {
    expect(
      unavailabilityOfExclusions([
        { ...excluded('rate_limited'), provider: 'claude', model: 'claude-opus-4-1', class: 'approved_hosted', retryAfterSeconds: 7, heldModel: true },
        { ...excluded('unhealthy'), provider: 'claude', model: 'claude-haiku-4-5', class: 'approved_hosted', unavailable: { cause: 'not_found', retryInSeconds: 30 }, heldModel: true },
        { ...excluded('rate_limited'), provider: 'glm', model: 'glm-4.6', class: 'restricted_hosted', retryAfterSeconds: 2 },
      ]),
    ).toEqual([
      { provider: 'claude', model: 'claude-opus-4-1', local: false, kind: 'rate_limited', retryInSeconds: 7 },
      { provider: 'claude', model: 'claude-haiku-4-5', local: false, kind: 'not_found', retryInSeconds: 30 },
      { provider: 'glm', local: false, kind: 'rate_limited', retryInSeconds: 2 },
    ]);
  });
});

describe('hintForUntriedKeyless', () => {
  it('names the keyless providers the hop limit cut off and the variables to export; nothing for the others', () => {
    expect(hintForUntriedKeyless([{ provider: 'claude', class: 'approved_hosted', missingKey: 'ANTHROPIC_API_KEY' }], 1)).toBe(
      'the hosted provider claude could have served it, but its key ANTHROPIC_API_KEY is not set, so it ranks last, and the first attempt and 1 fallback (fallback.maxHops) were used before it: export ANTHROPIC_API_KEY=… to use it',
    );
    expect(
      hintForUntriedKeyless(
        [
          { provider: 'ollama', class: 'local' },
          { provider: 'claude', class: 'approved_hosted', missingKey: 'ANTHROPIC_API_KEY' },
          { provider: 'glm', class: 'restricted_hosted', missingKey: 'ZHIPUAI_API_KEY' },
        ],
        0,
      ),
    ).toBe(
      'the hosted providers claude, glm could have served it, but their keys ANTHROPIC_API_KEY, ZHIPUAI_API_KEY are not set, so they rank last, and the only attempt (fallback.maxHops 0: no fallback) was used before them: export ANTHROPIC_API_KEY=…; export ZHIPUAI_API_KEY=… to use them',
    );
    expect(hintForUntriedKeyless([{ provider: 'ollama', class: 'local' }], 1)).toBeUndefined();
    // A variable the hint already says to set (every attempt was skipped for it): nothing more to say of that provider.
    expect(hintForUntriedKeyless([{ provider: 'claude', class: 'approved_hosted', missingKey: 'ANTHROPIC_API_KEY' }], 3, ['ANTHROPIC_API_KEY'])).toBeUndefined();
    expect(
      hintForUntriedKeyless(
        [
          { provider: 'claude', class: 'approved_hosted', missingKey: 'ANTHROPIC_API_KEY' },
          { provider: 'glm', class: 'restricted_hosted', missingKey: 'ZHIPUAI_API_KEY' },
        ],
        0,
        ['ANTHROPIC_API_KEY'],
      ),
    ).toBe('the hosted provider glm could have served it, but its key ZHIPUAI_API_KEY is not set, so it ranks last, and the only attempt (fallback.maxHops 0: no fallback) was used before it: export ZHIPUAI_API_KEY=… to use it');
  });
});


describe('hintForInputTooLong', () => {
  const refused = { provider: 'llama', model: 'bge.gguf', contextWindow: 8192 };

  it('llama-server’s physical batch: split the input, or start it with a larger batch and declare that batch as the window', () => {
    const message = 'input (1054 tokens) is too large to process. increase the physical batch size (current batch size: 512)';
    expect(hintForInputTooLong({ ...refused, embeddings: true, message })).toBe(
      'split the input into shorter texts (one vector each), or start llama-server with a physical batch as large as the longest input (`-b N -ub N`; 512 tokens now); ' +
        'declaring contextWindow: 512 for llama:bge.gguf in its provider record lets syndicate check inputs against it before calling',
    );
    expect(hintForInputTooLong({ ...refused, embeddings: true, message: 'input is too large to process. increase the physical batch size' })).toContain('declaring contextWindow: N for llama:bge.gguf');
  });

  it('any other engine: split the input (or shorten the conversation), and lower a window the record overstates', () => {
    const message = "This model's maximum context length is 512 tokens. However, you requested 600 tokens in the input for embedding generation.";
    expect(hintForInputTooLong({ ...refused, embeddings: true, message })).toBe(
      "split the input into shorter texts (one vector each), or use an embedding model with a larger window; if the engine's window is smaller than the contextWindow the record declares for llama:bge.gguf (8192), lower it so syndicate checks inputs before calling",
    );
    expect(hintForInputTooLong({ ...refused, embeddings: false, message: 'the request exceeds the available context size, try increasing it' })).toMatch(
      /^shorten or compact the conversation, or use a model with a larger window; .*lower it so syndicate checks prompts before calling$/,
    );
  });
});
