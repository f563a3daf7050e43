import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonDocument, runCli, type CliResult } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { initialisedHome } from '../helpers/prepared-home.js';
import { registerFilesInHome, withStoreAsync } from '../helpers/store.js';
import { addFromCatalog } from '../../src/catalog/add.js';

/**
 * `syndicate route --request FILE|-` through the built CLI: a whole gateway request body, decoded
 * by the gateway faces' own parsers, routed as the gateway would route it (tool choice, thinking,
 * the body's `model`, the `x-syndicate-*` hints as flags). Nothing upstream is called.
 */

interface PlanDocument {
  ok: boolean;
  classification: { level: string };
  plan: {
    candidates: { provider: string; model: string }[];
    excluded: { provider: string; model: string; rules: string[]; reasons: string[] }[];
    sensitivity: string;
  };
}

const OPUS = 'claude-opus-5-5';
const SONNET = 'claude-sonnet-5-5';
const KEY_ENV = { ROUTE_REQUEST_ANTHROPIC_KEY: 'not-a-real-key' };

let home = '';
let cleanupHome: () => void = () => {};
let ollama: FakeEngine;

beforeAll(async () => {
  // An initialised home with its records stored in this process: `route --request` is the subject.
  ({ home, cleanup: cleanupHome } = await initialisedHome('syndicate-route-request-'));
  ollama = await startFakeEngine({ kind: 'ollama', models: [{ id: 'llama3.2:3b' }, { id: 'llava:7b' }] });
  const local = join(home, 'ollama.yaml');
  writeFileSync(
    local,
    `apiVersion: syndicate/v1
kind: Provider
id: ollama
class: local
wire: openai
baseUrl: ${ollama.baseUrl}
models:
  - id: llama3.2:3b
    contextWindow: 131072
    capabilityClass: small
    tags: [chat]
  - id: llava:7b
    contextWindow: 8192
    capabilityClass: small
    tags: [chat, vision]
deviations: [approximate_token_counts]
engine:
  kind: ollama
`,
  );
  const hosted = join(home, 'anthropic.yaml');
  writeFileSync(
    hosted,
    `apiVersion: syndicate/v1
kind: Provider
id: anthropic
class: approved_hosted
wire: anthropic
baseUrl: https://api.anthropic.com
auth: { env: ROUTE_REQUEST_ANTHROPIC_KEY }
models:
  - id: ${OPUS}
    contextWindow: 200000
    capabilityClass: frontier
    priority: 10
    tags: [chat, tools]
    price: { inputPerMTok: 3, outputPerMTok: 15 }
    deviations: [forced_tool_choice_unsupported, thinking_always_on]
  - id: ${SONNET}
    contextWindow: 200000
    capabilityClass: frontier
    priority: 1
    tags: [chat, tools]
    price: { inputPerMTok: 3, outputPerMTok: 15 }
`,
  );
  await registerFilesInHome(home, local, hosted);
}, 30_000);

afterAll(async () => {
  await ollama?.close();
  cleanupHome();
});

function writeBody(name: string, body: unknown): string {
  const path = join(home, name);
  writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body));
  return path;
}

function route(args: string[], input?: string): Promise<CliResult> {
  return runCli(['route', ...args], { home, env: KEY_ENV, ...(input === undefined ? {} : { input }) });
}

async function routeJson(args: string[], input?: string): Promise<{ result: CliResult; document: PlanDocument }> {
  const result = await route(['--json', ...args], input);
  return { result, document: parseJsonDocument(result.stdout) as unknown as PlanDocument };
}

const targets = (entries: { provider: string; model: string }[]): string[] => entries.map((entry) => `${entry.provider}:${entry.model}`);
const WEATHER_FUNCTION = { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };

