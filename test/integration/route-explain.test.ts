import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerProviderFiles } from '../../src/registry/register.js';
import { retireProvider } from '../../src/registry/registry.js';
import { freePort } from '../helpers/ports.js';
import { parseJsonDocument, runCli } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { initialisedHome } from '../helpers/prepared-home.js';
import { withStore, withStoreAsync } from '../helpers/store.js';

/**
 * `syndicate route --explain` for a table of scenarios, through the built CLI, with providers
 * registered from YAML: a live local engine (fake Ollama on loopback), a local engine that is
 * down, approved and restricted hosted providers, a hosted provider outside the egress list and
 * a blocked one. Nothing upstream is called; only the local health probes.
 */

interface PlanDocument {
  ok: boolean;
  classification: { level: string; findings: { detector: string }[]; failedClosed: boolean };
  estimatedPromptTokens: number;
  plan: {
    candidates: { provider: string; model: string; class: string; rank: number; version: number; reasons: string[]; estimatedCostUsd: number }[];
    excluded: { provider: string; model: string; class: string; rules: string[]; reasons: string[] }[];
    allowedClasses: string[];
    sensitivity: string;
    explanation: string;
  };
}

let home = '';
let cleanupHome: () => void = () => {};
let ollama: FakeEngine;
let deadPort = 0;


function writeRecord(name: string, yaml: string): string {
  const path = join(home, `${name}.yaml`);
  writeFileSync(path, `apiVersion: syndicate/v1\nkind: Provider\n${yaml}`);
  return path;
}

beforeAll(async () => {
  const temporary = await initialisedHome('syndicate-route-');
  home = temporary.home;
  cleanupHome = temporary.cleanup;
  // Ollama reports the first model resident at start: llama3.2:3b is warm, qwen2.5-coder:7b is cold.
  // Started with OLLAMA_CONTEXT_LENGTH=131072: its models are loaded with the contexts their records declare.
  ollama = await startFakeEngine({ kind: 'ollama', models: [{ id: 'llama3.2:3b' }, { id: 'qwen2.5-coder:7b' }], ollamaContextLength: 131072 });
  deadPort = await freePort();
  const files = [
    writeRecord(
      'ollama',
      `id: ollama
class: local
wire: openai
baseUrl: ${ollama.baseUrl}
models:
  - id: llama3.2:3b
    contextWindow: 131072
    capabilityClass: small
    priority: 50
    tags: [chat]
  - id: qwen2.5-coder:7b
    contextWindow: 32768
    capabilityClass: medium
    priority: 40
    tags: [code, tools]
deviations: [approximate_token_counts]
engine:
  kind: ollama
  launch: { command: ollama, args: [serve], readyPath: /api/tags, coldStartSeconds: 30 }
`,
    ),
    writeRecord(
      'llamacpp',
      `id: llamacpp
class: local
wire: openai
baseUrl: http://127.0.0.1:${deadPort}/v1
models:
  - id: qwen2.5-7b
    contextWindow: 8192
    capabilityClass: small
    priority: 90
engine:
  kind: llama.cpp
`,
    ),
    writeRecord(
      'anthropic',
      `id: anthropic
class: approved_hosted
wire: anthropic
baseUrl: https://api.anthropic.com
auth: { env: ANTHROPIC_API_KEY }
models:
  - id: claude-sonnet-4-5
    contextWindow: 200000
    capabilityClass: frontier
    tags: [chat, code, tools]
    price: { inputPerMTok: 3, outputPerMTok: 15 }
  - id: claude-haiku-4-5
    contextWindow: 200000
    capabilityClass: large
    tags: [chat, code, tools]
    price: { inputPerMTok: 1, outputPerMTok: 5 }
`,
    ),
    writeRecord(
      'glm',
      `id: glm
class: restricted_hosted
wire: openai
baseUrl: https://open.bigmodel.cn/api/paas/v4
auth: { env: ZHIPUAI_API_KEY }
models:
  - id: glm-4.6
    contextWindow: 200000
    capabilityClass: large
    tags: [chat, code]
    price: { inputPerMTok: 0.6, outputPerMTok: 2.2 }
`,
    ),
    writeRecord(
      'shadow',
      `id: shadow
class: approved_hosted
wire: openai
baseUrl: https://llm.example.com/v1
auth: { env: SHADOW_API_KEY }
models:
  - id: shadow-large
    contextWindow: 128000
    capabilityClass: large
    price: { inputPerMTok: 0.1, outputPerMTok: 0.1 }
`,
    ),
    writeRecord(
      'banned',
      `id: banned
class: blocked
wire: openai
baseUrl: https://api.openai.com/v1
auth: { env: OPENAI_API_KEY }
models:
  - id: gpt-banned
    contextWindow: 128000
    capabilityClass: large
    price: { inputPerMTok: 0.1, outputPerMTok: 0.1 }
`,
    ),
  ];
  // Registered in this process, as `provider register` does: the CLI's part is what the tests run.
  await withStoreAsync(home, (store) => registerProviderFiles(store, files));
}, 120_000);

