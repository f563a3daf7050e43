import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { switchSessionModel } from '../../src/sessions/index.js';
import { BIN, REPO_ROOT } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { toolText } from '../helpers/mcp.js';
import { PNG, sparsePngs, WEATHER_TOOL } from '../helpers/request-options.js';
import { defaultModel, Scenario } from '../helpers/scenario.js';
import { withStoreAsync } from '../helpers/store.js';

/**
 * `route` says what `run` would do: for each input of a table, `route --json` and `run --json`
 * through the built CLI on one store (fake Anthropic hosted, fake Ollama local, the policy
 * preferring hosted) agree on the provider (route's plan head is the provider `run` used), or on
 * the refusal: its code and exit code. `route` runs first: `run` may append a session turn.
 */

const OPUS = 'claude-opus-4-1';
const KEYS = { FAKE_ANTHROPIC_KEY: 'sk-ant-fake' };
const SECRET = 'the deploy key is AKIAIOSFODNN7EXAMPLE, keep it safe';
const PRICE = { inputPerMTok: 3, outputPerMTok: 15 };

/** What a command came to: the provider it used (or would use first), or its error code; and its exit code. */
interface Outcome {
  exitCode: number;
  provider?: string;
  code?: string;
}

/** Each command's error, as `--json` gives it, by the last `outcome` that failed: what a script parsing both reads. */
const lastErrors: Record<string, { code: string; message: string; hint?: string; details?: Record<string, unknown> }> = {};

async function outcome(scenario: Scenario, args: string[], input?: string, env: Record<string, string | undefined> = KEYS): Promise<Outcome> {
  const { result, document } = await scenario.json(args, { env, ...(input === undefined ? {} : { input }) });
  if (document.ok === false) {
    const error = document.error as { code: string; message: string; hint?: string; details?: Record<string, unknown> };
    lastErrors[args[0]!] = error;
    return { exitCode: result.exitCode, code: error.code };
  }
  if (args[0] === 'route') return { exitCode: result.exitCode, provider: (document.plan as { candidates: { provider: string }[] }).candidates[0]?.provider ?? 'none' };
  return { exitCode: result.exitCode, provider: (document.provider as { id: string }).id };
}

