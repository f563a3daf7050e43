/**
 * Holds shared by every syndicate process on one store, with real processes: a gateway (`serve`)
 * meets a 429 from a fake Anthropic API, and a separate `syndicate run` routes past the held model
 * without calling it; `doctor`, `provider show|list` and the MCP `providers` tool report the hold;
 * once its time has passed the model is used again (a test of its own, with a short hold). And the other way: a `run` that meets OpenAI's
 * 429 without retry-after (its reset headers say how long) holds the model for the gateway.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../helpers/cli.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

const OPUS = 'claude-opus-4-1-20250805';
const HAIKU = 'claude-haiku-4-5-20251001';
const LOCAL = 'llama3.2:latest';
const GPT = 'gpt-4o-mini';
const KEYS = { FAKE_ANTHROPIC_KEY: 'sk-ant-fake-key', FAKE_OPENAI_KEY: 'sk-fake-openai-key' };
const QUESTION = 'What is the capital of France?';
/**
 * Long enough for the seven processes that ask while it holds to start and finish (~1 s each, 5–10 s
 * on a host loaded by other work: 30 s ran out there); the wait for a hold to pass has a test of its own.
 */
const RETRY_AFTER_SECONDS = 600;
/** The hold the test of its passing waits out. */
const SHORT_RETRY_AFTER_SECONDS = 2;

interface Hold {
  provider: string;
  model?: string;
  state: string;
  until: string;
  retryInSeconds: number;
  reason: string;
}