afterAll(async () => {
  await ollama?.close();
  cleanupHome();
});

/** The hosted providers' keys, set: the scenarios rank by the policy, not by which keys this machine happens to have. */
const KEYS_SET = { ANTHROPIC_API_KEY: 'test-key', ZHIPUAI_API_KEY: 'test-key' };

async function route(
  args: string[],
  input?: string,
  env: Record<string, string | undefined> = KEYS_SET,
): Promise<{ exitCode: number; document: PlanDocument; stderr: string; errorCode?: string; errorMessage?: string; errorDetailKeys?: string[] }> {
  const result = await runCli(['route', '--json', ...args], { home, env, ...(input === undefined ? {} : { input }) });
  const parsed = parseJsonDocument(result.stdout);
  if (parsed.ok === false) {
    const { details, code, message } = parsed.error as { details: Omit<PlanDocument, 'ok'>; code: string; message: string };
    const errorDetailKeys = Object.keys(details).sort();
    return { exitCode: result.exitCode, document: { ok: false, ...details }, stderr: result.stderr, errorCode: code, errorMessage: message, errorDetailKeys };
  }
  return { exitCode: result.exitCode, document: parsed as unknown as PlanDocument, stderr: result.stderr };
}

const keys = (document: PlanDocument): string[] => document.plan.candidates.map((candidate) => `${candidate.provider}:${candidate.model}`);
const reasonsFor = (document: PlanDocument, key: string): string[] | undefined =>
  document.plan.excluded.find((exclusion) => `${exclusion.provider}:${exclusion.model}` === key)?.reasons;

/** Exclusions every scenario has, whatever the level: the rules that do not depend on the request. */
function expectStandingExclusions(document: PlanDocument): void {
  expect(reasonsFor(document, 'banned:gpt-banned')?.[0]).toBe('provider class is blocked: never called');
  expect(reasonsFor(document, 'llamacpp:qwen2.5-7b')?.join('; ')).toMatch(/^engine unreachable: .*connection refused \(is the engine running\?\)/);
  expect(reasonsFor(document, 'shadow:shadow-large')).toContain('host llm.example.com is not on the egress allow-list');
}

interface Scenario {
  name: string;
  args: string[];
  input?: string;
  exitCode: number;
  level: string;
  /** A detector the classifier must report, when the level comes from the prompt. */
  detector?: string;
  candidates: string[];
  excluded: Record<string, string>;
  /** The refusal's code and message start (exit 4), as `run` gives it; default: `route_denied`, as `run` and the gateway's 403 give it. */
  refusal?: { code: string; message: string };
}