describe('route --request with an OpenAI chat completions body', () => {
  it('routes a forced tool around the model that declares forced_tool_choice_unsupported (rule tool_choice)', async () => {
    const file = writeBody('forced.json', {
      model: 'auto',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [WEATHER_FUNCTION],
      tool_choice: 'required',
    });
    const { result, document } = await routeJson(['--request', file]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(targets(document.plan.candidates)).toContain(`anthropic:${SONNET}`);
    expect(targets(document.plan.candidates)).not.toContain(`anthropic:${OPUS}`);
    const opus = document.plan.excluded.find((exclusion) => exclusion.model === OPUS);
    expect(opus?.rules).toContain('tool_choice');
    expect(opus?.reasons.join(' ')).toContain('forced_tool_choice_unsupported');

    // Letting the model choose keeps Opus: the exclusion came from the body's tool choice.
    const chosen = writeBody('chosen.json', { model: 'auto', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_FUNCTION], tool_choice: 'auto' });
    const free = await routeJson(['--request', chosen]);
    expect(free.result.exitCode, free.result.stderr).toBe(0);
    expect(targets(free.document.plan.candidates)).toContain(`anthropic:${OPUS}`);
  });

  it('--explain prints the exclusion with its reason, as `route --explain` does for a prompt', async () => {
    const file = writeBody('forced-named.json', {
      model: 'auto',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [WEATHER_FUNCTION],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const result = await route(['--explain', '--request', file]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('request needs: tools, forced tool get_weather');
    expect(result.stdout).toMatch(new RegExp(`- anthropic:${OPUS} \\(approved_hosted\\) — request forces .*\\(tool_choice\\) and the model declares forced_tool_choice_unsupported`));
  });

  it('an image URL, which Ollama refuses, leaves the only vision model out (rule image_url): refused as the gateway refuses it, image_url_unsupported, exit 4', async () => {
    const file = writeBody('image.json', {
      model: 'auto',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }],
    });
    const result = await route(['--explain', '--request', file]);
    expect(result.exitCode, result.stderr).toBe(4);
    expect(result.stdout).toContain('request needs: vision');
    expect(result.stdout).toMatch(/- ollama:llava:7b \(local\) — Ollama takes images as base64 data only and refuses an image URL/);
    expect(result.stderr).toContain('error: no model this confidential request may use accepts its messages: ');
  });
});

describe('route --request with an Anthropic Messages body', () => {
  it('is told from its fields (read on stdin) and leaves out the model that cannot turn thinking off (rule thinking)', async () => {
    const body = JSON.stringify({
      model: 'auto',
      max_tokens: 1024,
      system: 'You are terse.',
      thinking: { type: 'disabled' },
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise RFC 9110 in one line' }] }],
    });
    const { result, document } = await routeJson(['--request', '-'], body);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(targets(document.plan.candidates)).toContain(`anthropic:${SONNET}`);
    expect(targets(document.plan.candidates)).not.toContain(`anthropic:${OPUS}`);
    expect(document.plan.excluded.find((exclusion) => exclusion.model === OPUS)?.rules).toContain('thinking');
  });

  it('a restricted prompt in the body stays local; --sensitivity raises the level as x-syndicate-sensitivity does', async () => {
    const file = writeBody('restricted.json', {
      model: 'auto',
      max_tokens: 256,
      system: 'Help with deployment.',
      messages: [{ role: 'user', content: 'deploy with password: hunter2 and key AKIAIOSFODNN7EXAMPLE' }],
    });
    const { result, document } = await routeJson(['--request', file, '--format', 'anthropic']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document.classification.level).toBe('restricted');
    expect(document.plan.candidates.map((candidate) => candidate.provider)).toEqual(['ollama', 'ollama']);
    expect(document.plan.excluded.filter((exclusion) => exclusion.provider === 'anthropic')).toHaveLength(2);

    const plain = writeBody('plain.json', { model: 'auto', max_tokens: 256, system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }] });
    const hinted = await routeJson(['--request', plain, '--sensitivity', 'confidential']);
    expect(hinted.result.exitCode, hinted.result.stderr).toBe(0);
    expect(hinted.document.plan.sensitivity).toBe('confidential');
    expect(hinted.document.plan.candidates.map((candidate) => candidate.provider)).toEqual(['ollama', 'ollama']);
  });
});

