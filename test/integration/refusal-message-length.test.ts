/**
 * A refusal over a registry of 20 models: the message a person reads — `run`'s stderr, a gateway
 * client's error, an MCP tool's error — names the first reasons grouped by rule and how many more,
 * and where to see them all; every exclusion stays in the error's details (`--json`) and in
 * `route --explain`. It listed every model with its reasons: several kilobytes on one line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { connectMcpClient, toolText } from '../helpers/mcp.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

/** A connection string with its password: restricted, so only a local model may take it. */
const SECRET_PROMPT = 'Why does postgres://app:S3cr3t-Pa55w0rd@db.internal:5432/orders refuse connections?';
const HOSTED_MODELS = Array.from({ length: 19 }, (_, index) => `frontier-${String(index + 1).padStart(2, '0')}`);
const EMBEDDING_MODEL = 'nomic-embed-text:latest';
/** What the old message was per model, at least: 20 of them made it several kilobytes. */
const SHORT = 900;

function record(lines: string[]): string {
  return `${['apiVersion: syndicate/v1', 'kind: Provider', ...lines, 'deviations: []'].join('\n')}\n`;
}

describe('a refusal of a request 20 registered models may not take', () => {
  let scenario: Scenario;
  let hosted: FakeEngine;
  let local: FakeEngine;
  let gateway: RunningServe;

  beforeAll(async () => {
    [hosted, local] = await Promise.all([startFakeEngine({ kind: 'openai', models: HOSTED_MODELS.map((id) => ({ id })) }), startFakeEngine({ kind: 'ollama', models: [{ id: EMBEDDING_MODEL, embedding: true }] })]);
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    const hostedModels = HOSTED_MODELS.flatMap((id) => [`  - id: ${id}`, '    contextWindow: 128000', '    capabilityClass: frontier']);
    writeFileSync(join(scenario.home, 'cloud.yaml'), record(['id: cloud', 'class: approved_hosted', 'wire: openai', `baseUrl: ${hosted.baseUrl}`, 'auth:', '  env: CLOUD_KEY', 'models:', ...hostedModels]));
    writeFileSync(
      join(scenario.home, 'ollama.yaml'),
      record(['id: ollama', 'class: local', 'wire: openai', `baseUrl: ${local.baseUrl}`, 'engine:', '  kind: ollama', 'models:', `  - id: ${EMBEDDING_MODEL}`, '    contextWindow: 8192', '    capabilityClass: small', '    kind: embedding']),
    );
    const registered = await scenario.cli(['provider', 'register', join(scenario.home, 'cloud.yaml'), join(scenario.home, 'ollama.yaml')]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home, CLOUD_KEY: 'sk-fake' }, 120_000);
  }, 90_000);

  afterAll(async () => {
    gateway?.server.kill('SIGTERM');
    await gateway?.server;
    scenario?.cleanup();
    await Promise.all([hosted?.close(), local?.close()]);
  });

  /**
   * What every surface says: the count, each rule's first model and how many more, and the hint,
   * which ends with where every rule is seen (`whereEveryOne`).
   */
  function expectSummary(text: string, whereEveryOne: string): void {
    expect(text.length).toBeLessThan(SHORT * 2);
    expect(text).toContain('no provider may receive this restricted request: 20 models left out: cloud:frontier-01: class approved_hosted may not receive restricted data');
    expect(text).toContain('(and 18 more left out by class_not_allowed)');
    expect(text).toContain(`| ollama:${EMBEDDING_MODEL}: an embedding model`);
    expect(text).not.toContain('frontier-02');
    expect(text).toContain(whereEveryOne);
  }

  it('run: a short message on stderr and in --json; every exclusion in details; route --explain lists them all', { timeout: 90_000 }, async () => {
    const human = await scenario.cli(['run', SECRET_PROMPT], { env: { CLOUD_KEY: 'sk-fake' } });
    expect(human.exitCode).toBe(4);
    expectSummary(human.stderr, '`syndicate route --explain` shows every rule');

    const { result, document } = await scenario.json(['run', SECRET_PROMPT], { env: { CLOUD_KEY: 'sk-fake' } });
    expect(result.exitCode).toBe(4);
    const error = document['error'] as { code: string; message: string; details: { excluded: { provider: string; model: string; rules: string[] }[] } };
    expect(error.code).toBe('route_denied');
    expect(error.message.length).toBeLessThan(SHORT);
    expectSummary(`${error.message}; ${(document['error'] as { hint: string }).hint}`, '`syndicate route --explain` shows every rule');
    expect(error.details.excluded.map((exclusion) => `${exclusion.provider}:${exclusion.model}`).sort()).toEqual([...HOSTED_MODELS.map((id) => `cloud:${id}`), `ollama:${EMBEDDING_MODEL}`].sort());

    const explained = await scenario.cli(['route', '--explain', SECRET_PROMPT]);
    expect(explained.exitCode).toBe(4);
    for (const id of HOSTED_MODELS) expect(explained.stdout).toContain(`  - cloud:${id} (approved_hosted) — class approved_hosted may not receive restricted data`);
    expect(explained.stdout).toContain(`  - ollama:${EMBEDDING_MODEL} (local) — `);
    // `route` says it short itself, and points at its own output for the rest.
    expect(explained.stderr).toMatch(/^error: no provider may receive this restricted request\n/);
    expect(explained.stderr.trimEnd()).toMatch(/see the exclusions above$/);
    expect(inferenceExchanges(hosted)).toHaveLength(0);
  });

  it('the gateway: a 403 whose message is short and says where every rule is seen', { timeout: 90_000 }, async () => {
    const token = readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim();
    const refused = await new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: token, maxRetries: 0 }).chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: SECRET_PROMPT }] })
      .then(() => undefined, (caught: unknown) => caught);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const { message } = (refused as InstanceType<typeof OpenAI.PermissionDeniedError>).error as { message: string };
    expect(message).toMatch(/^no provider may receive this restricted request: /);
    expectSummary(message, "`syndicate route --explain --request BODY.json` (the request's JSON body) shows every rule");
    expect(inferenceExchanges(hosted)).toHaveLength(0);
  });

  it('MCP complete: a tool error whose text is short', { timeout: 90_000 }, async () => {
    const client = await connectMcpClient(scenario.home);
    try {
      const result = (await client.callTool({ name: 'complete', arguments: { prompt: SECRET_PROMPT } })) as CallToolResult;
      expect(result.isError).toBe(true);
      const text = toolText(result);
      expectSummary(text, '`syndicate route --explain` shows every rule');
    } finally {
      await client.close();
    }
  });
});

