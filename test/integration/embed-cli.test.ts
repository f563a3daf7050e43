/**
 * `syndicate embed` through the built CLI: the same pipeline as the gateway's /v1/embeddings, with
 * its evidence verified by `evidence verify` and counted by `metrics`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeVector } from '../helpers/fake-engines/embeddings.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';

const EMBED_MODEL = 'nomic-embed-text:latest';
const SECRET_TEXT = 'deploy key AKIAIOSFODNN7EXAMPLE with secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

let ollama: FakeEngine;
let hosted: FakeEngine;
let scenario: Scenario;

function record(lines: string[]): string {
  return `${['apiVersion: syndicate/v1', 'kind: Provider', ...lines].join('\n')}\n`;
}

beforeAll(async () => {
  [ollama, hosted] = await Promise.all([
    startFakeEngine({ kind: 'ollama', models: [{ id: 'llama3.2:latest' }, { id: EMBED_MODEL, embedding: true, dimensions: 8 }] }),
    startFakeEngine({ kind: 'openai', models: [{ id: 'text-embedding-3-small', embedding: true, dimensions: 8 }] }),
  ]);
  scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
  const local = join(scenario.home, 'ollama.yaml');
  writeFileSync(
    local,
    record([
      'id: ollama',
      'class: local',
      'wire: openai',
      `baseUrl: ${ollama.baseUrl}`,
      'engine:',
      '  kind: ollama',
      'models:',
      '  - id: llama3.2:latest',
      '    contextWindow: 131072',
      '    capabilityClass: small',
      `  - id: ${EMBED_MODEL}`,
      '    kind: embedding',
      '    contextWindow: 2048',
      '    capabilityClass: small',
    ]),
  );
  const remote = join(scenario.home, 'openai.yaml');
  writeFileSync(
    remote,
    record([
      'id: openai',
      'class: approved_hosted',
      'wire: openai',
      `baseUrl: ${hosted.baseUrl}`,
      'auth:',
      '  env: FAKE_OPENAI_KEY',
      'models:',
      '  - id: text-embedding-3-small',
      '    kind: embedding',
      '    contextWindow: 8191',
      '    capabilityClass: small',
      '    price:',
      '      inputPerMTok: 0.02',
      '      outputPerMTok: 0',
    ]),
  );
  const registered = await scenario.cli(['provider', 'register', local, remote]);
  expect(registered.exitCode, registered.stderr).toBe(0);
});

afterAll(async () => {
  scenario?.cleanup();
  await Promise.all([ollama?.close(), hosted?.close()]);
});

describe('syndicate embed', () => {
  it('embeds on the model the policy picks, one vector per line, and a sensitive text locally', async () => {
    const env = { FAKE_OPENAI_KEY: 'sk-fake' };
    const publicCall = await scenario.json(['embed', 'first document', 'second document', '--provider', 'openai'], { env });
    expect(publicCall.result.exitCode, publicCall.result.stderr).toBe(0);
    expect(publicCall.document).toMatchObject({ ok: true, provider: { id: 'openai', class: 'approved_hosted' }, model: 'text-embedding-3-small', sensitivity: 'public' });
    expect(publicCall.document.embeddings).toEqual(['first document', 'second document'].map((text) => fakeVector('text-embedding-3-small', text, 8)));
    expect(publicCall.document.costUsd).toBeGreaterThan(0);

    const hostedCalls = inferenceExchanges(hosted).length;
    const secret = await scenario.cli(['embed', SECRET_TEXT], { env });
    expect(secret.exitCode, secret.stderr).toBe(0);
    const lines = secret.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect((JSON.parse(lines[0] ?? '[]') as number[]).map((value) => Math.fround(value))).toEqual(fakeVector(EMBED_MODEL, SECRET_TEXT, 8));
    expect(secret.stderr).toMatch(new RegExp(`ollama@v1 ${EMBED_MODEL} · restricted · 1 vector of 8`));
    expect(inferenceExchanges(hosted).length).toBe(hostedCalls);
  });

  it('refuses a sensitive text no local embedding model may take (exit 4), recorded as a denial', async () => {
    const refused = await scenario.json(['embed', SECRET_TEXT, '--provider', 'openai'], { env: { FAKE_OPENAI_KEY: 'sk-fake' } });
    expect(refused.result.exitCode).toBe(4);
    expect(refused.document).toMatchObject({ ok: false, error: { code: 'route_denied' } });
  });

  it('refuses an empty text as a usage error (exit 2), before anything is routed', async () => {
    const empty = await scenario.cli(['embed', 'fine', '']);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toContain('text 2 is empty');
    expect(empty.stderr).toContain('a text of whitespace alone is embedded as it is');
  });

  it('refuses `-` beside other texts (exit 2): stdin is one text alone, and nothing is sent for the text "-"', async () => {
    const before = inferenceExchanges(ollama).length + inferenceExchanges(hosted).length;
    const [after, first] = await Promise.all([
      scenario.json(['embed', 'a query', '-'], { input: 'the text on stdin' }),
      scenario.json(['embed', '-', 'a query'], { input: 'the text on stdin' }),
    ]);
    for (const [index, { result, document }] of [after, first].entries()) {
      expect(result.exitCode, result.stdout).toBe(2);
      expect(document).toEqual({
        ok: false,
        error: {
          code: 'usage',
          message: `text ${index === 0 ? 2 : 1} is \`-\`, which reads stdin only as the one text: beside other texts it would be embedded as the text "-"`,
          hint: 'pipe one text alone (`syndicate embed -`), or pass every text as an argument',
        },
      });
    }
    expect(inferenceExchanges(ollama).length + inferenceExchanges(hosted).length).toBe(before);
  });

  it('leaves a chain `evidence verify` accepts, and `metrics` counts the calls local and hosted', { timeout: 90_000 }, async () => {
    const metrics = async (): Promise<{ requests: { local: number; hosted: number; denied: number }; tokens: { local: { input: number; output: number } } }> => {
      const { result, document } = await scenario.json(['metrics', '--since', '1h']);
      expect(result.exitCode, result.stderr).toBe(0);
      return document.metrics as { requests: { local: number; hosted: number; denied: number }; tokens: { local: { input: number; output: number } } };
    };
    // One call of each kind of its own, counted from what the earlier tests left: the tests may run in any order.
    const before = await metrics();
    const env = { FAKE_OPENAI_KEY: 'sk-fake' };
    expect((await scenario.cli(['embed', 'first document', '--provider', 'openai'], { env })).exitCode).toBe(0);
    expect((await scenario.cli(['embed', 'first document', '--provider', 'ollama'], { env })).exitCode).toBe(0);
    expect((await scenario.cli(['embed', SECRET_TEXT, '--provider', 'openai'], { env })).exitCode).toBe(4);
    const verify = await scenario.cli(['evidence', 'verify']);
    expect(verify.exitCode, verify.stderr).toBe(0);
    const after = await metrics();
    expect(after.requests).toMatchObject({ local: before.requests.local + 1, hosted: before.requests.hosted + 1, denied: before.requests.denied + 1 });
    expect(after.tokens.local.input).toBeGreaterThan(before.tokens.local.input);
    expect(after.tokens.local.output).toBe(0);
  });

  it('embeds a text of whitespace alone, as the gateway and OpenAI do', async () => {
    const calls = inferenceExchanges(ollama).length;
    const spaces = await scenario.cli(['embed', '   ', '--provider', 'ollama']);
    expect(spaces.exitCode, spaces.stderr).toBe(0);
    expect((JSON.parse(spaces.stdout.trimEnd()) as number[]).map((value) => Math.fround(value))).toEqual(fakeVector(EMBED_MODEL, '   ', 8));
    expect(inferenceExchanges(ollama).length).toBe(calls + 1);
  });

  it('refuses a text longer than every embedding model\'s window (exit 4), naming it, and sends nothing', async () => {
    const calls = inferenceExchanges(ollama).length;
    const long = Array.from({ length: 1200 }, (_, index) => `word${index}`).join(' ');
    const refused = await scenario.json(['embed', 'short', long, '--provider', 'ollama']);
    expect(refused.result.exitCode).toBe(4);
    const error = refused.document.error as { code: string; message: string; hint: string };
    expect(error.code).toBe('context_length_exceeded');
    expect(error.message).toMatch(new RegExp(`an input is too long for every embedding model this public request may use: ollama:${EMBED_MODEL}: context window 2048 < \\d+ tokens of input\\[1\\]`));
    expect(error.hint).toMatch(/^an input is longer than every eligible embedding model's context window: split it into shorter texts/);
    expect(inferenceExchanges(ollama).length).toBe(calls);
    const denials = await scenario.json(['evidence', 'list', '--state', 'denied']);
    expect(JSON.stringify(denials.document)).toContain('context_length_exceeded');
  });
});