describe('route --request refuses what the gateway would refuse', () => {
  it('a body the face refuses: the gateway 400 message, located in the file by JSON pointer (exit 3)', async () => {
    const file = writeBody('no-max-tokens.json', { model: 'auto', system: 'x', messages: [{ role: 'user', content: 'hi' }] });
    const result = await route(['--request', file]);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain(`${file}: invalid messages request: /max_tokens: is required by the Messages API`);
    expect(result.stderr).toContain(`${file} /max_tokens`);
    expect(result.stdout).toBe('');

  });

  it('a file that is not JSON: exit 3 naming the file, the line and column and what was expected there, as for run --schema; on stdin too', async () => {
    const broken = writeBody('broken.json', '{\n  "model": "auto",\n  "messages": [{"role": "user", "content": "hi"},]\n}\n');
    for (const format of [[], ['--format', 'openai']]) {
      const json = await routeJson(['--request', broken, ...format]);
      expect(json.result.exitCode, format.join(' ')).toBe(3);
      const error = (json.document as unknown as { error: { code: string; message: string; hint: string; details: { problems: { file: string; pointer: string; line: number; column: number }[] } } }).error;
      expect(error).toMatchObject({ code: 'invalid_input', message: `${broken} is not valid JSON: expected a value (JSON has no trailing comma) at line 3, column 50`, hint: 'fix the JSON syntax at the reported line and column' });
      expect(error.details.problems[0]).toMatchObject({ file: broken, pointer: '', line: 3, column: 50 });
    }
    const cut = await route(['--request', '-'], '{"model": "auto", "messages": [');
    expect(cut.exitCode).toBe(3);
    expect(cut.stderr).toContain('error: <stdin> is not valid JSON: expected a value (an object, array, string, number, true, false or null) at line 1, column 32 (where the file ends)');
  });

  it('a body of both APIs, or of neither, is a usage error asking for --format (exit 2); --format decides', async () => {
    const neither = writeBody('neither.json', { model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] });
    const ambiguous = await route(['--request', neither]);
    expect(ambiguous.exitCode).toBe(2);
    expect(ambiguous.stderr).toContain('--format openai or --format anthropic');
    const both = await route(['--request', writeBody('both.json', { model: 'auto', max_tokens: 64, system: 'x', response_format: { type: 'text' }, messages: [{ role: 'user', content: 'hello' }] })]);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('/system');
    expect(both.stderr).toContain('/response_format');
    const decided = await route(['--request', neither, '--format', 'openai']);
    expect(decided.exitCode, decided.stderr).toBe(0);
  });

  it('flags the body decides, or a prompt beside the body, are usage errors (exit 2)', async () => {
    const file = writeBody('simple.json', { model: 'auto', messages: [{ role: 'system', content: 'x' }, { role: 'user', content: 'hello' }] });
    for (const args of [['--model', 'auto'], ['--max-tokens', '10'], ['--provider', 'ollama'], ['--system', 'be brief'], ['--temperature', '0.2'], ['a prompt']]) {
      const result = await route(['--request', file, ...args]);
      expect(result.exitCode, args.join(' ')).toBe(2);
    }
    expect((await route(['--format', 'openai', 'a prompt'])).exitCode).toBe(2);
  });
});

