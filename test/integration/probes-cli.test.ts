import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { startFakeEngine, type FakeEngine, type FakeEngineKind } from '../helpers/fake-engines/index.js';
import { defaultModel, Scenario } from '../helpers/scenario.js';
import { storedProviderHistory } from '../helpers/store.js';

/**
 * `syndicate provider test` and `provider capabilities` through the built CLI: exit codes
 * 0 / 1 / 2 / 3 / 5, the JSON documents CI scripts read, stderr notices, and one new record
 * version per discovery run (none with --no-update).
 */

interface CheckDocument {
  name: string;
  verdict: string;
  detail: string;
  evidenceId?: string;
}

const engines: FakeEngine[] = [];
let scenario: Scenario;

beforeAll(async () => {
  scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
});

afterAll(async () => {
  scenario?.cleanup();
  await Promise.all(engines.map((engine) => engine.close()));
});


async function register(id: string, kind: FakeEngineKind, options: { conforming?: boolean; deviations?: string[]; tags?: string[]; baseUrl?: string; contextWindow?: number; lmStudioVersion?: string } = {}): Promise<FakeEngine | undefined> {
  let engine: FakeEngine | undefined;
  let baseUrl = options.baseUrl;
  let model = 'model.gguf';
  if (baseUrl === undefined) {
    engine = await startFakeEngine({ kind, conforming: options.conforming ?? false, ...(options.lmStudioVersion === undefined ? {} : { lmStudioVersion: options.lmStudioVersion }) });
    engines.push(engine);
    baseUrl = engine.baseUrl;
    model = defaultModel(engine);
  }
  const contextWindows: Record<string, number> = { ollama: 131072, 'llama.cpp': 4096, vllm: 32768, lmstudio: 32768 };
  const yaml = [
    'apiVersion: syndicate/v1',
    'kind: Provider',
    `id: ${id}`,
    'class: local',
    'wire: openai',
    `baseUrl: ${baseUrl}`,
    'models:',
    `  - id: "${model}"`,
    `    contextWindow: ${options.contextWindow ?? contextWindows[kind] ?? 4096}`,
    '    capabilityClass: small',
    ...(options.tags === undefined ? [] : [`    tags: [${options.tags.join(', ')}]`]),
    `deviations: [${(options.deviations ?? []).join(', ')}]`,
    'engine:',
    `  kind: ${kind}`,
    '',
  ].join('\n');
  const path = join(scenario.home, `${id}.yaml`);
  writeFileSync(path, yaml);
  // Stored in this process, as `provider register` stores it: this file's subject is what the probes do.
  await scenario.registerFilesInProcess(path);
  return engine;
}

const registeredOnce = new Map<string, Promise<FakeEngine | undefined>>();

/** `register`, by whichever test needs the provider first (the others reuse it, still at v1): the tests may run in any order. */
function registerOnce(id: string, kind: FakeEngineKind, options: Parameters<typeof register>[2] = {}): Promise<FakeEngine | undefined> {
  if (!registeredOnce.has(id)) registeredOnce.set(id, register(id, kind, options));
  return registeredOnce.get(id)!;
}
const llamaOk = (): Promise<FakeEngine | undefined> => registerOnce('llama-ok', 'llama.cpp', { conforming: true });
const vllmOk = (): Promise<FakeEngine | undefined> => registerOnce('vllm-ok', 'vllm', { conforming: true, tags: ['tools'] });

/** The provider's versions as `provider history ID --json` lists them, read by this process. */
async function history(id: string): Promise<{ version: number; reason: string; record: { deviations: string[] } }[]> {
  const versions = storedProviderHistory(scenario.home, id);
  expect(versions.length, `no provider ${id}`).toBeGreaterThan(0);
  return versions as unknown as { version: number; reason: string; record: { deviations: string[] } }[];
}