/** The real MCP client over stdio to `syndicate mcp` in the scenario's home, with the hosted key set (unless `keys` says otherwise). */
async function mcpClient(scenario: Scenario, keys: Record<string, string> = KEYS): Promise<Client> {
  const client = new Client({ name: 'syndicate-test', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], cwd: REPO_ROOT, env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1', ...keys }, stderr: 'pipe' }));
  return client;
}

/** `route ARGS` and `run --no-stream ARGS` on the same input, `route` first. */
async function both(scenario: Scenario, args: string[], input?: string, env?: Record<string, string | undefined>): Promise<{ route: Outcome; run: Outcome }> {
  const route = await outcome(scenario, ['route', ...args], input, env);
  const run = await outcome(scenario, ['run', '--no-stream', ...args], input, env);
  return { route, run };
}

describe('route and run agree on the same input', () => {
  let scenario: Scenario;
  let claude: FakeEngine;
  let ollama: FakeEngine;
  let files: { image: string; tools: string; largeImage: string };

  beforeAll(async () => {
    [claude, ollama] = await Promise.all([startFakeEngine({ kind: 'anthropic', models: [{ id: OPUS }] }), startFakeEngine({ kind: 'ollama' })]);
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'], policyExtra: ['workflows:', '  interactive:', '    prefer: [hosted]'].join('\n') });
    await scenario.register(
      { id: 'claude', engine: claude, class: 'approved_hosted', model: OPUS, authEnv: 'FAKE_ANTHROPIC_KEY', price: PRICE, capabilityClass: 'frontier', tags: ['chat', 'tools', 'vision'], contextWindow: 200000 },
      { id: 'ollama', engine: ollama, contextWindow: 8192, tags: ['chat'] },
    );
    // 25 MiB is 33.3 MiB base64-encoded, as sent: over the 32 MiB a request may be.
    files = { image: join(scenario.home, 'screen.png'), tools: join(scenario.home, 'tools.json'), largeImage: sparsePngs(scenario.home, 25 * 1024 * 1024)[0] };
    writeFileSync(files.image, PNG);
    writeFileSync(files.tools, JSON.stringify([WEATHER_TOOL]));
  }, 90_000);

  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([claude?.close(), ollama?.close()]);
  });

  const local = `ollama:${defaultModel({ kind: 'ollama' } as FakeEngine)}`;
  const cases: { name: string; args: () => string[]; expected: Omit<Outcome, 'exitCode'> & { exitCode: number } }[] = [
    { name: 'a public prompt goes to the preferred hosted model', args: () => ['say hello'], expected: { exitCode: 0, provider: 'claude' } },
    { name: 'a secret stays local', args: () => [SECRET], expected: { exitCode: 0, provider: 'ollama' } },
    { name: 'a sensitivity hint keeps it local', args: () => ['say hello', '--sensitivity', 'confidential'], expected: { exitCode: 0, provider: 'ollama' } },
    { name: 'a --provider pin', args: () => ['say hello', '--provider', 'ollama'], expected: { exitCode: 0, provider: 'ollama' } },
    { name: 'a --provider id:model pin', args: () => ['say hello', '--provider', local], expected: { exitCode: 0, provider: 'ollama' } },
    { name: 'a --model pin', args: () => ['say hello', '--model', local], expected: { exitCode: 0, provider: 'ollama' } },
    { name: 'tools go to the model tagged tools', args: () => ['weather in Paris?', '--tools', files.tools], expected: { exitCode: 0, provider: 'claude' } },
    { name: 'tools on a local pin not tagged tools', args: () => ['weather in Paris?', '--tools', files.tools, '--provider', 'ollama'], expected: { exitCode: 4, code: 'route_denied' } },
    // An image is confidential (it stays local), and the local model is not tagged vision.
    { name: 'an image', args: () => ['what is this?', '--image', files.image], expected: { exitCode: 4, code: 'route_denied' } },
    { name: 'an image marked public is still confidential', args: () => ['what is this?', '--image', files.image, '--sensitivity', 'public'], expected: { exitCode: 4, code: 'route_denied' } },
    { name: 'an output limit longer than the local window is lowered to fit', args: () => ['say hello', '--provider', 'ollama', '--max-tokens', '9000'], expected: { exitCode: 0, provider: 'ollama' } },
    { name: 'a prompt too long for the local window', args: () => ['word '.repeat(12_000), '--provider', 'ollama'], expected: { exitCode: 4, code: 'context_length_exceeded' } },
    { name: 'a prompt too long for the local window goes to the hosted one', args: () => ['word '.repeat(12_000)], expected: { exitCode: 0, provider: 'claude' } },
  ];

  for (const entry of cases) {
    it(entry.name, async () => {
      const { route, run } = await both(scenario, entry.args());
      expect(route).toEqual(run);
      expect(run).toEqual(entry.expected);
    }, 90_000);
  }

  // `route` shows the plan, marks every candidate `run` would skip for its unset key, and fails as
  // `run` fails (exit 5, the same message and hint), as it does for the other verdicts of `run`.
  it('a hosted pin whose key is not set: route marks it skipped and fails as run does (inference_unavailable, exit 5)', async () => {
    const unset = { FAKE_ANTHROPIC_KEY: undefined };
    const { route, run } = await both(scenario, ['say hello', '--provider', 'claude'], undefined, unset);
    expect(run).toEqual({ exitCode: 5, code: 'inference_unavailable' });
    expect(route).toEqual(run);
    expect({ message: lastErrors['route']?.message, hint: lastErrors['route']?.hint }).toEqual({ message: lastErrors['run']?.message, hint: lastErrors['run']?.hint });
    expect(lastErrors['run']?.hint).toBe('set the key in the environment syndicate runs in (export FAKE_ANTHROPIC_KEY=…), then retry');
    const said = await scenario.cli(['route', 'say hello', '--provider', 'claude'], { env: unset });
    expect(said.exitCode).toBe(5);
    expect(said.stdout).toContain('every candidate would be skipped: `run` would fail (exit 5)');
    expect(said.stderr).toContain('error: inference unavailable, try again later (claude:claude-opus-4-1: FAKE_ANTHROPIC_KEY is not set, so claude cannot be called)');
    // MCP: `route_explain` in a server without the key says what `complete` fails with — to restart the
    // server with the key set, not to retry (a running server never re-reads its environment).
    const client = await mcpClient(scenario, {});
    try {
      const explained = (await client.callTool({ name: 'route_explain', arguments: { prompt: 'say hello', provider: 'claude' } })) as CallToolResult;
      const [sentence, hint] = toolText(explained).split('\n');
      expect(sentence).toBe('inference unavailable, try again later');
      expect(hint).toMatch(/^hint: set the key in the environment syndicate runs in \(export FAKE_ANTHROPIC_KEY=…\), then restart the gateway or MCP server: /);
    } finally {
      await client.close();
    }
  }, 90_000);

  it('the policy refuses: route and run give the same code, route_denied (the gateway\'s 403), with the same hint but for where every rule is seen', async () => {
    const { route, run } = await both(scenario, [SECRET, '--provider', 'claude']);
    expect(route).toEqual(run);
    expect(run).toEqual({ exitCode: 4, code: 'route_denied' });
    const ending = /; [^;]*$/;
    expect(lastErrors['route']?.hint?.replace(ending, '')).toBe(lastErrors['run']?.hint?.replace(ending, ''));
  }, 90_000);

  it('a session whose earlier turn holds a secret: route classifies its conversation as run sends it (it stays local)', async () => {
    const session = await scenario.startSessionInProcess();
    const first = await both(scenario, ['--session', session, SECRET]);
    expect(first.route).toEqual(first.run);
    expect(first.run).toEqual({ exitCode: 0, provider: 'ollama' });
    // The prompt alone is public: the conversation it continues is not.
    const next = await both(scenario, ['--session', session, 'say hello']);
    expect(next.route).toEqual(next.run);
    expect(next.run).toEqual({ exitCode: 0, provider: 'ollama' });
    // MCP: `route_explain` in the session says where `complete` sends the turn.
    const client = await mcpClient(scenario);
    try {
      const explained = (await client.callTool({ name: 'route_explain', arguments: { prompt: 'say hello', session } })) as CallToolResult;
      const completed = (await client.callTool({ name: 'complete', arguments: { prompt: 'say hello', session } })) as CallToolResult;
      expect(completed.isError, toolText(completed)).toBeFalsy();
      const planned = (explained.structuredContent as { plan: { candidates: { provider: string }[] } }).plan.candidates[0]?.provider;
      expect([planned, (completed.structuredContent as { provider: { id: string } }).provider.id]).toEqual(['ollama', 'ollama']);
    } finally {
      await client.close();
    }
  }, 90_000);

  it('a session refuses what run refuses: --provider with --session is a usage error', async () => {
    const session = await scenario.startSessionInProcess();
    const { route, run } = await both(scenario, ['--session', session, '--provider', 'ollama', 'say hello']);
    expect(route).toEqual(run);
    expect(run).toEqual({ exitCode: 2, code: 'usage' });
  }, 90_000);

  it('a session with an invalidated envelope and an oversized prompt: the envelope first (exit 4), as run', async () => {
    const session = await scenario.startSessionInProcess({ model: local });
    // As `provider switch claude:… --session` does: to a class above the one the envelope approved.
    const policy = scenario.policy();
    const switched = await withStoreAsync(scenario.home, (store) => switchSessionModel(store, policy, session, `claude:${OPUS}`));
    expect(switched.invalidatedEnvelope).toBe(true);
    const { route, run } = await both(scenario, ['--session', session, 'what is this?', '--image', files.largeImage]);
    expect(route).toEqual(run);
    expect(run).toEqual({ exitCode: 4, code: 'session_envelope_invalidated' });
  }, 90_000);
});