describe('route --request gives the refusal the gateway gives', () => {
  let catalogHome = '';
  let cleanupCatalogHome: () => void = () => {};
  let gateway: RunningServe | undefined;

  beforeAll(async () => {
    ({ home: catalogHome, cleanup: cleanupCatalogHome } = await initialisedHome('syndicate-route-request-catalog-'));
    // The catalog's Anthropic entry (added in this process, as `provider add anthropic` adds it): Claude Opus 5.5 declares forced_tool_choice_unsupported.
    const added = await withStoreAsync(catalogHome, (store) => addFromCatalog(() => store, 'anthropic'));
    expect(added.outcome).toMatchObject({ id: 'anthropic', status: 'registered' });
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: catalogHome });
  }, 60_000);

  afterAll(async () => {
    gateway?.server.kill('SIGTERM');
    await gateway?.server;
    cleanupCatalogHome();
  });

  it('a request pinned to a catalog model that refuses a forced tool: the gateway 400 code, param, message and hint (exit 4, as `run` refuses it)', async () => {
    const body = {
      model: `anthropic:${OPUS}`,
      messages: [{ role: 'user' as const, content: 'Weather in Paris?' }],
      tools: [WEATHER_FUNCTION as OpenAI.Chat.Completions.ChatCompletionTool],
      tool_choice: 'required' as const,
    };
    const client = new OpenAI({ baseURL: `${gateway?.url}/v1`, apiKey: readFileSync(join(catalogHome, 'gateway.token'), 'utf8').trim(), maxRetries: 0 });
    const refused = await client.chat.completions.create(body).then(() => undefined, (caught: unknown) => caught);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    const gatewayError = refused as InstanceType<typeof OpenAI.BadRequestError>;
    expect(gatewayError.code).toBe('tool_choice_unsupported');
    expect(gatewayError.param).toBe('tool_choice');

    const file = join(catalogHome, 'pinned-forced.json');
    writeFileSync(file, JSON.stringify(body));
    const json = await runCli(['route', '--json', '--request', file], { home: catalogHome });
    expect(json.exitCode, json.stderr).toBe(4);
    const { error } = parseJsonDocument(json.stdout) as { error: { code: string; message: string; hint: string; details: { param: string; plan: { candidates: unknown[] } } } };
    expect(error.code).toBe(gatewayError.code);
    expect(error.details.param).toBe(gatewayError.param);
    expect(error.details.plan.candidates).toEqual([]);
    // The gateway's message is the refusal's message with its hint after it. The hint's last words
    // say where every rule is seen, in words that work where it is read: for the gateway's client
    // `route --explain --request` (a bare `route --explain` wants a prompt), for `route` its own output.
    const remedies = error.hint.slice(0, error.hint.lastIndexOf('; '));
    expect(remedies).toContain('let the model choose (tool_choice auto)');
    expect(error.hint).toBe(`${remedies}; \`details.plan.excluded\` says why each provider was excluded`);
    expect((gatewayError.error as { message: string }).message).toBe(`${error.message} (${remedies}; \`syndicate route --explain --request BODY.json\` (the request's JSON body) shows every rule)`);
    expect(error.message).toBe(`no model this public request may use accepts its tool_choice: anthropic:${OPUS}: request forces a tool (tool_choice) and the model declares forced_tool_choice_unsupported: it answers such a request with a 400`);

    const human = await runCli(['route', '--request', file], { home: catalogHome });
    expect(human.exitCode).toBe(4);
    expect(human.stderr).toContain(`error: ${error.message}`);
    expect(human.stderr).toContain(`hint: ${remedies}; run it again with \`--explain\` to see why each provider was excluded`);
    const explained = await runCli(['route', '--explain', '--request', file], { home: catalogHome });
    expect(explained.exitCode).toBe(4);
    expect(explained.stderr).toContain(`hint: ${remedies}; see the exclusions above`);
  });
});