const SCENARIOS: Scenario[] = [
  {
    name: 'public batch work: cheapest first, then priority; every class the map allows',
    args: ['--workflow', 'batch', 'summarise the meeting notes from Tuesday'],
    exitCode: 0,
    level: 'public',
    candidates: ['ollama:llama3.2:3b', 'ollama:qwen2.5-coder:7b', 'glm:glm-4.6', 'anthropic:claude-haiku-4-5', 'anthropic:claude-sonnet-4-5'],
    excluded: {},
  },
  {
    name: 'a code task puts code-tagged models first, whatever their class',
    args: ['--workflow', 'batch', 'refactor this python function to use a dictionary'],
    exitCode: 0,
    level: 'public',
    candidates: ['ollama:qwen2.5-coder:7b', 'glm:glm-4.6', 'anthropic:claude-haiku-4-5', 'anthropic:claude-sonnet-4-5', 'ollama:llama3.2:3b'],
    excluded: {},
  },
  {
    name: 'interactive: the cold local model counts its declared 30 s load against the 1500 ms budget',
    args: ['--workflow', 'interactive', 'summarise the meeting notes from Tuesday'],
    exitCode: 0,
    level: 'public',
    candidates: ['ollama:llama3.2:3b', 'anthropic:claude-haiku-4-5', 'anthropic:claude-sonnet-4-5', 'glm:glm-4.6'],
    excluded: { 'ollama:qwen2.5-coder:7b': 'expected first token 30000 ms exceeds the interactive budget of 1500 ms' },
  },
  {
    name: 'internal (caller hint) drops restricted_hosted',
    args: ['--workflow', 'batch', '--sensitivity', 'internal', 'summarise the meeting notes from Tuesday'],
    exitCode: 0,
    level: 'internal',
    candidates: ['ollama:llama3.2:3b', 'ollama:qwen2.5-coder:7b', 'anthropic:claude-haiku-4-5', 'anthropic:claude-sonnet-4-5'],
    excluded: { 'glm:glm-4.6': 'class restricted_hosted may not receive internal data (allowed: local, approved_hosted)' },
  },
  {
    name: 'a credential keeps the request on this machine',
    args: ['--workflow', 'batch', '-'],
    input: 'connect with password: hunter2 and fix the import job',
    exitCode: 0,
    level: 'restricted',
    detector: 'credential.assignment',
    candidates: ['ollama:llama3.2:3b', 'ollama:qwen2.5-coder:7b'],
    excluded: {
      'anthropic:claude-sonnet-4-5': 'class approved_hosted may not receive restricted data (allowed: local)',
      'glm:glm-4.6': 'class restricted_hosted may not receive restricted data (allowed: local)',
    },
  },
  {
    name: 'an indicator word (screenshot) keeps it local',
    args: ['--workflow', 'batch', 'what does this screenshot of the dashboard show'],
    exitCode: 0,
    level: 'confidential',
    detector: 'indicator.word',
    candidates: ['ollama:llama3.2:3b', 'ollama:qwen2.5-coder:7b'],
    excluded: { 'anthropic:claude-haiku-4-5': 'class approved_hosted may not receive confidential data (allowed: local)' },
  },
  {
    name: 'a credential in --system keeps the request on this machine, as `run` classifies its system prompt (--temperature taken as run takes it)',
    args: ['--workflow', 'batch', '--system', 'connect with password: hunter2', '--temperature', '0.2', 'fix the import job'],
    exitCode: 0,
    level: 'restricted',
    detector: 'credential.assignment',
    candidates: ['ollama:llama3.2:3b', 'ollama:qwen2.5-coder:7b'],
    excluded: {
      'anthropic:claude-sonnet-4-5': 'class approved_hosted may not receive restricted data (allowed: local)',
      'glm:glm-4.6': 'class restricted_hosted may not receive restricted data (allowed: local)',
    },
  },
  {
    name: 'pinning a hosted model does not bypass the map: refused with exit 4',
    args: ['--model', 'anthropic:claude-sonnet-4-5', 'my password is hunter2'],
    exitCode: 4,
    level: 'restricted',
    candidates: [],
    excluded: { 'anthropic:claude-sonnet-4-5': 'class approved_hosted may not receive restricted data (allowed: local)' },
  },
  {
    name: 'the untrusted tier may only use local models',
    args: ['--workflow', 'batch', '--trust-tier', 'untrusted', 'summarise the meeting notes from Tuesday'],
    exitCode: 0,
    level: 'public',
    candidates: ['ollama:llama3.2:3b', 'ollama:qwen2.5-coder:7b'],
    excluded: { 'anthropic:claude-haiku-4-5': 'trust tier untrusted may not use class approved_hosted' },
  },
  {
    name: 'a prompt that fits no context window is refused as `run` refuses it: context_length_exceeded',
    args: ['--workflow', 'batch', '--max-tokens', '1000', '-'],
    // ~240 000 tokens: more than the largest window (200 000) holds.
    input: 'summarise the meeting notes from Tuesday. '.repeat(30_000),
    exitCode: 4,
    level: 'public',
    candidates: [],
    excluded: { 'anthropic:claude-haiku-4-5': 'context window 200000 < ', 'ollama:llama3.2:3b': 'context window 131072 < ' },
    refusal: { code: 'context_length_exceeded', message: 'prompt is too long for every model this public request may use: ' },
  },
  {
    name: 'a max output larger than a window leaves is lowered for that model, not refused',
    args: ['--workflow', 'batch', '--max-tokens', '250000', 'summarise the meeting notes from Tuesday'],
    exitCode: 0,
    level: 'public',
    // Every model is lowered (no window holds 250 000); priced at the output it would be sent,
    // Sonnet's ~200 000 tokens exceed the $1 per-request ceiling, Haiku's do not.
    candidates: ['ollama:llama3.2:3b', 'ollama:qwen2.5-coder:7b', 'glm:glm-4.6', 'anthropic:claude-haiku-4-5'],
    excluded: { 'anthropic:claude-sonnet-4-5': 'exceeds the per-request ceiling $1.00' },
  },
];