describe('route and run agree when every model is held back by a rate limit', () => {
  let scenario: Scenario;
  let claude: FakeEngine;
  let ollama: FakeEngine;

  beforeAll(async () => {
    [claude, ollama] = await Promise.all([startFakeEngine({ kind: 'anthropic', models: [{ id: OPUS }] }), startFakeEngine({ kind: 'ollama' })]);
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'], policyExtra: ['workflows:', '  interactive:', '    prefer: [hosted]'].join('\n') });
    await scenario.register(
      { id: 'claude', engine: claude, class: 'approved_hosted', model: OPUS, authEnv: 'FAKE_ANTHROPIC_KEY', price: PRICE, capabilityClass: 'frontier' },
      { id: 'ollama', engine: ollama },
    );
  }, 90_000);

  afterEach(() => {
    claude.setFault('ok');
    ollama.setFault('ok');
    scenario.releaseHoldsInProcess();
  });

  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([claude?.close(), ollama?.close()]);
  });

  it('both say every candidate is rate-limiting (rate_limited, exit 5)', async () => {
    claude.setFault({ status: 429, headers: { 'retry-after': '600' } }, 1);
    ollama.setFault({ status: 429, headers: { 'retry-after': '600' } }, 1);
    const held = await scenario.json(['run', '--no-stream', 'say hello'], { env: KEYS });
    expect(held.result.exitCode, held.result.stderr).toBe(5);
    expect((held.document.error as { code: string }).code).toBe('rate_limited');

    const { route, run } = await both(scenario, ['say hello']);
    expect(route).toEqual(run);
    expect(run).toEqual({ exitCode: 5, code: 'rate_limited' });
    // The wait, for a script as for the gateway's Retry-After: in `details.retryAfterSeconds` of both.
    for (const command of ['route', 'run']) expect(lastErrors[command]?.details?.['retryAfterSeconds'], command).toEqual(expect.any(Number));
    const said = await scenario.cli(['route', 'say hello'], { env: KEYS });
    expect(said.stderr).toMatch(/^error: every candidate is rate-limiting this request \(/);

    // MCP: `route_explain` says what `complete` fails with.
    const client = await mcpClient(scenario);
    try {
      const explained = (await client.callTool({ name: 'route_explain', arguments: { prompt: 'say hello' } })) as CallToolResult;
      expect(toolText(explained)).toMatch(/^every candidate is rate-limiting this request\nhint: retry in \d+ s\n/);
      const completed = (await client.callTool({ name: 'complete', arguments: { prompt: 'say hello' } })) as CallToolResult;
      expect(completed.isError).toBe(true);
      expect(toolText(completed)).toMatch(/^every candidate is rate-limiting this request \(.*\(rate_limited\)\nhint: retry in \d+ s/);
    } finally {
      await client.close();
    }
  }, 90_000);
});

