/**
 * Holds lifted before their time, with real processes: a gateway (`serve`) holds a hosted API it
 * saw rate-limited or failing; `provider release` (by hand) and a `provider test` that gets an
 * answer lift the hold in the running gateway, whose next request goes there again. A `run` whose
 * own failure holds a provider says for how long, and `route --explain` lists the hold. And
 * `engine start` lifts what a gateway knows of an engine that did not answer.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { freePort } from '../helpers/ports.js';
import { inferenceExchanges, launchedEngineYaml, Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { connectMcpClient, toolText } from '../helpers/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

const OPUS = 'claude-opus-4-1-20250805';
const KEYS = { FAKE_ANTHROPIC_KEY: 'sk-ant-fake-key', FAKE_REMOTE_KEY: 'sk-fake-remote-key' };
const QUESTION = 'What is the capital of France?';
const PRICE = { inputPerMTok: 3, outputPerMTok: 15 };

interface Hold {
  provider: string;
  model?: string;
  state: string;
  cause?: string;
  retryInSeconds: number;
}

/** A gateway client that never retries, and the provider that answered each request. */
function gatewayClient(scenario: Scenario, gateway: RunningServe): { answeredBy: (model?: string) => Promise<string | null> } {
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim(), maxRetries: 0 });
  return {
    answeredBy: async (model = 'auto') => {
      const answer = await client.chat.completions.create({ model, messages: [{ role: 'user', content: QUESTION }] }).withResponse();
      return answer.response.headers.get('x-syndicate-provider');
    },
  };
}