describe('syndicate route --explain scenarios', () => {
  it.each(SCENARIOS)('$name', { timeout: 90_000 }, async (scenario) => {
    const { exitCode, document, stderr, errorCode, errorMessage, errorDetailKeys } = await route(scenario.args, scenario.input);
    expect(exitCode, stderr).toBe(scenario.exitCode);
    expect(document.classification.level).toBe(scenario.level);
    expect(document.plan.sensitivity).toBe(scenario.level);
    if (scenario.detector !== undefined) expect(document.classification.findings.map((finding) => finding.detector)).toContain(scenario.detector);
    if (scenario.level === 'public') expect(document.classification.findings).toEqual([]);
    expect(keys(document)).toEqual(scenario.candidates);
    expect(document.plan.candidates.map((candidate) => candidate.rank)).toEqual(scenario.candidates.map((_key, index) => index + 1));
    for (const [key, reason] of Object.entries(scenario.excluded)) {
      expect(reasonsFor(document, key)?.join('; '), `${key} in ${JSON.stringify(document.plan.excluded)}`).toContain(reason);
    }
    if (!scenario.args.includes('--model')) expectStandingExclusions(document);
    if (scenario.exitCode === 4) {
      const refusal = scenario.refusal ?? { code: 'route_denied', message: 'no provider may receive this' };
      expect(errorCode).toBe(refusal.code);
      expect(errorMessage).toContain(refusal.message);
      // One shape for every refusal, each fact once: a refused field adds only the field's name.
      const shared = ['classification', 'estimatedPromptTokens', 'holds', 'plan', 'skipped'];
      expect(errorDetailKeys).toEqual(refusal.code === 'route_denied' ? shared : [...shared, 'param'].sort());
      expect(stderr).toBe('');
    }
  });

  it('prints the explanation for people: rules, candidates in order, every exclusion with its reason', async () => {
    const result = await runCli(['route', '--explain', '--workflow', 'interactive', 'summarise the meeting notes from Tuesday'], { home, env: KEYS_SET });
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('sensitivity: public');
    expect(lines).toContain('sensitivity public: the policy allows local, approved_hosted, restricted_hosted');
    expect(lines).toContain('workflow interactive: prefer fastest, priority; first token within 1500 ms');
    expect(lines).toContain('candidates:');
    expect(lines.find((line) => line.startsWith('  1. '))).toMatch(/^ {2}1\. ollama:llama3\.2:3b \(local, v1\) — model is loaded \(warm\)/);
    expect(lines).toContain('excluded:');
    expect(lines).toContain('  - banned:gpt-banned (blocked) — provider class is blocked: never called');
    expect(lines).toContain('  - shadow:shadow-large (approved_hosted) — host llm.example.com is not on the egress allow-list');
    expect(lines).toContain('  - ollama:qwen2.5-coder:7b (local) — expected first token 30000 ms exceeds the interactive budget of 1500 ms');
    expect(result.stderr).toBe('');
  });

  it('shows a max output lowered to fit a window on the candidate it applies to (--explain and --json)', async () => {
    const result = await runCli(['route', '--explain', '--workflow', 'batch', '--max-tokens', '40000', 'summarise the meeting notes from Tuesday'], { home, env: KEYS_SET });
    expect(result.exitCode, result.stderr).toBe(0);
    const coder = result.stdout.split('\n').find((line) => line.startsWith('  2. '));
    expect(coder).toMatch(/^ {2}2\. ollama:qwen2\.5-coder:7b \(local, v1\) — .*max output lowered from 40000 to \d+ tokens: what context window 32768 leaves after the prompt \(\d+\) and the chat template allowance \(136\)/);
    expect(result.stdout.split('\n').find((line) => line.startsWith('  1. '))).not.toContain('lowered');
    const { document } = await route(['--workflow', 'batch', '--max-tokens', '40000', 'summarise the meeting notes from Tuesday']);
    const lowered = document.plan.candidates.map((candidate) => [`${candidate.provider}:${candidate.model}`, (candidate as { loweredMaxTokens?: number }).loweredMaxTokens]);
    expect(lowered).toEqual([
      ['ollama:llama3.2:3b', undefined],
      ['ollama:qwen2.5-coder:7b', 32_768 - document.estimatedPromptTokens - 136],
      ['glm:glm-4.6', undefined],
      ['anthropic:claude-haiku-4-5', undefined],
      ['anthropic:claude-sonnet-4-5', undefined],
    ]);
  });

  it('without --explain prints a candidate table and a count of exclusions', async () => {
    const result = await runCli(['route', '--workflow', 'batch', 'summarise the meeting notes from Tuesday'], { home, env: KEYS_SET });
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[1]).toMatch(/^RANK\s+PROVIDER\s+MODEL\s+CLASS\s+VERSION\s+EST\. COST\s+FIRST TOKEN$/);
    expect(lines[2]).toMatch(/^1\s+ollama\s+llama3\.2:3b\s+local\s+v1\s+\$0\.0000/);
    expect(lines.at(-1)).toBe('3 excluded (run with --explain to see why)');
  });

  it('a refusal explains itself on stdout and says why on stderr (exit 4)', async () => {
    const result = await runCli(['route', '--explain', '--model', 'anthropic:claude-sonnet-4-5', 'my password is hunter2'], { home, env: KEYS_SET });
    expect(result.exitCode).toBe(4);
    expect(result.stdout).toContain('  - anthropic:claude-sonnet-4-5 (approved_hosted) — class approved_hosted may not receive restricted data (allowed: local)');
    expect(result.stdout).toContain('no candidate: the request would be refused');
    expect(result.stderr).toContain('error: no provider may receive this restricted request');
    // The hint `run` and MCP `route_explain` give: the models that may take it, to name instead.
    expect(result.stderr).toContain('hint: ollama, llamacpp (down) may take it: name one of them instead, or let the policy choose (model `auto`, no provider named); see the exclusions above');
    // Without --explain nothing above lists them: the hint says how to see them.
    const terse = await runCli(['route', '--model', 'anthropic:claude-sonnet-4-5', 'my password is hunter2'], { home, env: KEYS_SET });
    expect(terse.exitCode).toBe(4);
    expect(terse.stdout).not.toContain('class approved_hosted may not receive restricted data');
    expect(terse.stderr).toContain('; run it again with `--explain` to see why each provider was excluded');
  });

  it('when what may take it is only down, route answers as run does: unavailable (exit 5, start the engine), not refused', async () => {
    const routed = await runCli(['route', '--explain', '--provider', 'llamacpp', 'hello'], { home, env: KEYS_SET });
    expect(routed.exitCode).toBe(5);
    expect(routed.stdout).toContain('no candidate: what may take the request is unavailable just now');
    expect(routed.stderr).toMatch(/^error: inference unavailable, try again later \(llamacpp:qwen2\.5-7b: engine unreachable: /);
    expect(routed.stderr).toContain('hint: nothing answers at llamacpp: start the engine or fix the baseUrl in its provider record');
    const ran = await runCli(['--json', 'run', '--provider', 'llamacpp', 'hello'], { home, env: KEYS_SET });
    expect(ran.exitCode).toBe(5);
    const json = await runCli(['--json', 'route', '--provider', 'llamacpp', 'hello'], { home, env: KEYS_SET });
    expect(json.exitCode).toBe(5);
    const [routeError, runError] = [json, ran].map((result) => (parseJsonDocument(result.stdout) as { error: { code: string; hint: string } }).error);
    expect(routeError).toMatchObject({ code: 'inference_unavailable', hint: runError?.hint });
  });

  it('hosted candidates whose key is not set rank after the local ones, whatever the task prefers', async () => {
    const { exitCode, document } = await route(['--workflow', 'batch', 'refactor this python function to use a dictionary'], undefined, { ANTHROPIC_API_KEY: '', ZHIPUAI_API_KEY: undefined });
    expect(exitCode).toBe(0);
    expect(keys(document)).toEqual(['ollama:qwen2.5-coder:7b', 'ollama:llama3.2:3b', 'glm:glm-4.6', 'anthropic:claude-haiku-4-5', 'anthropic:claude-sonnet-4-5']);
    expect(document.plan.candidates[2]?.reasons[0]).toBe('key ZHIPUAI_API_KEY not set: ranked after every candidate that can be called');
  });

  it('only probes the local engines (metadata endpoints), never inference', async () => {
    // A route of its own: run first (vitest may shuffle), the test found nothing sent and failed.
    expect((await route(['--workflow', 'batch', 'summarise the meeting notes from Tuesday'])).exitCode).toBe(0);
    const paths = ollama.exchanges.map((exchange) => `${exchange.method} ${exchange.path}`);
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.every((path) => path === 'GET /v1/models' || path === 'GET /api/ps')).toBe(true);
  });

  it('usage errors exit 2', async () => {
    const badWorkflow = await runCli(['route', '--workflow', 'realtime', 'hi'], { home });
    expect(badWorkflow.exitCode).toBe(2);
    expect(badWorkflow.stderr).toContain("option '--workflow <class>' argument 'realtime' is invalid");
    const badTokens = await runCli(['route', '--max-tokens', 'lots', 'hi'], { home });
    expect(badTokens.exitCode).toBe(2);
    expect(badTokens.stderr).toContain('--max-tokens must be a positive whole number, got "lots"');
    const empty = await runCli(['route', '-'], { home, input: '   ' });
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toContain('the prompt is empty');
  });

  it('a provider, model or trust tier nothing answers to is a usage error (exit 2) naming what there is, as for `run`', async () => {
    const provider = await runCli(['route', '--explain', '--provider', 'nosuch', 'hello'], { home, env: KEYS_SET });
    expect(provider.exitCode).toBe(2);
    expect(provider.stdout).toBe('');
    expect(provider.stderr).toContain('error: no provider nosuch is registered');
    expect(provider.stderr).toContain('hint: name one of: anthropic, banned, glm, llamacpp, ollama, shadow (`syndicate provider list`)');
    const ran = await runCli(['run', '--provider', 'nosuch', 'hello'], { home, env: KEYS_SET });
    expect({ exitCode: ran.exitCode, stderr: ran.stderr }).toEqual({ exitCode: 2, stderr: provider.stderr });

    const model = await runCli(['route', '--json', '--model', 'nosuch', 'hello'], { home, env: KEYS_SET });
    expect(model.exitCode).toBe(2);
    const error = (parseJsonDocument(model.stdout) as { error: { code: string; message: string; hint: string } }).error;
    expect(error).toMatchObject({ code: 'model_not_found', message: 'unknown model "nosuch": no registered model or alias matches' });
    // What can serve now first; routing has probed the local engines, so the one that is down says so.
    expect(error.hint).toContain('one of: anthropic:claude-sonnet-4-5, anthropic:claude-haiku-4-5, glm:glm-4.6, ollama:llama3.2:3b, ollama:qwen2.5-coder:7b, banned:gpt-banned (blocked), llamacpp:qwen2.5-7b (down),');
    const pinned = await runCli(['route', '--provider', 'ollama', '--model', 'claude-haiku-4-5', 'hello'], { home, env: KEYS_SET });
    expect(pinned.exitCode).toBe(2);
    expect(pinned.stderr).toContain('error: unknown model "claude-haiku-4-5": no model or alias of provider ollama matches');

    const tier = await runCli(['route', '--explain', '--trust-tier', 'nobody', 'hello'], { home, env: KEYS_SET });
    expect(tier.exitCode).toBe(2);
    expect(tier.stdout).toBe('');
    expect(tier.stderr).toContain('error: unknown trust tier "nobody"\nhint: use one of: operator, agent, untrusted');
  });

  it('--provider considers that provider alone: the others are not listed as excluded', async () => {
    const result = await runCli(['route', '--explain', '--provider', 'anthropic', '--workflow', 'batch', 'summarise the meeting notes from Tuesday'], { home, env: KEYS_SET });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('provider anthropic asked for: no other provider considered');
    expect(result.stdout).not.toContain('excluded:');
    expect(result.stdout).not.toContain('ollama');
    const { document } = await route(['--provider', 'anthropic', '--workflow', 'batch', 'summarise the meeting notes from Tuesday']);
    expect(keys(document)).toEqual(['anthropic:claude-haiku-4-5', 'anthropic:claude-sonnet-4-5']);
    expect(document.plan.excluded).toEqual([]);
  });
});