describe('route and run agree when every candidate is held down for a known time', () => {
  let scenario: Scenario;
  let claude: FakeEngine;

  beforeAll(async () => {
    claude = await startFakeEngine({ kind: 'anthropic', models: [{ id: OPUS }] });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    await scenario.register({ id: 'claude', engine: claude, class: 'approved_hosted', model: OPUS, authEnv: 'FAKE_ANTHROPIC_KEY', price: PRICE, capabilityClass: 'frontier' });
    // Nothing answers there any more: the first call holds the provider down in the store (30 s, hosted).
    await claude.close();
  }, 90_000);

  afterAll(() => scenario?.cleanup());

  it('both say inference unavailable (exit 5) with details.retryAfterSeconds, the seconds the gateway puts in Retry-After', async () => {
    const first = await scenario.json(['run', '--no-stream', 'say hello'], { env: KEYS });
    expect(first.result.exitCode, first.result.stderr).toBe(5);
    const { route, run } = await both(scenario, ['say hello']);
    expect(route).toEqual(run);
    expect(run).toEqual({ exitCode: 5, code: 'inference_unavailable' });
    for (const command of ['route', 'run']) {
      const wait = lastErrors[command]?.details?.['retryAfterSeconds'];
      expect(wait, `${command}: ${JSON.stringify(lastErrors[command])}`).toEqual(expect.any(Number));
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(30);
      expect(lastErrors[command]?.hint).toContain(`syndicate tries it again in ${String(wait)} s`);
    }
  }, 90_000);
});
