import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ollama, type ChatResponse } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTestModel } from '../../src/engines/test-model.js';
import { startLlamaServer, type StartedLlamaServer } from '../helpers/llama-server.js';
import { textOfJson, textOfStream } from '../helpers/openai-bytes.js';
import { Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

/**
 * The gateway's Ollama face driven by the official `ollama` npm client, as Open WebUI or Continue
 * would drive it, with a REAL llama.cpp `llama-server` behind it serving the generated test model.
 * What the client reads must be what the engine answered, as the evidence recorded it.
 */

describe("the Ollama face with the official ollama client, over llama.cpp's llama-server", () => {
  let scenario: Scenario;
  let engine: StartedLlamaServer | undefined;
  let serve: RunningServe | undefined;
  let client: Ollama;
  let modelName: string;

  beforeAll(async () => {
    scenario = await Scenario.create();
    const modelPath = join(scenario.home, 'test-model.gguf');
    await writeTestModel(modelPath);
    engine = await startLlamaServer(modelPath);
    const added = await scenario.cli(['provider', 'add', 'llama.cpp', '--base-url', `${engine.url}/v1`]);
    expect(added.exitCode, added.stderr).toBe(0);
    // Registered under its file name (llama-server names it by its -m path).
    modelName = 'llama.cpp:test-model';
    serve = await startServe(['--home', scenario.home, 'serve', '--port', '0'], {}, 120_000);
    const token = readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim();
    client = new Ollama({ host: serve.url, headers: { Authorization: `Bearer ${token}` } });
  });

  afterAll(async () => {
    if (serve !== undefined) {
      serve.server.kill('SIGTERM');
      await serve.server;
    }
    if (engine !== undefined) {
      engine.process.kill('SIGTERM');
      await engine.process;
    }
    scenario?.cleanup();
  });

  it('list and show name the engine\'s model, and `auto`, as Ollama tools read them', async () => {
    const { models } = await client.list();
    expect(models.map((model) => model.name)).toEqual(['auto:latest', modelName]);
    for (const model of models) {
      expect(model.model).toBe(model.name);
      expect(model.digest).toMatch(/^[0-9a-f]{64}$/);
      expect(typeof model.details.family).toBe('string');
    }
    const shown = await client.show({ model: modelName });
    expect(shown.capabilities).toContain('completion');
    // `provider add` found the engine's 2 048-token context (llama-server -c 2048).
    // llama-server reports no family (its /api/show has no general.architecture): unknown, as Ollama lists it, never the provider's id.
    expect(shown.details.family).toBe('');
    expect(shown.model_info).toMatchObject({ 'general.architecture': 'syndicate', 'syndicate.context_length': 2048 });
    // Where Continue reads the context window.
    expect(shown.parameters).toMatch(/^num_ctx\s+2048$/);
    await expect(client.show({ model: 'nowhere:nothing' })).rejects.toMatchObject({ name: 'ResponseError', status_code: 404 });
  });

  it('chat without streaming: the engine\'s answer and its exact counters, as the evidence recorded them', async () => {
    const startedAt = Date.now();
    const answer = await client.chat({ model: 'auto', messages: [{ role: 'user', content: 'Write a line about rivers.' }], stream: false, options: { num_predict: 8, temperature: 0 } });
    expect(answer).toMatchObject({ model: modelName, done: true, message: { role: 'assistant' } });
    expect(['stop', 'length']).toContain(answer.done_reason);
    expect(Date.parse(answer.created_at as unknown as string)).toBeGreaterThanOrEqual(startedAt - 1000);
    const { document } = await scenario.json(['evidence', 'list', '--limit', '1']);
    const evidenceId = (document.evidence as { id: string }[])[0]!.id;
    const evidence = await scenario.evidence(evidenceId);
    expect(evidence).toMatchObject({ caller: 'gateway', state: 'completed', streamed: false, tokenAccounting: 'exact', provider: { id: 'llama.cpp', class: 'local' } });
    expect(answer.message.content).toBe(textOfJson((await scenario.rawEvidence(evidenceId, 'response')).toString('utf8')));
    expect(answer.prompt_eval_count).toBe(evidence.inputTokens);
    expect(answer.eval_count).toBe(evidence.outputTokens);
    expect(answer.eval_count).toBeGreaterThan(0);
    expect(answer.eval_count).toBeLessThanOrEqual(8);
    expect(answer.total_duration).toBe(Math.round((evidence.totalMs as number) * 1e6));
    expect(answer.load_duration).toBe(0);
    expect(answer.prompt_eval_duration + answer.eval_duration).toBe(answer.total_duration);
  });

  it('chat streamed: NDJSON parts whose text is exactly what the engine streamed, then one done part with the counters', async () => {
    const parts: ChatResponse[] = [];
    for await (const part of await client.chat({ model: modelName, messages: [{ role: 'user', content: 'Write a line about mountains.' }], stream: true, options: { num_predict: 8 } })) {
      parts.push(part);
    }
    const last = parts.at(-1)!;
    expect(parts.slice(0, -1).every((part) => !part.done)).toBe(true);
    expect(last).toMatchObject({ done: true, model: modelName, message: { role: 'assistant', content: '' } });
    expect(['stop', 'length']).toContain(last.done_reason);
    const text = parts.map((part) => part.message.content).join('');
    expect(text.length).toBeGreaterThan(0);
    const { document } = await scenario.json(['evidence', 'list', '--limit', '1']);
    const evidenceId = (document.evidence as { id: string }[])[0]!.id;
    const evidence = await scenario.evidence(evidenceId);
    expect(evidence).toMatchObject({ state: 'completed', streamed: true, tokenAccounting: 'exact' });
    expect(text).toBe(textOfStream((await scenario.rawEvidence(evidenceId, 'response')).toString('utf8')));
    expect(last.prompt_eval_count).toBe(evidence.inputTokens);
    expect(last.eval_count).toBe(evidence.outputTokens);
    expect(last.eval_count).toBeGreaterThan(0);
    expect(last.eval_count).toBeLessThanOrEqual(8);
    // Durations measured from the upstream call, as for an answer that is not streamed: the time to
    // the first token is the prompt's evaluation, and the whole is at least the evidence's own.
    expect(last.prompt_eval_duration).toBeGreaterThanOrEqual(Math.floor((evidence.firstTokenMs as number) * 1e6));
    expect(last.total_duration).toBeGreaterThanOrEqual(Math.floor((evidence.totalMs as number) * 1e6) - 2e6);
    expect(last.prompt_eval_duration + last.eval_duration).toBe(last.total_duration);
  });

  it('generate, whole and streamed: the engine\'s text in `response`', async () => {
    const whole = await client.generate({ model: 'auto:latest', prompt: 'Rivers are', system: 'Be brief.', stream: false, options: { num_predict: 6 } });
    expect(whole).toMatchObject({ done: true, model: modelName });
    expect(whole.eval_count).toBeGreaterThan(0);
    const { document } = await scenario.json(['evidence', 'list', '--limit', '1']);
    const evidenceId = (document.evidence as { id: string }[])[0]!.id;
    expect(whole.response).toBe(textOfJson((await scenario.rawEvidence(evidenceId, 'response')).toString('utf8')));

    let streamed = '';
    let done = 0;
    for await (const part of await client.generate({ model: 'auto', prompt: 'Lakes are', stream: true, options: { num_predict: 6 } })) {
      streamed += part.response;
      if (part.done) done += 1;
    }
    expect(done).toBe(1);
    expect(streamed.length).toBeGreaterThan(0);
  });

  it('a refused request comes back as the client\'s ResponseError, and the evidence chain verifies', async () => {
    await expect(client.chat({ model: 'nowhere:nothing', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ name: 'ResponseError', status_code: 404 });
    const verify = await scenario.cli(['evidence', 'verify']);
    expect(verify.exitCode, verify.stderr + verify.stdout).toBe(0);
  });
});