describe('a retired provider asked for by name', () => {
  it('is refused once, by `route`, `run` and `provider test` alike (exit 4), without listing every other provider', async () => {
    const temporary = await initialisedHome('syndicate-retired-');
    try {
      const directory = temporary.home;
      const records = ['old', 'other'].map((id) => {
        const path = join(directory, `${id}.yaml`);
        writeFileSync(
          path,
          `apiVersion: syndicate/v1\nkind: Provider\nid: ${id}\nclass: local\nwire: openai\nbaseUrl: http://127.0.0.1:${deadPort}/v1\nmodels:\n  - { id: a, contextWindow: 8192, capabilityClass: small }\n  - { id: b, contextWindow: 8192, capabilityClass: small }\n`,
        );
        return path;
      });
      // Set up in this process, as `provider register` and `provider remove old` do: what the CLI says of them is tested elsewhere.
      await withStoreAsync(directory, (store) => registerProviderFiles(store, records));
      withStore(directory, (store) => retireProvider(store, 'old'));
      for (const args of [['route', '--explain', '--provider', 'old', 'hi'], ['run', '--provider', 'old', 'hi'], ['provider', 'test', 'old']]) {
        const result = await runCli(args, { home: directory });
        expect(result.exitCode, args.join(' ')).toBe(4);
        expect(result.stderr).toMatch(/^error: provider old was retired at \S+: a retired provider is never called\nhint: register it again \(`syndicate provider register FILE`\), or name an active one: other/);
        expect(`${result.stdout}${result.stderr}`).not.toContain('not the requested provider');
      }
      // `run` and `provider test` keep the refusal as evidence.
      const listed = parseJsonDocument((await runCli(['evidence', 'list', '--json'], { home: directory })).stdout) as { evidence: { state: string; caller: string; error: { code: string } | null }[] };
      expect(listed.evidence.map((envelope) => [envelope.caller, envelope.state, envelope.error?.code])).toEqual([
        ['probe', 'denied', 'provider_retired'],
        ['cli', 'denied', 'provider_retired'],
      ]);
    } finally {
      temporary.cleanup();
    }
  });
});