/**
 * Every candidate down: `inference_unavailable` (exit 5, the gateway's 503) said every model with its
 * reason, 2.8 KB for one engine serving 20 models; it says them as a route refusal does.
 */
describe('inference unavailable with 20 models down', () => {
  const MODELS = Array.from({ length: 20 }, (_, index) => `model-${String(index + 1).padStart(2, '0')}`);
  let scenario: Scenario;
  let gateway: RunningServe;

  beforeAll(async () => {
    // An engine that answered once and is gone: nothing listens at its address.
    const gone = await startFakeEngine({ kind: 'llama.cpp' });
    const baseUrl = gone.baseUrl;
    await gone.close();
    scenario = await Scenario.create();
    const models = MODELS.flatMap((id) => [`  - id: ${id}`, '    contextWindow: 8192', '    capabilityClass: small']);
    writeFileSync(join(scenario.home, 'dead.yaml'), record(['id: dead', 'class: local', 'wire: openai', `baseUrl: ${baseUrl}`, 'models:', ...models]));
    const registered = await scenario.cli(['provider', 'register', join(scenario.home, 'dead.yaml')]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home }, 120_000);
  }, 90_000);

  afterAll(async () => {
    gateway?.server.kill('SIGTERM');
    await gateway?.server;
    scenario?.cleanup();
  });

  /** The message (the gateway's says the hint after it, in parentheses). */
  function expectSummary(message: string): void {
    expect(message.length).toBeLessThan(SHORT);
    expect(message).toMatch(/^inference unavailable, try again later \(20 models left out: dead:model-01: engine unreachable: [^|]* \(and 19 more left out by unhealthy\)\)( \(nothing answers at dead: .*\))?$/);
    expect(message).not.toContain('model-02');
  }

  it('run: a short message on stderr and in --json; every model in details.excluded', { timeout: 90_000 }, async () => {
    const human = await scenario.cli(['run', 'hello', '--no-stream']);
    expect(human.exitCode).toBe(5);
    const [line, hint] = human.stderr.trimEnd().split('\n');
    expectSummary(line!.replace(/^error: /, ''));
    expect(hint).toMatch(/^hint: nothing answers at dead: start the engine/);

    const { result, document } = await scenario.json(['run', 'hello', '--no-stream']);
    expect(result.exitCode).toBe(5);
    const error = document['error'] as { code: string; message: string; details: { excluded: { provider: string; model: string; rules: string[] }[] } };
    expect(error.code).toBe('inference_unavailable');
    expectSummary(error.message);
    expect(error.details.excluded.map((exclusion) => `${exclusion.provider}:${exclusion.model}`)).toEqual(MODELS.map((id) => `dead:${id}`));
    expect(error.details.excluded.every((exclusion) => exclusion.rules.includes('unhealthy'))).toBe(true);
  });

  it('the gateway: a 503 whose message is short', { timeout: 90_000 }, async () => {
    const token = readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim();
    const failed = await new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: token, maxRetries: 0 }).chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: 'hello' }] })
      .then(() => undefined, (caught: unknown) => caught);
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
    expect((failed as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(503);
    expectSummary(((failed as InstanceType<typeof OpenAI.InternalServerError>).error as { message: string }).message);
  });
});