describe('holds lifted by hand and by an answer, in a running gateway', () => {
  let scenario: Scenario;
  let anthropicApi: FakeEngine;
  let local: FakeEngine;
  let gateway: RunningServe;
  let answeredBy: (model?: string) => Promise<string | null>;

  beforeAll(async () => {
    [anthropicApi, local] = await Promise.all([startFakeEngine({ kind: 'anthropic', models: [{ id: OPUS }] }), startFakeEngine({ kind: 'ollama' })]);
    // The policy prefers hosted: model auto goes to claude first, else the local engine.
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'], policyExtra: ['workflows:', '  interactive:', '    prefer: [hosted]'].join('\n') });
    await scenario.register(
      { id: 'claude', engine: anthropicApi, class: 'approved_hosted', model: OPUS, authEnv: 'FAKE_ANTHROPIC_KEY', price: PRICE, capabilityClass: 'frontier' },
      { id: 'ollama', engine: local },
    );
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home, ...KEYS }, 120_000);
    ({ answeredBy } = gatewayClient(scenario, gateway));
  });

  // A test that fails partway leaves its fault armed and a hold of up to 600 s: the next test meets neither.
  afterEach(async () => {
    anthropicApi.setFault('ok');
    await scenario.releaseHolds();
  });

  afterAll(async () => {
    gateway?.server.kill('SIGTERM');
    await gateway?.server;
    scenario?.cleanup();
    await Promise.all([anthropicApi?.close(), local?.close()]);
  });

  const claudeCalls = (): number => inferenceExchanges(anthropicApi).length;

  /** Three 500s in a row hold claude down in the gateway: its next request goes to the local engine without calling claude. */
  async function holdClaudeDownByFailures(): Promise<void> {
    anthropicApi.setFault({ status: 500, body: JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'Internal server error' } }) }, 3);
    for (let index = 0; index < 3; index += 1) expect(await answeredBy()).toBe('ollama');
    const before = claudeCalls();
    expect(await answeredBy()).toBe('ollama');
    expect(claudeCalls()).toBe(before);
  }

  it('provider release lifts the rate limit the gateway holds in memory: its next request goes to the model again', async () => {
    // Counted from the calls the earlier tests made: the tests may run in any order.
    const before = claudeCalls();
    anthropicApi.setFault({ status: 429, headers: { 'retry-after': '600' } }, 1);
    expect(await answeredBy()).toBe('ollama');
    expect(await answeredBy()).toBe('ollama');
    expect(claudeCalls()).toBe(before + 1);

    const released = await scenario.cli(['provider', 'release', `claude:${OPUS}`]);
    expect(released.exitCode, released.stderr).toBe(0);
    expect(released.stdout).toMatch(new RegExp(`^released claude:${OPUS} rate_limited until \\S+Z \\(\\d+ s\\): claude answered HTTP 429 \\(upstream_rate_limited\\)\\n`));
    expect(released.stdout).toContain(`every syndicate process on this store may route to claude:${OPUS} again`);
    expect(await answeredBy()).toBe('claude');
    expect(claudeCalls()).toBe(before + 2);

    // Nothing left to release: said so, exit 0.
    const again = await scenario.json(['provider', 'release', 'claude']);
    expect(again.result.exitCode).toBe(0);
    expect(again.document).toEqual({ ok: true, released: [], stillHeld: [] });
    expect((await scenario.cli(['provider', 'release', 'claude'])).stdout).toBe('nothing was held back for claude');
  }, 60_000);

  it('a provider test that gets an answer lifts the down hold of a failing provider, not a rate limit; --all lifts that', async () => {
    await holdClaudeDownByFailures();

    const test = await scenario.json(['provider', 'test', 'claude'], { env: KEYS });
    expect(test.result.exitCode, test.result.stderr).toBe(0);
    expect(test.document.released).toEqual([expect.objectContaining({ provider: 'claude', state: 'down', cause: 'failing' })]);
    expect(await answeredBy()).toBe('claude');

    anthropicApi.setFault({ status: 429, headers: { 'retry-after': '600' } }, 1);
    expect(await answeredBy()).toBe('ollama');
    const tested = await scenario.cli(['provider', 'test', 'claude'], { env: KEYS });
    expect(tested.exitCode, tested.stderr).toBe(0);
    expect(tested.stdout).not.toContain('released');
    expect(await answeredBy()).toBe('ollama');

    const all = await scenario.json(['provider', 'release', '--all']);
    expect(all.result.exitCode).toBe(0);
    expect(all.document.released).toEqual([expect.objectContaining({ provider: 'claude', model: OPUS, state: 'rate_limited' })]);
    expect(await answeredBy()).toBe('claude');
  }, 60_000);

  it('a provider test refused with a 429 records the hold a request would: the running gateway stops sending there', async () => {
    anthropicApi.setFault({ status: 429, headers: { 'retry-after': '600' } }, 1);
    const test = await scenario.json(['provider', 'test', 'claude'], { env: KEYS });
    expect(test.result.exitCode).toBe(5);
    const listed = await scenario.json(['provider', 'list']);
    expect(listed.document.holds).toEqual([
      expect.objectContaining({ provider: 'claude', model: OPUS, state: 'rate_limited', reason: 'claude answered HTTP 429 (upstream_rate_limited)', retryInSeconds: expect.any(Number) }),
    ]);
    const before = claudeCalls();
    expect(await answeredBy()).toBe('ollama');
    expect(claudeCalls()).toBe(before);
    expect((await scenario.cli(['provider', 'release', 'claude'])).exitCode).toBe(0);
    expect(await answeredBy()).toBe('claude');
  }, 60_000);

  it('a provider capabilities run whose every probe is answered lifts the down hold, as a provider test that answers does', async () => {
    await holdClaudeDownByFailures();

    const probed = await scenario.json(['provider', 'capabilities', 'claude', '--no-update'], { env: KEYS });
    // Deviations found or not (exit 1 or 0), every probe was answered.
    expect([0, 1], probed.result.stderr).toContain(probed.result.exitCode);
    const report = (probed.result.exitCode === 0 ? probed.document : (probed.document.error as { details: Record<string, unknown> }).details) as { released: Hold[] };
    expect(report.released).toEqual([expect.objectContaining({ provider: 'claude', state: 'down', cause: 'failing' })]);
    expect(await answeredBy()).toBe('claude');
  }, 120_000);

  it('refuses what names nothing registered, and a provider with --all (exit 2)', async () => {
    const unknown = await scenario.json(['provider', 'release', 'nosuch']);
    expect(unknown.result.exitCode).toBe(2);
    expect(unknown.document.error).toMatchObject({ code: 'usage', message: 'unknown provider "nosuch"', hint: 'known providers: claude, ollama' });
    const model = await scenario.json(['provider', 'release', 'claude:nosuch']);
    expect(model.result.exitCode).toBe(2);
    expect(model.document.error).toMatchObject({ message: 'provider claude has no model nosuch', hint: `its models: ${OPUS}; \`syndicate provider release claude\` releases every one` });
    expect((await scenario.cli(['provider', 'release'])).exitCode).toBe(2);
    expect((await scenario.cli(['provider', 'release', 'claude', '--all'])).exitCode).toBe(2);
  });
});

