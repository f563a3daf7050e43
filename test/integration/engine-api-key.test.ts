import { existsSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { Scenario } from '../helpers/scenario.js';

const KEY = 'engine-key-4d1f';
const MODEL = 'tiny';

/**
 * A local llama-server started with `--api-key` (the fake answers every path but /health with the
 * captured 401 without the key): a record naming the key in `auth.env` is checked, controlled,
 * probed and called with it, not found "unreachable" by requests that leave the key out.
 */
describe('a local engine started with an API key', () => {
  let engine: FakeEngine;
  let scenario: Scenario;
  const env = { LLAMA_SERVER_KEY: KEY };

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp', models: [{ id: MODEL, contextWindow: 2048 }], apiKey: KEY });
    scenario = await Scenario.create();
    const record = [
      'apiVersion: syndicate/v1',
      'kind: Provider',
      'id: keyed',
      'class: local',
      'wire: openai',
      `baseUrl: ${engine.baseUrl}`,
      'auth:',
      '  env: LLAMA_SERVER_KEY',
      'models:',
      `  - id: ${MODEL}`,
      '    contextWindow: 2048',
      '    capabilityClass: small',
      'deviations: [nonstandard_tool_call_serialization, approximate_token_counts]',
      'engine:',
      '  kind: llama.cpp',
    ].join('\n');
    const path = join(scenario.home, 'keyed.yaml');
    writeFileSync(path, `${record}\n`);
    const registered = await scenario.cli(['provider', 'register', path]);
    expect(registered.exitCode, registered.stderr).toBe(0);
  });
  afterAll(async () => {
    await engine?.close();
    scenario?.cleanup();
  });

  it('run: the health probe sends the key, so the engine answers', async () => {
    const from = engine.exchanges.length;
    const result = await scenario.cli(['run', 'hello', '--provider', 'keyed', '--no-stream'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    const seen = engine.exchanges.slice(from);
    expect(seen.map((exchange) => exchange.status)).not.toContain(401);
    expect(seen.find((exchange) => exchange.path === '/v1/models')?.requestHeaders['authorization']).toBe(`Bearer ${KEY}`);
  });

  it('engine status reads the engine with the key', async () => {
    const { result, document } = await scenario.json(['engine', 'status', 'keyed'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document['engines']).toEqual([expect.objectContaining({ provider: 'keyed', reachable: true, mode: 'single-model', available: [MODEL] })]);
  });

  it("provider test reads /props's n_ctx with the key", async () => {
    const { result, document } = await scenario.json(['provider', 'test', 'keyed'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document['checks']).toContainEqual(expect.objectContaining({ name: 'record.context-window.reported', verdict: 'pass', detail: 'declared 2048 = llama.cpp GET /props n_ctx' }));
  });

  it('without the key set, the engine is still refused, naming its 401', async () => {
    const result = await scenario.cli(['engine', 'status', 'keyed'], { env: { LLAMA_SERVER_KEY: '' } });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('answered HTTP 401: {"error":{"message":"Invalid API Key"');
  });

  it('run without the key: the engine answered (401), so the hint names the key its record reads, not "nothing answers" nor "HTTP 5xx"', async () => {
    const result = await scenario.cli(['run', 'hello', '--provider', 'keyed', '--no-stream'], { env: { LLAMA_SERVER_KEY: '' } });
    expect(result.exitCode).toBe(5);
    expect(result.stderr).toContain('engine failing: ');
    expect(result.stderr).toContain(
      'hint: keyed refused the key in LLAMA_SERVER_KEY: export a valid key for keyed as LLAMA_SERVER_KEY in the environment syndicate runs in (restart a running gateway or MCP server to pass it on)',
    );
    expect(result.stderr).not.toContain('5xx');
    expect(result.stderr).not.toContain('nothing answers at keyed');
  });

  it('provider add: the hint says the engine wants a key, not to start it', async () => {
    const { result, document } = await scenario.json(['provider', 'add', 'llama.cpp', '--id', 'keyed-add', '--base-url', engine.baseUrl]);
    expect(result.exitCode).toBe(5);
    const error = document['error'] as { message: string; hint: string };
    expect(error.message).toContain('answered HTTP 401');
    expect(error.hint).toContain('the engine runs but asks for an API key, and provider add sends none: write its provider record with auth.env');
    expect(error.hint).not.toContain('start it with');
    // The example it names is where syndicate is installed, not a path relative to the current directory.
    const example = /\((\S+) is one to copy and edit\)/.exec(error.hint)?.[1];
    expect(example).toBeDefined();
    expect(isAbsolute(example ?? '')).toBe(true);
    expect(existsSync(example ?? '')).toBe(true);
  });
});

describe('a local engine started with an API key, whose record names none', () => {
  let engine: FakeEngine;
  /** Its probe answers; its inference endpoint then refuses with the 401 (a key asked for inference alone, as a proxy in front may). */
  let refusing: FakeEngine;
  let scenario: Scenario;

  beforeAll(async () => {
    [engine, refusing] = await Promise.all([startFakeEngine({ kind: 'llama.cpp', apiKey: KEY }), startFakeEngine({ kind: 'llama.cpp' })]);
    scenario = await Scenario.create();
    await scenario.register({ id: 'keyless', engine }, { id: 'refusing', engine: refusing });
  });
  afterAll(async () => {
    await Promise.all([engine?.close(), refusing?.close()]);
    scenario?.cleanup();
  });

  const NO_KEY_HINT = 'asks for a key (HTTP 401) and its record sends none: add `auth: { env: NAME }` to its provider record, register it again (`syndicate provider register FILE`) and export NAME';

  it('run: its health probe answered 401, so the hint says to add auth.env, not "HTTP 5xx"', async () => {
    const { result, document } = await scenario.json(['run', 'hello', '--provider', 'keyless', '--no-stream']);
    expect(result.exitCode).toBe(5);
    expect(document['error']).toMatchObject({ code: 'inference_unavailable', hint: `keyless ${NO_KEY_HINT}` });
  });

  it('run: a call refused with 401 after a probe that passed gets the same words', async () => {
    refusing.setFault({ status: 401, body: '{"error":{"message":"Invalid API Key","type":"authentication_error","code":401}}' }, 1);
    const { result, document } = await scenario.json(['run', 'hello', '--provider', 'refusing', '--no-stream']);
    expect(result.exitCode).toBe(5);
    expect((document['error'] as { hint: string }).hint).toBe(`refusing ${NO_KEY_HINT}`);
  });
});