describe('route --anthropic-beta: the anthropic-beta header the Anthropic face reads', () => {
  const GITHUB_TOKEN = `ghp_${'a1B2c3D4e5'.repeat(4)}`;
  const messagesBody = { model: 'auto', max_tokens: 256, system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }] };

  it('is classified with the request as the gateway classifies the header: a credential in it keeps the request on this host', async () => {
    const file = writeBody('beta.json', messagesBody);
    const plain = await routeJson(['--request', file, '--anthropic-beta', 'context-1m-2025-08-07,interleaved-thinking-2025-05-14']);
    expect(plain.result.exitCode, plain.result.stderr).toBe(0);
    expect(plain.document.classification.level).toBe('public');
    expect(targets(plain.document.plan.candidates)).toContain(`anthropic:${SONNET}`);

    const leaked = await routeJson(['--request', file, '--anthropic-beta', `context-1m-2025-08-07,${GITHUB_TOKEN}`]);
    expect(leaked.result.exitCode, leaked.result.stderr).toBe(0);
    expect(leaked.document.classification.level).toBe('restricted');
    const findings = (leaked.document.classification as unknown as { findings: { detector: string; location: string }[] }).findings;
    expect(findings).toContainEqual(expect.objectContaining({ detector: 'secret.github-token', location: 'anthropicBeta' }));
    expect(leaked.document.plan.candidates.map((candidate) => candidate.provider)).toEqual(['ollama', 'ollama']);
  });

  it('is held to the gateway rule for the header; with an OpenAI body or without --request it is a usage error (exit 2)', async () => {
    const anthropic = writeBody('beta-anthropic.json', messagesBody);
    const malformed = await route(['--request', anthropic, '--anthropic-beta', 'context-1m-2025-08-07;evil']);
    expect(malformed.exitCode).toBe(2);
    expect(malformed.stderr).toContain('--anthropic-beta must be a comma-separated list of beta names (letters, digits, `.`, `_`, `-`; at most 64 characters each, 1024 in all)');
    expect(malformed.stdout).toBe('');

    const openai = writeBody('beta-openai.json', { model: 'auto', messages: [{ role: 'system', content: 'x' }, { role: 'user', content: 'hello' }] });
    const wrongFace = await route(['--request', openai, '--anthropic-beta', 'context-1m-2025-08-07']);
    expect(wrongFace.exitCode).toBe(2);
    expect(wrongFace.stderr).toContain('--anthropic-beta (the anthropic-beta header) applies to an Anthropic Messages request');

    expect((await route(['--anthropic-beta', 'context-1m-2025-08-07', 'a prompt'])).exitCode).toBe(2);
  });
});

describe('route --request with an OpenAI Responses or embeddings body', () => {
  it('routes a Responses body as the gateway\'s /v1/responses would: a credential in its input keeps it on this host', async () => {
    const githubToken = `ghp_${'f6G7h8I9j0'.repeat(4)}`;
    const file = writeBody('responses.json', { model: 'auto', instructions: 'be brief', input: [{ role: 'user', content: `deploy with ${githubToken}` }] });
    const [told, named] = await Promise.all([routeJson(['--request', file]), routeJson(['--request', file, '--format', 'openai-responses'])]);
    for (const { result, document } of [told, named]) {
      expect(result.exitCode, result.stderr).toBe(0);
      expect(document.classification.level).toBe('restricted');
      expect(document.plan.candidates.map((candidate) => candidate.provider)).toEqual(['ollama', 'ollama']);
    }
  });

  it('routes an embeddings body to embedding models only (none registered here: no_providers, exit 2), and asks for --format when the body could be either', async () => {
    const embeddings = await routeJson(['--request', writeBody('embeddings.json', { model: 'auto', input: ['a', 'b'], encoding_format: 'float' })]);
    expect(embeddings.result.exitCode).toBe(2);
    expect(embeddings.document).toMatchObject({ ok: false, error: { code: 'no_providers' } });
    const excluded = (embeddings.document as unknown as { error: { details: PlanDocument } }).error.details.plan.excluded;
    expect(excluded.length).toBeGreaterThan(0);
    for (const exclusion of excluded) expect(exclusion.rules).toContain('model_kind');

    const either = await route(['--request', writeBody('either.json', { model: 'auto', input: 'hello' })]);
    expect(either.exitCode).toBe(2);
    expect(either.stderr).toContain('cannot tell whether the body is an OpenAI Responses or an embeddings request: it has nothing only one of them has');
    expect(either.stderr).toContain('hint: name the API with --format openai-responses or --format openai-embeddings');
  });
});