describe('the hold a run’s own failure records', () => {
  let scenario: Scenario;

  beforeAll(async () => {
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    // Only what a record needs of an engine: where nothing listens, so every call finds nothing answering.
    const remote = { kind: 'openai', baseUrl: `http://127.0.0.1:${await freePort()}/v1` } as FakeEngine;
    await scenario.register({ id: 'remote', engine: remote, class: 'approved_hosted', authEnv: 'FAKE_REMOTE_KEY', price: PRICE });
  });
  afterEach(() => scenario.releaseHolds());
  afterAll(() => scenario?.cleanup());

  it('a run whose failure holds a provider says for how long, and route --explain lists the hold with its time left', async () => {
    const run = await scenario.json(['run', QUESTION, '--provider', 'remote'], { env: KEYS });
    expect(run.result.exitCode).toBe(5);
    expect((run.document.error as { hint: string }).hint).toMatch(/^nothing answers at remote: check the network and the baseUrl in its provider record; syndicate tries it again in (29|30) s$/);

    const route = await scenario.cli(['route', '--explain', '--provider', 'remote', QUESTION], { env: KEYS });
    expect(route.exitCode).toBe(5);
    // The seconds left as another process reads them: fewer the longer a loaded machine takes to start it, never more than the 30 s held.
    const listed = /held back from routes \(by every syndicate process on this store, until the time shown\):\n {2}remote \(every model\) down \(unreachable\) until \S+Z \((\d+) s\): cannot reach 127\.0\.0\.1:\d+/.exec(route.stdout);
    expect(listed, route.stdout).not.toBeNull();
    expect(Number(listed?.[1])).toBeLessThanOrEqual(30);
    expect(route.stderr).toMatch(/syndicate tries it again in (\d|[12]\d|30) s/);
    const json = await scenario.json(['route', '--provider', 'remote', QUESTION], { env: KEYS });
    expect((json.document.error as { details: { holds: Hold[] } }).details.holds).toEqual([expect.objectContaining({ provider: 'remote', state: 'down', cause: 'unreachable' })]);

    const released = await scenario.json(['provider', 'release', 'remote']);
    expect(released.document.released).toEqual([expect.objectContaining({ provider: 'remote', state: 'down', cause: 'unreachable' })]);
    const unheld = await scenario.json(['route', '--provider', 'remote', QUESTION], { env: KEYS });
    expect(unheld.result.exitCode).toBe(0);
    expect(unheld.document.holds).toEqual([]);
  }, 60_000);

  it('a provider test that finds nothing answering records the hold a run’s failure would: the next run is refused without a call, told for how long', async () => {
    const heldFrom = Date.now();
    const test = await scenario.json(['provider', 'test', 'remote'], { env: KEYS });
    expect(test.result.exitCode).toBe(5);
    const listed = await scenario.json(['provider', 'list']);
    expect(listed.document.holds).toEqual([expect.objectContaining({ provider: 'remote', state: 'down', cause: 'unreachable', reason: expect.stringMatching(/^cannot reach 127\.0\.0\.1:\d+/) })]);
    const run = await scenario.json(['run', QUESTION, '--provider', 'remote'], { env: KEYS });
    expect(run.result.exitCode).toBe(5);
    const error = run.document.error as { hint: string; details: Record<string, unknown> };
    // The 30 s hold less what has passed since the test began (not "20 s or more": three CLI
    // processes took over 10 s at load 19, and the run was told 15 s).
    const told = /^nothing answers at remote: check the network and the baseUrl in its provider record; syndicate tries it again in (\d+) s$/.exec(error.hint);
    expect(told, error.hint).not.toBeNull();
    expect(Number(told![1])).toBeLessThanOrEqual(30);
    expect(Number(told![1])).toBeGreaterThanOrEqual(30 - Math.ceil((Date.now() - heldFrom) / 1000) - 1);
    // Held out by the plan, not called: the error lists the exclusion, no attempt.
    expect(error.details).toHaveProperty('excluded');
    expect(error.details).not.toHaveProperty('attempts');
  }, 60_000);
});