describe('syndicate provider test', () => {
  it('exit 0 and a JSON document with every check, no deviations and the evidence id', async () => {
    await llamaOk();
    const { result, document } = await scenario.json(['provider', 'test', 'llama-ok']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ ok: true, provider: { id: 'llama-ok', version: 1, class: 'local', wire: 'openai' }, model: 'qwen2.5-0.5b-instruct-q4_k_m.gguf', conforms: true, deviations: [] });
    const evidenceIds = document.evidenceIds as string[];
    expect(evidenceIds).toHaveLength(1);
    const checks = document.checks as CheckDocument[];
    for (const name of ['wire.json', 'wire.id', 'wire.object', 'wire.created', 'wire.model', 'wire.choices', 'wire.content', 'wire.finish_reason', 'wire.usage', 'record.context-window.reported']) {
      expect(checks.find((check) => check.name === name)?.verdict, name).toBe('pass');
    }
    expect(checks.find((check) => check.name === 'wire.id')?.evidenceId).toBe(evidenceIds[0]);
    const evidence = scenario.storedEvidence(evidenceIds[0]!);
    expect(evidence).toMatchObject({ kind: 'probe', caller: 'probe', state: 'completed', sensitivity: 'public', provider: { id: 'llama-ok', version: 1 } });
  });

  it('human output names each check, its verdict and the evidence id', async () => {
    await llamaOk();
    const result = await scenario.cli(['provider', 'test', 'llama-ok']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^llama-ok v1 \(local, openai wire\), model qwen2\.5-0\.5b-instruct-q4_k_m\.gguf$/m);
    expect(result.stdout).toMatch(/^CHECK\s+VERDICT\s+DETAIL\s+EVIDENCE$/m);
    expect(result.stdout).toMatch(/^wire\.usage\s+pass\s+usage: \d+ prompt \+ \d+ completion tokens\s+ev_\S+$/m);
    expect(result.stdout).toContain('conforms to its record');
  });

  it('exit 1 on an undeclared deviation (no usage), recorded with its evidence but the record unchanged', async () => {
    const engine = (await register('vllm-drift', 'vllm'))!;
    const body = JSON.stringify({
      id: 'chatcmpl-0123456789abcdef',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'Qwen/Qwen2.5-1.5B-Instruct',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }],
    });
    engine.setFault({ status: 200, body }, 1);
    const { result, document } = await scenario.json(['provider', 'test', 'vllm-drift']);
    expect(result.exitCode, result.stderr).toBe(1);
    expect(document.ok).toBe(false);
    const error = document.error as { code: string; message: string; hint: string; details: Record<string, any> };
    expect(error.code).toBe('check_failed');
    expect(error.message).toBe('vllm-drift does not conform: wire.usage');
    expect(error.hint).toContain('declare approximate_token_counts under deviations:');
    expect(error.details.deviations).toEqual([
      { deviation: 'approximate_token_counts', declared: false, source: 'provider-test', evidenceId: error.details.evidenceIds[0], detail: 'no `usage` in the response: token counts must be estimated locally' },
    ]);
    expect(error.details.checks.find((check: CheckDocument) => check.name === 'wire.usage')).toMatchObject({ verdict: 'deviation', deviation: 'approximate_token_counts' });
    expect(result.stderr).toContain(`undeclared deviation approximate_token_counts found by provider-test (evidence ${error.details.evidenceIds[0]})`);
    expect(result.stderr).toContain('provider vllm-drift left unchanged at v1');
    expect(await history('vllm-drift')).toHaveLength(1);
  });

  it('exit 0 when the same deviation is declared', async () => {
    const engine = (await register('vllm-declared', 'vllm', { deviations: ['approximate_token_counts'] }))!;
    engine.setFault({ status: 200, body: JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'Qwen/Qwen2.5-1.5B-Instruct', choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }] }) }, 1);
    const { result, document } = await scenario.json(['provider', 'test', 'vllm-declared']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document.conforms).toBe(true);
    expect(document.deviations).toMatchObject([{ deviation: 'approximate_token_counts', declared: true }]);
    expect((document.checks as CheckDocument[]).find((check) => check.name === 'wire.usage')?.verdict).toBe('declared');
  });

  it('exit 1 on a wire defect the vocabulary cannot name (a body that is not JSON)', async () => {
    const engine = (await register('vllm-broken', 'vllm'))!;
    engine.setFault('malformed-json', 1);
    const { result, document } = await scenario.json(['provider', 'test', 'vllm-broken']);
    expect(result.exitCode, result.stderr).toBe(1);
    const checks = (document.error as { details: { checks: CheckDocument[] } }).details.checks;
    expect(checks.find((check) => check.name === 'wire.json')?.verdict).toBe('fail');
  });

  it('exit 5 when the engine is unreachable', async () => {
    await register('llama-down', 'llama.cpp', { baseUrl: `http://127.0.0.1:${await freePort()}/v1` });
    const { result, document } = await scenario.json(['provider', 'test', 'llama-down']);
    expect(result.exitCode, result.stderr).toBe(5);
    expect((document.error as { code: string; message: string }).message).toContain('inference unavailable');
  });

  it('exit 5 when the upstream refuses the minimal request (HTTP 503)', async () => {
    const engine = (await register('llama-loading', 'llama.cpp'))!;
    engine.setFault({ status: 503 });
    const result = await scenario.cli(['provider', 'test', 'llama-loading']);
    expect(result.exitCode, result.stderr).toBe(5);
    expect(result.stderr).toContain('HTTP 503');
    engine.setFault('ok');
  });

  it('exit 3 when the stored record is invalid', async () => {
    await register('llama-corrupt', 'llama.cpp');
    const database = new Database(join(scenario.home, 'syndicate.db'));
    try {
      database.prepare("UPDATE provider_versions SET record_json = json_set(record_json, '$.wire', 'grpc') WHERE provider_id = 'llama-corrupt'").run();
    } finally {
      database.close();
    }
    const result = await scenario.cli(['provider', 'test', 'llama-corrupt']);
    expect(result.exitCode, result.stderr).toBe(3);
    expect(result.stderr).toContain('the stored record of llama-corrupt (v1) is invalid');
    expect(result.stderr).toMatch(/provider llama-corrupt v1 \/wire /);
  });

  it('exit 2 for an unknown provider or model', async () => {
    await llamaOk();
    const unknown = await scenario.cli(['provider', 'test', 'nope']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('unknown provider "nope"');
    const model = await scenario.cli(['provider', 'test', 'llama-ok', '--model', 'missing']);
    expect(model.exitCode).toBe(2);
    expect(model.stderr).toContain('provider llama-ok has no model missing');
  });

  it('exit 2 for a --timeout of 0 or beyond what a timer holds, naming the range', async () => {
    await llamaOk();
    for (const value of ['0', '25d']) {
      const result = await scenario.cli(['provider', 'test', 'llama-ok', '--timeout', value]);
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toContain(`--timeout must be between 1ms and 24d, got "${value}"`);
    }
  });
});

