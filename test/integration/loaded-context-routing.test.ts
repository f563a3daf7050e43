/**
 * A local engine may hold a model with less context than the model takes: LM Studio loads it with
 * 4 096 tokens unless told (`lms load --context-length`, `loaded_context_length` in
 * `/api/v0/models` beside `max_context_length`), Ollama with num_ctx 4 096 (`context_length` in
 * `/api/ps`, whatever `/api/show` says the model was trained for). LM Studio refuses a longer prompt
 * (400 "The number of tokens to keep from the initial prompt is greater than the context length"),
 * Ollama answers it having cut off its start, saying so only in its own log. The router fits the
 * prompt to the context the engine loaded the model with, read where it reads what the engine
 * holds: a prompt over it goes to a model that fits, or is refused naming the loaded context and the fix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { Scenario } from '../helpers/scenario.js';

// About 11 000 tokens by the router's estimate: within every record's 32 768, over the 4 096 loaded.
const LONG_PROMPT = `Summarise these notes. ${'alpha beta gamma delta '.repeat(2500)}`;

let ollama: FakeEngine;
let lmStudio: FakeEngine;
let llama: FakeEngine;
let scenario: Scenario;

beforeAll(async () => {
  [ollama, lmStudio, llama] = await Promise.all([
    startFakeEngine({ kind: 'ollama', models: [{ id: 'llama3.2:latest', contextWindow: 32768 }] }),
    startFakeEngine({ kind: 'lmstudio', models: [{ id: 'qwen2.5-7b-instruct', contextWindow: 32768 }] }),
    startFakeEngine({ kind: 'llama.cpp', models: [{ id: 'qwen2.5-0.5b-instruct-q4_k_m.gguf', contextWindow: 32768 }] }),
  ]);
  scenario = await Scenario.create();
  await scenario.registerRecords({
    ollama: `id: ollama\nclass: local\nwire: openai\nbaseUrl: ${ollama.baseUrl}\nengine: { kind: ollama }\nmodels:\n  - { id: "llama3.2:latest", contextWindow: 32768, capabilityClass: large }`,
    studio: `id: studio\nclass: local\nwire: openai\nbaseUrl: ${lmStudio.baseUrl}\nengine: { kind: lmstudio }\nmodels:\n  - { id: qwen2.5-7b-instruct, contextWindow: 32768, capabilityClass: large }`,
    llama: `id: llama\nclass: local\nwire: openai\nbaseUrl: ${llama.baseUrl}\nengine: { kind: llama.cpp }\nmodels:\n  - { id: qwen2.5-0.5b-instruct-q4_k_m.gguf, contextWindow: 32768, capabilityClass: small }`,
  });
}, 90_000);

afterAll(async () => {
  scenario?.cleanup();
  await Promise.all([ollama?.close(), lmStudio?.close(), llama?.close()]);
});

interface Exclusion {
  provider: string;
  model: string;
  rules: string[];
  reasons: string[];
}

function chatRequests(engine: FakeEngine): number {
  return engine.exchanges.filter((exchange) => exchange.path === '/v1/chat/completions').length;
}

describe('routing by the context a local engine loaded its model with', () => {
  it('route: a prompt over the loaded context of LM Studio and Ollama goes to the model that fits, and --explain says which window was used', async () => {
    const { result, document } = await scenario.json(['route', '--explain', LONG_PROMPT]);
    expect(result.exitCode, result.stderr).toBe(0);
    const plan = document['plan'] as { candidates: { provider: string }[]; excluded: Exclusion[] };
    expect(plan.candidates.map((candidate) => candidate.provider)).toEqual(['llama']);
    const excluded = Object.fromEntries(plan.excluded.map((entry) => [entry.provider, entry]));
    expect(excluded['studio']?.rules).toEqual(['context_length']);
    expect(excluded['studio']?.reasons.join(' ')).toMatch(/context window 4096 < \d+ tokens .*LM Studio loaded it with \(loaded_context_length\); its record declares 32768\): .*lms load qwen2\.5-7b-instruct --context-length 32768/);
    expect(excluded['ollama']?.rules).toEqual(['context_length']);
    expect(excluded['ollama']?.reasons.join(' ')).toMatch(/context window 4096 < \d+ tokens .*Ollama loaded it with .*--num-ctx 32768.*OLLAMA_CONTEXT_LENGTH/);
  }, 90_000);

  it('run pinned to Ollama: refused with context_length_exceeded naming num_ctx, never sent to be cut short', async () => {
    const before = chatRequests(ollama);
    const { result, document } = await scenario.json(['run', '--no-stream', '--provider', 'ollama', LONG_PROMPT]);
    const error = (document as { error?: { code: string; message: string } }).error;
    expect(result.exitCode, result.stdout).toBe(4);
    expect(error?.code).toBe('context_length_exceeded');
    expect(error?.message).toMatch(/context window 4096 .*--num-ctx 32768/);
    expect(chatRequests(ollama)).toBe(before);
    expect(ollama.serverLog.filter((line) => line.includes('truncating input prompt'))).toEqual([]);
  }, 90_000);

  it('run pinned to LM Studio: refused by syndicate naming `lms load --context-length`, not by LM Studio', async () => {
    const before = chatRequests(lmStudio);
    const { result, document } = await scenario.json(['run', '--no-stream', '--provider', 'studio', LONG_PROMPT]);
    const error = (document as { error?: { code: string; message: string } }).error;
    expect(result.exitCode, result.stdout).toBe(4);
    expect(error?.code).toBe('context_length_exceeded');
    expect(error?.message).toContain('lms load qwen2.5-7b-instruct --context-length 32768');
    expect(chatRequests(lmStudio)).toBe(before);
  }, 90_000);

  it('a prompt within the loaded context still goes to Ollama, the explanation naming the window it was fitted to', async () => {
    const result = await scenario.cli(['route', '--explain', '--provider', 'ollama', 'Name the capital of France.']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('context window 4096: the context Ollama loaded it with (/api/ps context_length, num_ctx), not the 32768 its record declares');
  }, 90_000);
});