/**
 * Every candidate rate-limiting: `rate_limited` (exit 5, the gateway's 429) said every model with its
 * reason, whether each answered 429 in this walk (a `fallback.maxHops` of 5 or more) or the route
 * left it out for an earlier 429; past five it says them as a route refusal does.
 */
describe('every candidate rate-limiting, seven models', () => {
  const MODELS = Array.from({ length: 7 }, (_, index) => `limited-${String(index + 1).padStart(2, '0')}`);
  let scenario: Scenario;
  let hosted: FakeEngine;

  beforeAll(async () => {
    hosted = await startFakeEngine({ kind: 'openai', models: MODELS.map((id) => ({ id })) });
    // Every model answers 429, asking for a minute: each is held back that long once it said so.
    hosted.setFault({ status: 429, headers: { 'retry-after': '60' } });
    // Every model is tried in one walk (the default fallback.maxHops of 3 tries four).
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'], policyExtra: 'fallback:\n  maxHops: 10' });
    const models = MODELS.flatMap((id) => [`  - id: ${id}`, '    contextWindow: 128000', '    capabilityClass: large', '    price: { inputPerMTok: 1, outputPerMTok: 2 }']);
    writeFileSync(join(scenario.home, 'cloud.yaml'), record(['id: cloud', 'class: approved_hosted', 'wire: openai', `baseUrl: ${hosted.baseUrl}`, 'auth:', '  env: CLOUD_KEY', 'models:', ...models]));
    const registered = await scenario.cli(['provider', 'register', join(scenario.home, 'cloud.yaml')]);
    expect(registered.exitCode, registered.stderr).toBe(0);
  }, 90_000);

  afterAll(async () => {
    scenario?.cleanup();
    await hosted?.close();
  });

  it('run: each model answering 429, then each held back for it: a short message naming the first and counting the rest; every one in details', { timeout: 90_000 }, async () => {
    await scenario.releaseHolds();
    const tried = await scenario.json(['run', 'hello', '--no-stream'], { env: { CLOUD_KEY: 'sk-fake' } });
    expect(tried.result.exitCode, JSON.stringify(tried.document)).toBe(5);
    const triedError = tried.document['error'] as { code: string; message: string; hint: string; details: { attempts: { model: string; status: number }[] } };
    expect(triedError.code).toBe('rate_limited');
    expect(triedError.message).toMatch(/^every candidate is rate-limiting this request \(7 models rate-limited: cloud:limited-01: cloud answered HTTP 429: [^|]* \(and 6 more rate-limited by cloud\)\)$/);
    expect(triedError.message).not.toContain('limited-02');
    expect(triedError.hint).toBe('retry in 60 s');
    expect(triedError.details.attempts.map((attempt) => [attempt.model, attempt.status])).toEqual(MODELS.map((id) => [id, 429]));

    // Every model now held back for its 429: none is called, and the message is as short.
    const sent = inferenceExchanges(hosted).length;
    const human = await scenario.cli(['run', 'hello', '--no-stream'], { env: { CLOUD_KEY: 'sk-fake' } });
    expect(human.exitCode).toBe(5);
    const [line, hint] = human.stderr.trimEnd().split('\n');
    expect(line).toMatch(/^error: every candidate is rate-limiting this request \(7 models left out: cloud:limited-01: [^|]* \(and 6 more left out by rate_limited\)\)$/);
    expect(line).not.toContain('limited-02');
    expect(hint).toMatch(/^hint: retry in \d+ s$/);
    const { result, document } = await scenario.json(['run', 'hello', '--no-stream'], { env: { CLOUD_KEY: 'sk-fake' } });
    expect(result.exitCode).toBe(5);
    const error = document['error'] as { code: string; message: string; details: { excluded: { provider: string; model: string; rules: string[] }[] } };
    expect(error.code).toBe('rate_limited');
    expect(error.message.length).toBeLessThan(SHORT);
    expect(error.details.excluded.map((exclusion) => `${exclusion.provider}:${exclusion.model}`)).toEqual(MODELS.map((id) => `cloud:${id}`));
    expect(inferenceExchanges(hosted)).toHaveLength(sent);

    // `route` says what `run` says (the same line and hint), and lists every one with --explain.
    const routed = await scenario.cli(['route', '--explain', 'hello'], { env: { CLOUD_KEY: 'sk-fake' } });
    expect(routed.exitCode).toBe(5);
    const [routedLine, routedHint] = routed.stderr.trimEnd().split('\n');
    expect(routedLine).toMatch(/^error: every candidate is rate-limiting this request \(7 models left out: cloud:limited-01: [^|]* \(and 6 more left out by rate_limited\)\)$/);
    expect(routedHint).toMatch(/^hint: retry in \d+ s$/);
    for (const id of MODELS) expect(routed.stdout).toContain(`  - cloud:${id} (approved_hosted) — model ${id} rate-limited for another`);
  });
});