describe('syndicate provider capabilities', () => {
  it('--no-update: exit 1, the table as JSON, discoveries on stderr, and no new version', async () => {
    await register('ollama-quirky', 'ollama', { tags: ['tools'] });
    const { result, document } = await scenario.json(['provider', 'capabilities', 'ollama-quirky', '--no-update']);
    expect(result.exitCode, result.stderr).toBe(1);
    const details = (document.error as { details: Record<string, any> }).details;
    const rows = details.capabilities as { capability: string; declared: string; observed: string; verdict: string; evidenceIds: string[] }[];
    expect(rows.map((row) => [row.capability, row.verdict])).toEqual([
      ['token-accounting', 'pass'],
      ['streaming', 'pass'],
      ['json-mode', 'deviation'],
      ['seed-control', 'deviation'],
      ['tool-calls', 'deviation'],
      ['context-window', 'warn'],
      ['stop-sequences', 'pass'],
    ]);
    expect(rows.find((row) => row.capability === 'json-mode')).toMatchObject({ declared: 'reliable', observed: '2/4 parsed' });
    expect(rows.find((row) => row.capability === 'context-window')).toMatchObject({ declared: '131072', observed: '131072 (loaded 4096)', evidenceIds: [] });
    for (const row of rows.filter((item) => item.capability !== 'context-window')) expect(row.evidenceIds.length).toBeGreaterThan(0);
    expect(details.discovery).toMatchObject({ updated: false, version: 1 });
    expect(result.stderr).toContain('undeclared deviation nonstandard_tool_call_serialization found by tool-calls (evidence ev_');
    expect(result.stderr).toContain('provider ollama-quirky left unchanged at v1');
    expect(await history('ollama-quirky')).toHaveLength(1);
  });

  it('discovery: exit 1, exactly one new version whose reason names the discovery; then exit 0 and no further version', async () => {
    // A release before 0.3.18, which never sends usage in a stream: the deviation to discover.
    await register('studio', 'lmstudio', { tags: ['tools'], lmStudioVersion: '0.3.17' });
    const first = await scenario.cli(['provider', 'capabilities', 'studio']);
    expect(first.exitCode, first.stderr).toBe(1);
    expect(first.stdout).toMatch(/^CAPABILITY\s+DECLARED\s+OBSERVED\s+VERDICT\s+EVIDENCE$/m);
    expect(first.stdout).toMatch(/^streaming\s+reliable\s+\d+ events, \[DONE\], no usage\s+DEVIATION\s+ev_\S+$/m);
    // Its JSON mode holds: syndicate sends LM Studio's refused json_object as a json_schema of any object.
    expect(first.stderr).toMatch(/provider studio updated to v2: discovered deviation approximate_token_counts by probe streaming \(evidence ev_\S+\) \(changed \/deviations\)/);
    // The error says what was written: the deviations v1 lacked, which v2 now declares.
    expect(first.stderr).toContain('error: studio v1 does not match its record: undeclared approximate_token_counts (streaming), now declared by v2\n');
    const versions = await history('studio');
    expect(versions.map((version) => version.version)).toEqual([1, 2]);
    expect(versions[1]!.reason).toMatch(/^discovered deviation approximate_token_counts by probe streaming \(evidence ev_/);
    expect(versions[1]!.record.deviations).toEqual(['approximate_token_counts']);

    const second = await scenario.json(['provider', 'capabilities', 'studio']);
    expect(second.result.exitCode, second.result.stderr).toBe(0);
    expect(second.document).toMatchObject({ ok: true, conforms: true, provider: { id: 'studio', version: 2 } });
    expect(second.document.discovery).toBeUndefined();
    expect(await history('studio')).toHaveLength(2);

    // Registering the original file again drops what the probes found: said on stderr, with how to keep it.
    const file = join(scenario.home, 'studio.yaml');
    const again = await scenario.json(['provider', 'register', file]);
    expect(again.result.exitCode, again.result.stderr).toBe(0);
    const dropped = (again.document.results as { version: number; droppedDiscoveries: { deviation: string; addedInVersion: number; source: string }[] }[])[0]!;
    expect(dropped.version).toBe(3);
    expect(dropped.droppedDiscoveries).toMatchObject([{ deviation: 'approximate_token_counts', addedInVersion: 2, source: 'probe:streaming' }]);
    expect(again.result.stderr).toMatch(
      /^warning: studio v3 no longer declares approximate_token_counts, which was discovered on the engine \(approximate_token_counts: added in v2, found by probe streaming \(evidence ev_\S+\)\)\. To keep it, list approximate_token_counts under deviations: in \S*studio\.yaml and register it again; otherwise the next probe or invocation that shows it adds it back as a new version$/,
    );
    // Registering it once more drops nothing: no warning.
    const unchanged = await scenario.cli(['provider', 'register', file]);
    expect(unchanged.stderr).toBe('');
  });

  it('exit 0 with a human table against a conforming engine', async () => {
    await vllmOk();
    const result = await scenario.cli(['provider', 'capabilities', 'vllm-ok', '--trials', '2']);
    expect(result.exitCode, result.stderr).toBe(0);
    for (const capability of ['token-accounting', 'streaming', 'json-mode', 'seed-control', 'tool-calls', 'context-window', 'stop-sequences']) {
      expect(result.stdout).toMatch(new RegExp(`^${capability}\\s+.*\\s+pass\\s+`, 'm'));
    }
    expect(result.stdout).toMatch(/^json-mode\s+reliable\s+2\/2 parsed\s+pass/m);
    expect(result.stderr).not.toContain('undeclared');
  });

  it('an ordinary `run` that shows an undeclared deviation tells the operator on stderr and adds one version', async () => {
    await register('studio-run', 'lmstudio', { lmStudioVersion: '0.3.17' });
    const result = await scenario.cli(['run', 'Name the capital of France.', '--provider', 'studio-run', '--stream']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/warning: deviations: discovered undeclared deviation approximate_token_counts \(evidence ev_\S+\); the provider record of studio-run is now v2/);
    const versions = await history('studio-run');
    expect(versions).toHaveLength(2);
    expect(versions[1]!.reason).toMatch(/^discovered deviation approximate_token_counts during an invocation \(evidence ev_\S+\)/);
    const again = await scenario.cli(['run', 'Name the capital of France.', '--provider', 'studio-run', '--stream']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('discovered');
    expect(await history('studio-run')).toHaveLength(2);
  });

  it('an endpoint answering every request with an HTML page: exit 1 naming the probes that failed, and the record left alone', async () => {
    const engine = (await register('html-page', 'llama.cpp', { conforming: true, tags: ['tools'] }))!;
    engine.setFault({ status: 200, body: '<html><body>oops</body></html>', headers: { 'Content-Type': 'text/html' } });
    const result = await scenario.cli(['provider', 'capabilities', 'html-page']);
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stderr).toContain('error: html-page v1 does not match its record: token-accounting, streaming, json-mode, seed-control, tool-calls failed\n');
    expect(result.stderr).toContain('hint: fix: 2 of 2 answers did not decode as openai wire: html-page sent a response that is not valid openai JSON');
    expect(result.stderr).not.toContain('undeclared deviation');
    expect(result.stderr).not.toContain('updated to');
    expect(result.stdout).toMatch(/^streaming\s+reliable\s+not a well-formed stream\s+FAIL\s+ev_\S+$/m);
    expect(await history('html-page')).toHaveLength(1);
  });

  it('exit 2 on a bad --trials value', async () => {
    await vllmOk();
    const result = await scenario.cli(['provider', 'capabilities', 'vllm-ok', '--trials', '0']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--trials must be an integer from 1 to 20');
  });
});

describe('provider test of a provider the policy refuses', () => {
  let offList: Scenario;
  const refusedEngines: FakeEngine[] = [];

  beforeAll(async () => {
    const hosted = await startFakeEngine({ kind: 'openai' });
    const local = await startFakeEngine({ kind: 'llama.cpp' });
    refusedEngines.push(hosted, local);
    // The default egress list holds only the real hosted hosts: the policy refuses anything sent to this one.
    offList = await Scenario.create();
    await offList.registerInProcess({ id: 'offlist', engine: hosted, class: 'approved_hosted', authEnv: 'OFFLIST_KEY' }, { id: 'llama', engine: local });
  });
  afterAll(async () => {
    offList?.cleanup();
    await Promise.all(refusedEngines.map((engine) => engine.close()));
  });

  it("hints at the rule to change, not at another provider to name instead (a probe tests the one it names); run's hint still offers it", async () => {
    const probe = await offList.json(['provider', 'test', 'offlist'], { env: { OFFLIST_KEY: 'test-key' } });
    expect(probe.result.exitCode, probe.result.stderr).toBe(4);
    const hint = (probe.document.error as { hint: string }).hint;
    expect(hint).toContain('egress.allowHosts');
    expect(hint).not.toContain('llama');
    expect(hint).not.toContain('instead');
    const run = await offList.json(['run', 'hello', '--provider', 'offlist'], { env: { OFFLIST_KEY: 'test-key' } });
    expect(run.result.exitCode, run.result.stderr).toBe(4);
    expect((run.document.error as { hint: string }).hint).toMatch(/^llama may take it: name it instead/);
  });
});