describe('the holds of a retired provider', () => {
  let scenario: Scenario;
  let remote: FakeEngine;

  beforeAll(async () => {
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    remote = { kind: 'openai', baseUrl: `http://127.0.0.1:${await freePort()}/v1` } as FakeEngine;
    await scenario.register({ id: 'remote', engine: remote, class: 'approved_hosted', authEnv: 'FAKE_REMOTE_KEY', price: PRICE });
  });
  afterAll(() => scenario?.cleanup());

  // Each test makes its own hold (a down hold lasts 30 s: a test of many processes on a loaded
  // machine outlived one) and leaves `remote` registered and held, as it found it.
  const holdRemote = async (): Promise<void> => {
    expect((await scenario.json(['provider', 'test', 'remote'], { env: KEYS })).result.exitCode).toBe(5);
  };
  const registerRemote = (): Promise<void> => scenario.registerInProcess({ id: 'remote', engine: remote, class: 'approved_hosted', authEnv: 'FAKE_REMOTE_KEY', price: PRICE });

  it('are held back nowhere once it is removed (provider list, route --explain, MCP route_explain and providers)', async () => {
    await holdRemote();
    expect((await scenario.json(['provider', 'list'])).document.holds).toEqual([expect.objectContaining({ provider: 'remote', state: 'down' })]);
    expect((await scenario.cli(['provider', 'remove', 'remote'])).exitCode).toBe(0);
    try {
      expect((await scenario.json(['provider', 'list'])).document.holds).toEqual([]);
      const explained = await scenario.cli(['route', '--explain', QUESTION], { env: KEYS });
      expect(explained.stdout).toContain('remote');
      expect(explained.stdout).not.toContain('held back');
      const routed = await scenario.json(['route', QUESTION], { env: KEYS });
      expect((routed.document.error as { details: { holds: Hold[] } }).details.holds).toEqual([]);
      const client = await connectMcpClient(scenario.home);
      try {
        for (const [name, args] of [['route_explain', { prompt: QUESTION }], ['providers', {}]] as const) {
          const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
          expect(toolText(result)).not.toContain('held back');
          expect((result.structuredContent as { holds?: Hold[] } | undefined)?.holds ?? []).toEqual([]);
        }
      } finally {
        await client.close();
      }
    } finally {
      await registerRemote();
    }
  }, 90_000);

  it('registered again at the same base URL, it is held again: what it did a moment ago, and says so', async () => {
    await holdRemote();
    scenario.retireInProcess('remote');
    await registerRemote();
    expect((await scenario.json(['provider', 'list'])).document.holds).toEqual([expect.objectContaining({ provider: 'remote', state: 'down' })]);
    expect((await scenario.cli(['route', '--explain', QUESTION], { env: KEYS })).stdout).toMatch(/held back from routes[^\n]*:\n {2}remote \(every model\) down/);
  }, 90_000);
});

describe('engine start lifts what a running gateway knows of the engine that did not answer', () => {
  let scenario: Scenario;
  let gateway: RunningServe;

  beforeAll(async () => {
    scenario = await Scenario.create();
    const port = await freePort();
    // llama-server as syndicate starts it (engine.launch): it answers with the captured bytes of the real one.
    const fixtures = join(REPO_ROOT, 'test', 'fixtures', 'engines', 'llama.cpp');
    const engine = [
      `const files = { '/health': 'health.json', '/v1/models': 'v1-models.json', '/v1/chat/completions': 'chat-completion.json' };`,
      `require('http').createServer((request, response) => { request.resume(); request.on('end', () => {`,
      `  const file = files[request.url]; response.statusCode = file === undefined ? 404 : 200; response.setHeader('content-type', 'application/json; charset=utf-8');`,
      `  response.end(file === undefined ? '{}' : require('fs').readFileSync(require('path').join(${JSON.stringify(fixtures)}, file)));`,
      `}); }).listen(${port}, '127.0.0.1');`,
    ].join('\n');
    const record = join(scenario.home, 'llamacpp.yaml');
    writeFileSync(record, launchedEngineYaml({ id: 'llamacpp', baseUrl: `http://127.0.0.1:${port}/v1`, kind: 'llama.cpp', command: process.execPath, args: ['-e', engine], readyPath: '/health', model: 'tiny.gguf', contextWindow: 2048 }));
    const registered = await scenario.cli(['provider', 'register', record]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home }, 60_000);
  });

  afterAll(async () => {
    gateway?.server.kill('SIGTERM');
    await gateway?.server;
    await scenario?.cli(['engine', 'stop', 'llamacpp', '--grace', '1s']);
    scenario?.cleanup();
  });

  it('the request after the start is served, without waiting for the gateway to probe the engine again', async () => {
    const { answeredBy } = gatewayClient(scenario, gateway);
    // A gateway that found nothing answering keeps that for 5 s; a start that ends later than that
    // (a loaded host) cannot tell the release from the gateway's own next probe: stopped, tried again.
    for (let attempt = 1; ; attempt += 1) {
      const probedAfter = Date.now();
      await expect(answeredBy('llamacpp:tiny.gguf')).rejects.toMatchObject({ status: 503 });
      const started = await scenario.json(['engine', 'start', 'llamacpp']);
      expect(started.result.exitCode, started.result.stderr).toBe(0);
      expect(started.document).toMatchObject({ started: true, released: [] });
      if (Date.now() - probedAfter < 4500) break;
      if (attempt === 3) throw new Error('engine start took longer than the 5 s a gateway keeps an engine down, three times: the host is too loaded for this test');
      expect((await scenario.cli(['engine', 'stop', 'llamacpp', '--grace', '1s'])).exitCode).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 5000));
    }
    expect(await answeredBy('llamacpp:tiny.gguf')).toBe('llamacpp');
  }, 90_000);
});