describe('holds every syndicate process on the store sees', () => {
  let scenario: Scenario;
  let anthropicApi: FakeEngine;
  let openaiApi: FakeEngine;
  let local: FakeEngine;
  let gateway: RunningServe;
  let client: OpenAI;

  beforeAll(async () => {
    [anthropicApi, openaiApi, local] = await Promise.all([
      startFakeEngine({ kind: 'anthropic', models: [{ id: OPUS }, { id: HAIKU }] }),
      startFakeEngine({ kind: 'openai' }),
      startFakeEngine({ kind: 'ollama' }),
    ]);
    // `smart`: the hosted Opus first (the policy prefers hosted), else the local engine.
    scenario = await Scenario.create({
      egressHosts: ['127.0.0.1'],
      policyExtra: ['workflows:', '  interactive:', '    prefer: [hosted]', '  batch:', '    prefer: [hosted]'].join('\n'),
    });
    const price = '    price:\n      inputPerMTok: 3\n      outputPerMTok: 15';
    const records = {
      claude: [
        `id: claude\nclass: approved_hosted\nwire: anthropic\nbaseUrl: ${anthropicApi.baseUrl}\nauth:\n  env: FAKE_ANTHROPIC_KEY`,
        `models:\n  - id: ${OPUS}\n    contextWindow: 200000\n    capabilityClass: frontier\n    aliases: [smart]\n${price}\n  - id: ${HAIKU}\n    contextWindow: 200000\n    capabilityClass: medium\n${price}`,
      ],
      openai: [`id: openai\nclass: approved_hosted\nwire: openai\nbaseUrl: ${openaiApi.baseUrl}\nauth:\n  env: FAKE_OPENAI_KEY`, `models:\n  - id: ${GPT}\n    contextWindow: 128000\n    capabilityClass: medium\n${price}`],
      ollama: [`id: ollama\nclass: local\nwire: openai\nbaseUrl: ${local.baseUrl}\nengine:\n  kind: ollama`, `models:\n  - id: "${LOCAL}"\n    contextWindow: 32768\n    capabilityClass: frontier\n    aliases: [smart]`],
    };
    const files = Object.entries(records).map(([id, [head, models]]) => {
      const path = join(scenario.home, `${id}.yaml`);
      writeFileSync(path, `apiVersion: syndicate/v1\nkind: Provider\n${head}\n${models}\ndeviations: []\n`);
      return path;
    });
    const registered = await scenario.cli(['provider', 'register', ...files]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    // It outlives the first test's wait: no 30 s default limit on its life.
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home, ...KEYS }, 180_000);
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim(), maxRetries: 0 });
  });

  // Each test meets only the holds it made: the other's (OpenAI's for 60 s) would be listed too.
  afterEach(async () => {
    await scenario.releaseHolds();
  });

  afterAll(async () => {
    gateway?.server.kill('SIGTERM');
    await gateway?.server;
    scenario?.cleanup();
    await Promise.all([anthropicApi?.close(), openaiApi?.close(), local?.close()]);
  });

  /** The models each fake hosted API was asked for, in order. */
  const calls = (engine: FakeEngine): string[] => inferenceExchanges(engine).map((exchange) => (JSON.parse(exchange.requestBody.toString('utf8')) as { model: string }).model);

  /** `doctor --json`'s holds (its checks may fail on this host: the holds are in the error's details then). */
  async function doctorHolds(): Promise<Hold[]> {
    const { document } = await scenario.json(['doctor']);
    return ((document.holds ?? (document.error as { details: { holds: unknown } }).details.holds) as Hold[]) ?? [];
  }

  it('a model the gateway saw rate-limited is not called by a separate `run`, which the doctor and `provider show` explain', async () => {
    const before = calls(anthropicApi).length;
    const since = (): string[] => calls(anthropicApi).slice(before);
    anthropicApi.setFault({ status: 429, headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } }, 1, { model: OPUS });

    // 1. Through the gateway: Opus answers 429, the request falls back to the local engine.
    const first = await client.chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: QUESTION }] }).withResponse();
    expect(first.data.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(first.response.headers.get('x-syndicate-provider')).toBe('ollama');
    expect(since()).toEqual([OPUS]);

    // 2. A separate process routes past the held model: the fake sees no second call.
    const run = await scenario.json(['run', QUESTION, '--model', 'smart'], { env: KEYS });
    expect(run.result.exitCode, run.result.stderr).toBe(0);
    expect(run.document).toMatchObject({ provider: { id: 'ollama' }, model: LOCAL, attempts: [{ provider: { id: 'ollama' }, outcome: 'completed' }] });
    expect(since()).toEqual([OPUS]);

    // 3. doctor, provider show and provider list say what is held, until when and why.
    const [held] = await doctorHolds();
    const expected = { provider: 'claude', model: OPUS, state: 'rate_limited', reason: 'claude answered HTTP 429 (upstream_rate_limited)' };
    expect(held).toMatchObject({ ...expected, retryInSeconds: expect.any(Number) });
    expect(held?.retryInSeconds).toBeLessThanOrEqual(RETRY_AFTER_SECONDS);
    const show = await scenario.json(['provider', 'show', 'claude']);
    expect(show.document.holds).toEqual([held === undefined ? undefined : { ...held, retryInSeconds: expect.any(Number) }]);
    expect((await scenario.json(['provider', 'list'])).document.holds).toEqual([expect.objectContaining({ ...expected, until: held?.until })]);
    const text = await scenario.cli(['provider', 'show', 'claude']);
    expect(text.stdout).toContain(`held back from routes (by every syndicate process on this store, until the time shown):\n  claude:${OPUS} rate_limited until ${held?.until} (`);
    const doctorText = await scenario.cli(['doctor']);
    expect(doctorText.stdout).toContain(`  claude:${OPUS} rate_limited until ${held?.until} (`);

    // The provider's other model is not held: pinned to it, the run calls it.
    const haiku = await scenario.json(['run', QUESTION, '--model', `claude:${HAIKU}`], { env: KEYS });
    expect(haiku.result.exitCode, haiku.result.stderr).toBe(0);
    expect(since()).toEqual([OPUS, HAIKU]);
    // Why the run left it out, as its evidence records the route.
    const evidence = await scenario.evidence(run.document.evidenceId as string);
    expect((evidence.route as { excluded: { provider: string; model: string; reasons: string[] }[] }).excluded).toEqual([
      expect.objectContaining({
        provider: 'claude',
        model: OPUS,
        rules: ['rate_limited'],
        reasons: [expect.stringMatching(new RegExp(`^model ${OPUS} rate-limited for another \\d+ s \\(until .+Z\\), claude's other models stay routable: claude answered HTTP 429 \\(upstream_rate_limited\\) \\(seen by another syndicate process\\)`))],
      }),
    ]);
  }, 120_000);

  it('once a hold\'s time has passed, the model is used again, by a new process and by the gateway', async () => {
    const before = calls(anthropicApi).length;
    const since = (): string[] => calls(anthropicApi).slice(before);
    anthropicApi.setFault({ status: 429, headers: { 'retry-after': String(SHORT_RETRY_AFTER_SECONDS) } }, 1, { model: OPUS });
    const first = await client.chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: QUESTION }] }).withResponse();
    expect(first.response.headers.get('x-syndicate-provider')).toBe('ollama');
    expect(since()).toEqual([OPUS]);
    // The hold, if this host has not already outlived it, waited out.
    const [held] = await doctorHolds();
    if (held !== undefined) await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(held.until) - Date.now()) + 50));
    expect(await doctorHolds()).toEqual([]);
    const again = await scenario.json(['run', QUESTION, '--model', 'smart'], { env: KEYS });
    expect(again.result.exitCode, again.result.stderr).toBe(0);
    expect(again.document).toMatchObject({ provider: { id: 'claude' }, model: OPUS });
    const viaGateway = await client.chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: QUESTION }] }).withResponse();
    expect(viaGateway.response.headers.get('x-syndicate-provider')).toBe('claude');
    expect(since()).toEqual([OPUS, OPUS, OPUS]);
    // The gateway's journal said why traffic moved to the local engine and when it came back: syndicate's words, not the upstream's.
    await gateway.waitForStderr(`warning: claude:${OPUS} at ${anthropicApi.baseUrl} is rate-limited (claude answered HTTP 429 (upstream_rate_limited)); routes leave it out until `);
    await gateway.waitForStderr(`claude:${OPUS} at ${anthropicApi.baseUrl} is usable again (its hold ended): routes use it`);
    expect(gateway.stderr()).not.toContain(QUESTION);
  }, 120_000);

  it('a `run` that meets OpenAI’s 429 without retry-after is held for its reset time, and the gateway and the MCP server honour and show it', async () => {
    // What OpenAI sends when the requests limit is spent: no retry-after, the reset as a duration.
    openaiApi.setFault({ status: 429, headers: { 'retry-after': null, 'x-ratelimit-limit-requests': '500', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1m0s' } }, 1);
    const heldFrom = Date.now();
    const run = await scenario.json(['run', QUESTION, '--model', `openai:${GPT}`], { env: KEYS });
    expect(run.result.exitCode).toBe(5);
    expect(run.document.error).toMatchObject({ code: 'rate_limited', hint: 'retry in 60 s' });
    // The minute, less what has passed since the run started (CLI processes take seconds on a loaded machine).
    const waitLeft = (): number => 60 - Math.ceil((Date.now() - heldFrom) / 1000) - 1;
    expect(calls(openaiApi)).toEqual([GPT]);

    const held = (await doctorHolds()).find((hold) => hold.provider === 'openai');
    expect(held).toMatchObject({ provider: 'openai', model: GPT, state: 'rate_limited', reason: 'openai answered HTTP 429 (upstream_rate_limited)' });
    expect(held?.retryInSeconds).toBeGreaterThanOrEqual(waitLeft());

    // The gateway, another process, does not send it: 429 with the wait that is left.
    const pinned = await client.chat.completions.create({ model: `openai:${GPT}`, messages: [{ role: 'user', content: QUESTION }] }).catch((caught: unknown) => caught);
    expect(pinned).toBeInstanceOf(OpenAI.RateLimitError);
    expect(Number((pinned as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after'))).toBeGreaterThanOrEqual(waitLeft());
    expect(calls(openaiApi)).toEqual([GPT]);

    // The MCP server lists it with the providers.
    const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], cwd: REPO_ROOT, env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1' }, stderr: 'pipe' });
    const mcp = new Client({ name: 'syndicate-test', version: '1.0.0' });
    await mcp.connect(transport);
    try {
      const providers = await mcp.callTool({ name: 'providers', arguments: {} });
      expect((providers.structuredContent as { holds: Hold[] }).holds).toContainEqual(expect.objectContaining({ provider: 'openai', model: GPT, state: 'rate_limited', until: held?.until }));
      expect(JSON.stringify(providers.content)).toContain(`held back: openai:${GPT} rate_limited until ${held?.until}`);
    } finally {
      await mcp.close();
    }
  }, 60_000);
});
