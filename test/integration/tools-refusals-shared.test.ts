/**
 * A tools refusal shared by every syndicate process on one store, with real processes: a gateway
 * (`serve`) meets llama-server without `--jinja` refusing a request's tools and falls back; a
 * second gateway routes its tools requests past that model without calling it, `route --explain`
 * in another process says why (rule `tools_refused`, the engine's words, since when), and
 * `provider show`, `doctor` and the MCP `providers` tool list it beside the holds. `provider release` lifts it in every
 * process: both gateways try the model with tools again.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

const VLLM_MODEL = 'Qwen/Qwen2.5-1.5B-Instruct';
const QUESTION = 'What is the weather in Paris?';
const TOOLS = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
/** The fake llama-server's refusal, as the real one without `--jinja` answers (test/fixtures/llama.cpp-real/no-jinja-chat-tools.json). */
const REFUSAL = 'llama answered HTTP 500: tools param requires --jinja flag';

interface Hold {
  provider: string;
  model?: string;
  state: string;
  reason: string;
  since: string;
}

describe('a tools refusal every syndicate process on the store sees', () => {
  let scenario: Scenario;
  let llamaServer: FakeEngine;
  let vllm: FakeEngine;
  let first: RunningServe;
  let second: RunningServe;
  let viaFirst: OpenAI;
  let viaSecond: OpenAI;
  let requestFile: string;

  beforeAll(async () => {
    [llamaServer, vllm] = await Promise.all([startFakeEngine({ kind: 'llama.cpp', jinja: false }), startFakeEngine({ kind: 'vllm' })]);
    // Ranked by priority alone: which fake engine answered its first token a millisecond sooner
    // (the default `fastest`) must not decide whether llama is tried first once released.
    scenario = await Scenario.create({ policyExtra: ['workflows:', '  interactive:', '    prefer: [priority]'].join('\n') });
    // Both serve `coder` and are tagged tools, the one without --jinja preferred: only its answer says it takes none.
    const records = {
      llama: `id: llama\nclass: local\nwire: openai\nbaseUrl: ${llamaServer.baseUrl}\nengine:\n  kind: llama.cpp\nmodels:\n  - id: qwen\n    contextWindow: 32768\n    capabilityClass: medium\n    tags: [tools]\n    priority: 10\n    aliases: [coder]`,
      vllm: `id: vllm\nclass: local\nwire: openai\nbaseUrl: ${vllm.baseUrl}\nengine:\n  kind: vllm\nmodels:\n  - id: ${VLLM_MODEL}\n    contextWindow: 32768\n    capabilityClass: medium\n    tags: [tools]\n    priority: 1\n    aliases: [coder]`,
    };
    const files = Object.entries(records).map(([id, body]) => {
      const path = join(scenario.home, `${id}.yaml`);
      writeFileSync(path, `apiVersion: syndicate/v1\nkind: Provider\n${body}\ndeviations: []\n`);
      return path;
    });
    const registered = await scenario.cli(['provider', 'register', ...files]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    requestFile = join(scenario.home, 'tools-request.json');
    writeFileSync(requestFile, JSON.stringify({ model: 'coder', messages: [{ role: 'user', content: QUESTION }], tools: TOOLS }));
    [first, second] = await Promise.all([
      startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home }, 120_000),
      startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home }, 120_000),
    ]);
    const apiKey = readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim();
    viaFirst = new OpenAI({ baseURL: `${first.url}/v1`, apiKey, maxRetries: 0 });
    viaSecond = new OpenAI({ baseURL: `${second.url}/v1`, apiKey, maxRetries: 0 });
  });

  // Each test meets llama untried with tools: the refusal either test leaves is lifted in every process.
  afterEach(async () => {
    expect((await scenario.cli(['provider', 'release', 'llama'])).exitCode).toBe(0);
  });

  afterAll(async () => {
    for (const gateway of [first, second]) gateway?.server.kill('SIGTERM');
    await Promise.all([first?.server, second?.server]);
    scenario?.cleanup();
    await Promise.all([llamaServer?.close(), vllm?.close()]);
  });

  const llamaCalls = (): number => inferenceExchanges(llamaServer).length;
  const scrape = async (gateway: RunningServe): Promise<string> =>
    (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim()}` } })).text();
  const askWithTools = async (client: OpenAI): Promise<string | null> => {
    const answer = await client.chat.completions.create({ model: 'coder', messages: [{ role: 'user', content: QUESTION }], tools: TOOLS }).withResponse();
    expect(answer.data.choices[0]?.message.tool_calls?.[0]).toMatchObject({ function: { name: 'get_weather' } });
    return answer.response.headers.get('x-syndicate-provider');
  };
  const explain = async (): Promise<{ excluded: { provider: string; model: string; rules: string[]; reasons: string[] }[]; candidates: { provider: string }[]; holds: Hold[] }> => {
    const { result, document } = await scenario.json(['route', '--explain', '--request', requestFile]);
    expect(result.exitCode, result.stderr).toBe(0);
    const plan = document.plan as { excluded: { provider: string; model: string; rules: string[]; reasons: string[] }[]; candidates: { provider: string }[] };
    return { ...plan, holds: document.holds as Hold[] };
  };

  it('learnt by one gateway, honoured by another and explained by `route --explain`; a release lifts it everywhere', async () => {
    // Counted from the calls the other test made: the tests may run in any order.
    const calls = llamaCalls();
    // 1. The first gateway: llama refuses the tools, the request falls back to vLLM.
    expect(await askWithTools(viaFirst)).toBe('vllm');
    expect(llamaCalls()).toBe(calls + 1);

    // 2. Another process explains the route: llama:qwen left out for the tools it refused, with the engine's words and since when.
    const before = await explain();
    expect(before.candidates.map((candidate) => candidate.provider)).toEqual(['vllm']);
    const [excluded] = before.excluded;
    expect(excluded).toMatchObject({ provider: 'llama', model: 'qwen', rules: ['tools_refused'] });
    expect(excluded?.reasons[0]).toMatch(new RegExp(`^request has tools and llama refused the tools of a request for qwen since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z: ${REFUSAL}$`));
    const refusal = { provider: 'llama', model: 'qwen', state: 'tools_refused', reason: REFUSAL };
    expect(before.holds).toEqual([expect.objectContaining(refusal)]);
    const text = await scenario.cli(['route', '--explain', '--request', requestFile]);
    expect(text.stdout).toContain(`  llama:qwen tools_refused since ${before.holds[0]?.since}, for requests with tools only, until `);

    // 3. The second gateway never saw the refusal: its tools requests go straight to vLLM.
    expect(await askWithTools(viaSecond)).toBe('vllm');
    expect(llamaCalls()).toBe(calls + 1);
    // Requests without tools still go to llama.
    const plain = await viaSecond.chat.completions.create({ model: 'coder', messages: [{ role: 'user', content: QUESTION }] }).withResponse();
    expect(plain.response.headers.get('x-syndicate-provider')).toBe('llama');
    expect(llamaCalls()).toBe(calls + 2);

    // 4. Both gateways' /metrics list it beside the holds; provider show, doctor and the MCP server list it where they list holds.
    for (const gateway of [first, second]) {
      const seconds = Number(/^syndicate_gateway_held_back_seconds\{provider="llama",model="qwen",state="tools_refused"\} (\S+)$/m.exec(await scrape(gateway))?.[1]);
      expect(seconds).toBeGreaterThan(86_400 - 120);
      expect(seconds).toBeLessThanOrEqual(86_400);
    }
    expect((await scenario.json(['provider', 'show', 'llama'])).document.holds).toEqual([expect.objectContaining(refusal)]);
    const doctor = (await scenario.json(['doctor'])).document;
    expect(doctor.holds ?? (doctor.error as { details: { holds: unknown } }).details.holds).toEqual([expect.objectContaining(refusal)]);
    const mcp = new Client({ name: 'syndicate-test', version: '1.0.0' });
    await mcp.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], cwd: REPO_ROOT, env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1' }, stderr: 'pipe' }));
    try {
      const providers = await mcp.callTool({ name: 'providers', arguments: {} });
      expect((providers.structuredContent as { holds: Hold[] }).holds).toEqual([expect.objectContaining(refusal)]);
      expect(JSON.stringify(providers.content)).toContain('held back: llama:qwen tools_refused since ');
    } finally {
      await mcp.close();
    }

    // 5. Released by hand (as after restarting llama-server with --jinja): every process tries llama with tools again.
    const released = await scenario.cli(['provider', 'release', 'llama']);
    expect(released.exitCode, released.stderr).toBe(0);
    expect(released.stdout).toContain('released llama:qwen tools_refused since');
    const after = await explain();
    expect(after.candidates.map((candidate) => candidate.provider)).toEqual(['llama', 'vllm']);
    expect(after.holds).toEqual([]);
    expect(await scrape(second)).not.toContain('state="tools_refused"');
    // The first gateway held it in memory too: the release lets it go there (llama refuses again, and it falls back again).
    expect(await askWithTools(viaFirst)).toBe('vllm');
    expect(llamaCalls()).toBe(calls + 3);
    // Learnt again, and shared again: the second gateway routes past llama.
    expect(await askWithTools(viaSecond)).toBe('vllm');
    expect(llamaCalls()).toBe(calls + 3);
  }, 120_000);

  it("pinned to the model: the engine's refusal and the router's later one are the same 400 (code tools_not_supported), each naming the release that lets it be tried again", async () => {
    const pinned = async (client: OpenAI): Promise<InstanceType<typeof OpenAI.BadRequestError>> => {
      const refused = await client.chat.completions.create({ model: 'llama:qwen', messages: [{ role: 'user', content: QUESTION }], tools: TOOLS }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
      return refused as InstanceType<typeof OpenAI.BadRequestError>;
    };
    const calls = llamaCalls();
    // The engine refuses it (llama-server's 500): after a restart with --jinja the refusal recorded for a day still holds until released.
    const byEngine = await pinned(viaFirst);
    expect(llamaCalls()).toBe(calls + 1);
    expect(byEngine.error).toMatchObject({ code: 'tools_not_supported', param: 'tools', message: expect.stringContaining(REFUSAL) });
    expect(byEngine.message).toContain('start llama-server with `--jinja` (Ollama: use a model that supports tools) and run `syndicate provider release llama`');
    // The other gateway refuses it without a call, with the same code and the command as typed (no `ID` to fill in).
    const byRouter = await pinned(viaSecond);
    expect(llamaCalls()).toBe(calls + 1);
    expect(byRouter.error).toMatchObject({ code: 'tools_not_supported', param: 'tools' });
    expect(byRouter.message).toContain('restart llama-server with `--jinja` and run `syndicate provider release llama`');
    expect(byRouter.message).not.toContain(' ID`');
  }, 60_000);
});
