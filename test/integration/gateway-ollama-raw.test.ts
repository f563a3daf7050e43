/**
 * Raw text completions to an Ollama engine, as code-completion clients (Continue, Twinny,
 * llm.vscode, llm.nvim) send them: `POST /api/generate` with `raw: true` and a FIM prompt they built
 * themselves, or the official `openai` client's `completions.create` without a suffix, through a
 * real `syndicate serve` after `provider add ollama`. Ollama's `/v1/completions` renders such a
 * prompt through the model's chat template (ollama/ollama#5544, #12636; the fake does the same and
 * logs the prompt the model was handed, as Ollama does with OLLAMA_DEBUG), so syndicate sends it to
 * Ollama's native `/api/generate` with `raw: true`; with a suffix it keeps `/v1/completions`, where
 * Ollama fills in the middle with the model's own FIM template.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ollama, type GenerateResponse } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { countTokens } from '../helpers/fake-engines/model-behaviour.js';
import { renderOllamaTemplate } from '../helpers/fake-engines/text-completions.js';
import { ndjsonLines } from '../helpers/ndjson.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

const CODER = 'qwen2.5-coder:7b';
const CHAT = 'llama3.2:latest';
const FIM_PROMPT = '<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n\nprint(add(1, 2))\n<|fim_middle|>';
const PREFIX = 'def add(a, b):\n    ';
const SUFFIX = '\n\nprint(add(1, 2))\n';

interface EncodedBytes {
  encoding: string;
  data: string;
}

interface ShownEvidence {
  state: string;
  streamed: boolean;
  model: string;
  tokenAccounting: string;
  inputTokens?: number;
  outputTokens?: number;
  request: { url: string; body: EncodedBytes };
  response: { status: number; headers: Record<string, string>; body: EncodedBytes; chunks: unknown[] };
}

let home: string;
let cleanup: (() => void) | undefined;
let serve: RunningServe | undefined;
let engine: FakeEngine;
let token: string;

beforeAll(async () => {
  ({ home, cleanup } = makeTempHome('syndicate-ollama-raw-'));
  engine = await startFakeEngine({ kind: 'ollama', models: [{ id: CODER, fillInMiddle: true }, { id: CHAT }] });
  expect((await runCli(['init'], { home })).exitCode).toBe(0);
  const added = await runCli(['provider', 'add', 'ollama', '--base-url', engine.baseUrl], { home });
  expect(added.exitCode, added.stderr).toBe(0);
  serve = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: home });
  token = readFileSync(join(home, 'gateway.token'), 'utf8').trim();
}, 90_000);

afterAll(async () => {
  serve?.server.kill('SIGTERM');
  await serve?.server;
  await engine?.close();
  cleanup?.();
});

const ollamaClient = (): Ollama => new Ollama({ host: serve!.url, headers: { Authorization: `Bearer ${token}` } });
const openAIClient = (): OpenAI => new OpenAI({ baseURL: `${serve!.url}/v1`, apiKey: token, maxRetries: 0 });

/** The evidence of one answer, once the gateway has finished writing it (`evidence show --json`). */
async function shownEvidence(id: string): Promise<ShownEvidence> {
  for (;;) {
    const shown = await runCli(['evidence', 'show', id, '--json'], { home });
    expect(shown.exitCode, shown.stderr).toBe(0);
    const evidence = (parseJsonDocument(shown.stdout) as { evidence: ShownEvidence }).evidence;
    if (evidence.state !== 'pending') return evidence;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What the fake Ollama logged last as the prompt its model was handed. */
function lastPromptHandedToTheModel(): string {
  const line = engine.serverLog.filter((entry) => entry.includes('msg="generate handler"')).at(-1) ?? '';
  return JSON.parse(line.slice(line.indexOf('prompt=') + 'prompt='.length)) as string;
}

function newExchanges(before: number): FakeEngine['exchanges'] {
  return inferenceExchanges(engine).slice(before);
}

describe('POST /api/generate with raw: true (a FIM prompt the client built)', () => {
  it('reaches the model verbatim through Ollama’s native /api/generate, not templated; usage and bytes exact in evidence', async () => {
    const before = inferenceExchanges(engine).length;
    const response = await fetch(`${serve!.url}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ model: `ollama:${CODER}`, prompt: FIM_PROMPT, raw: true, stream: false, keep_alive: '10m', options: { num_predict: 48, temperature: 0, top_p: 0.9, seed: 3, stop: ['<|endoftext|>'] } }),
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as GenerateResponse;
    expect(answer).toMatchObject({ model: `ollama:${CODER}`, response: DEFAULT_ANSWER, done: true, done_reason: 'stop' });
    expect(answer.prompt_eval_count).toBe(countTokens(FIM_PROMPT));

    const exchanges = newExchanges(before);
    expect(exchanges.map((exchange) => exchange.path)).toEqual(['/api/generate']);
    const exchange = exchanges[0]!;
    expect(exchange.requestBody.toString('utf8')).toBe(
      JSON.stringify({ model: CODER, prompt: FIM_PROMPT, raw: true, stream: false, options: { num_predict: 48, temperature: 0, top_p: 0.9, seed: 3, stop: ['<|endoftext|>'] } }),
    );
    expect(lastPromptHandedToTheModel()).toBe(FIM_PROMPT);

    const evidence = await shownEvidence(response.headers.get('x-syndicate-evidence') ?? '');
    expect(evidence).toMatchObject({ state: 'completed', streamed: false, model: CODER, tokenAccounting: 'exact', inputTokens: countTokens(FIM_PROMPT) });
    expect(evidence.request.url).toBe(`${engine.url}/api/generate`);
    expect(evidence.request.body.data).toBe(exchange.requestBody.toString('utf8'));
    expect(evidence.response.body.data).toBe(exchange.responseBody.toString('utf8'));
    expect(evidence.response.body.data).toContain('"done_reason":"stop"');
  }, 90_000);

  it('streams: the engine answers NDJSON, evidence keeps its lines with their timings, the ollama client gets the answer', async () => {
    const before = inferenceExchanges(engine).length;
    const stream = await ollamaClient().generate({ model: `ollama:${CODER}`, prompt: FIM_PROMPT, raw: true, stream: true, options: { num_predict: 48 } });
    const chunks: GenerateResponse[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.response).join('')).toBe(DEFAULT_ANSWER);
    const final = chunks.at(-1)!;
    expect(final).toMatchObject({ done: true, done_reason: 'stop', prompt_eval_count: countTokens(FIM_PROMPT) });

    const exchange = newExchanges(before)[0]!;
    expect(exchange.path).toBe('/api/generate');
    expect(exchange.requestBody.toString('utf8')).toBe(JSON.stringify({ model: CODER, prompt: FIM_PROMPT, raw: true, stream: true, options: { num_predict: 48 } }));
    expect(exchange.responseHeaders['content-type'] ?? exchange.responseHeaders['Content-Type']).toBe('application/x-ndjson');
    expect(lastPromptHandedToTheModel()).toBe(FIM_PROMPT);
    const upstreamLines = ndjsonLines(exchange.responseBody.toString('utf8'));
    expect(upstreamLines.at(-1)).toMatchObject({ done: true, done_reason: 'stop', eval_count: final.eval_count });

    const evidenceIds = await runCli(['evidence', 'list', '--json', '--limit', '1'], { home });
    const id = (parseJsonDocument(evidenceIds.stdout) as { evidence: { id: string }[] }).evidence[0]!.id;
    const evidence = await shownEvidence(id);
    expect(evidence).toMatchObject({ state: 'completed', streamed: true, tokenAccounting: 'exact', inputTokens: final.prompt_eval_count, outputTokens: final.eval_count });
    expect(evidence.request.url).toBe(`${engine.url}/api/generate`);
    expect(evidence.response.body.data).toBe(exchange.responseBody.toString('utf8'));
    expect(evidence.response.chunks.length).toBe(upstreamLines.length);
  }, 90_000);
});

describe('completions.create from the official openai client to an Ollama provider', () => {
  it('without a suffix: Ollama’s native /api/generate, raw; the answer as a text_completion with exact usage', async () => {
    const before = inferenceExchanges(engine).length;
    const { data: completion, response } = await openAIClient().completions.create({ model: `ollama:${CHAT}`, prompt: FIM_PROMPT, max_tokens: 40 }).withResponse();
    expect(completion.choices[0]).toMatchObject({ text: DEFAULT_ANSWER, finish_reason: 'stop' });
    expect(completion.usage?.prompt_tokens).toBe(countTokens(FIM_PROMPT));
    const exchange = newExchanges(before)[0]!;
    expect(exchange.path).toBe('/api/generate');
    expect(exchange.requestBody.toString('utf8')).toBe(JSON.stringify({ model: CHAT, prompt: FIM_PROMPT, raw: true, stream: false, options: { num_predict: 40 } }));
    expect(lastPromptHandedToTheModel()).toBe(FIM_PROMPT);
    const evidence = await shownEvidence(response.headers.get('x-syndicate-evidence') ?? '');
    expect(evidence).toMatchObject({ state: 'completed', tokenAccounting: 'exact', inputTokens: completion.usage?.prompt_tokens, outputTokens: completion.usage?.completion_tokens });
  }, 90_000);

  it('without a suffix, streamed: text_completion chunks from the NDJSON lines, the finish and the usage', async () => {
    const before = inferenceExchanges(engine).length;
    const stream = await openAIClient().completions.create({ model: `ollama:${CHAT}`, prompt: FIM_PROMPT, stream: true, stream_options: { include_usage: true } });
    let text = '';
    const chunks: OpenAI.Completions.Completion[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.text ?? '';
    }
    expect(text).toBe(DEFAULT_ANSWER);
    expect(chunks.some((chunk) => chunk.choices[0]?.finish_reason === 'stop')).toBe(true);
    expect(chunks.at(-1)?.usage?.prompt_tokens).toBe(countTokens(FIM_PROMPT));
    const exchange = newExchanges(before)[0]!;
    expect(exchange.path).toBe('/api/generate');
    expect(JSON.parse(exchange.requestBody.toString('utf8'))).toEqual({ model: CHAT, prompt: FIM_PROMPT, raw: true, stream: true });
    expect(lastPromptHandedToTheModel()).toBe(FIM_PROMPT);
  }, 90_000);

  it('with a suffix: still /v1/completions, where Ollama fills in the middle with the model’s own template', async () => {
    const before = inferenceExchanges(engine).length;
    const completion = await openAIClient().completions.create({ model: `ollama:${CODER}`, prompt: PREFIX, suffix: SUFFIX, max_tokens: 40 });
    expect(completion.choices[0]?.text).toBe(DEFAULT_ANSWER);
    const exchange = newExchanges(before)[0]!;
    expect(exchange.path).toBe('/v1/completions');
    expect(JSON.parse(exchange.requestBody.toString('utf8'))).toEqual({ model: CODER, prompt: PREFIX, suffix: SUFFIX, max_tokens: 40 });
    expect(lastPromptHandedToTheModel()).toBe(renderOllamaTemplate(PREFIX, SUFFIX));
  }, 90_000);
});

describe('route for a raw text completion', () => {
  it('plans the same whichever endpoint the request will reach: route --request and --explain', async () => {
    const body = join(home, 'raw-generate.json');
    writeFileSync(body, JSON.stringify({ model: 'auto', prompt: FIM_PROMPT, raw: true, options: { num_predict: 32 } }));
    const [routed, explained] = await Promise.all([runCli(['route', '--json', '--request', body], { home }), runCli(['route', '--explain', '--request', body], { home })]);
    expect(routed.exitCode, routed.stderr).toBe(0);
    const plan = (parseJsonDocument(routed.stdout) as { plan: { candidates: { provider: string; model: string }[] } }).plan;
    // Both models are tagged completions (which is warm decides their order).
    expect(plan.candidates.map((candidate) => `${candidate.provider}:${candidate.model}`).sort()).toEqual([`ollama:${CHAT}`, `ollama:${CODER}`]);
    expect(explained.exitCode, explained.stderr).toBe(0);
    expect(explained.stdout).toContain('text completion request: only openai-wire models tagged completions\n');
    expect(explained.stdout).toMatch(new RegExp(`1\\. ollama:(${CHAT}|${CODER}) \\(local, v1\\)`));
    expect(explained.stdout).toMatch(new RegExp(`2\\. ollama:(${CHAT}|${CODER}) \\(local, v1\\)`));
  }, 90_000);
});
