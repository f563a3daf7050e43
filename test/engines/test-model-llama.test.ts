import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { encode } from 'gpt-tokenizer/encoding/cl100k_base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeTestModel, type TestModelSummary } from '../../src/engines/test-model.js';

/**
 * The generated test model in a real llama.cpp: node-llama-cpp from `$SYNDICATE_ENGINE_DIR`
 * (the real-engine suite's global setup installs it and sets the variable):
 *
 *   npm run test:engines -- test/engines/test-model-llama.test.ts
 */
const engineDirectory = process.env['SYNDICATE_ENGINE_DIR'];

/** The part of node-llama-cpp's API this test uses. */
interface LlamaModule {
  getLlama(options: { build: 'never'; gpu: false; logLevel: 'error' }): Promise<Llama>;
  LlamaChatSession: new (options: { contextSequence: LlamaContextSequence }) => LlamaChatSession;
}
interface Llama {
  loadModel(options: { modelPath: string }): Promise<LlamaModel>;
  dispose(): Promise<void>;
}
interface LlamaModel {
  tokenize(text: string): readonly number[];
  readonly tokens: { readonly eos: number | null };
  createContext(options: { contextSize: number; threads: number }): Promise<LlamaContext>;
  dispose(): Promise<void>;
}
interface LlamaContext {
  getSequence(): LlamaContextSequence;
  dispose(): Promise<void>;
}
interface LlamaContextSequence {
  dispose(): void;
}
interface LlamaChatSession {
  promptWithMeta(
    prompt: string,
    options: { temperature: number; seed?: number; maxTokens: number; onToken: (tokens: readonly number[]) => void },
  ): Promise<{ responseText: string; stopReason: string }>;
  dispose(): void;
}

/** Everyday English whose cl100k_base tokens are all among the model's first 8187 ids. */
const ENGLISH = 'The first time we were in the city, it was not good: we had no money and all of our work was done. He said he would be back in one day.';
const PROMPTS = ['hello there', 'What is the capital of France?', 'Write a short poem about the sea.', 'My phone number is 555-0100, call me back.'];

describe('generated test model in node-llama-cpp', () => {
  const directory = mkdtempSync(join(tmpdir(), 'syndicate-test-model-'));
  let llamaCpp: LlamaModule;
  let llama: Llama;

  beforeAll(async () => {
    expect(engineDirectory, 'SYNDICATE_ENGINE_DIR is set by the global setup').toBeTruthy();
    const entry = join(engineDirectory!, 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
    llamaCpp = (await import(pathToFileURL(entry).href)) as LlamaModule;
    llama = await llamaCpp.getLlama({ build: 'never', gpu: false, logLevel: 'error' });
  }, 120_000);

  afterAll(async () => {
    await llama?.dispose();
    rmSync(directory, { recursive: true, force: true });
  });

  async function load(seed: number): Promise<{ summary: TestModelSummary; model: LlamaModel; loadMilliseconds: number }> {
    const summary = await writeTestModel(join(directory, `seed-${seed}.gguf`), { seed });
    const started = performance.now();
    const model = await llama.loadModel({ modelPath: summary.path });
    return { summary, model, loadMilliseconds: performance.now() - started };
  }

  it('loads fast and tokenises English to the same ids as cl100k_base', async () => {
    const { summary, model, loadMilliseconds } = await load(1234);
    try {
      expect(loadMilliseconds).toBeLessThan(10_000);
      expect(model.tokens.eos).toBe(summary.specialTokens.eos);
      const expected = encode(ENGLISH);
      expect(Math.max(...expected)).toBeLessThan(summary.cl100kTokenCount);
      expect(Array.from(model.tokenize(ENGLISH))).toEqual(expected);
      // A word cl100k has as one token beyond the cut is split into kept tokens instead.
      const brown = encode(' brown');
      expect(brown).toEqual([14198]);
      const split = Array.from(model.tokenize(' brown'));
      expect(split.length).toBeGreaterThan(1);
      expect(split.every((id) => id < summary.cl100kTokenCount)).toBe(true);
    } finally {
      await model.dispose();
    }
  });

  for (const seed of [1234, 7]) {
    it(`seed ${seed}: greedy and sampled replies end on <|im_end|>, not on max tokens`, async () => {
      const { model } = await load(seed);
      const context = await model.createContext({ contextSize: 2048, threads: 1 });
      try {
        for (const [index, prompt] of PROMPTS.entries()) {
          for (const temperature of [0, 0.8]) {
            const sequence = context.getSequence();
            const session = new llamaCpp.LlamaChatSession({ contextSequence: sequence });
            let generated = 0;
            const reply = await session.promptWithMeta(prompt, {
              temperature,
              seed: index,
              maxTokens: 200,
              onToken: (tokens) => {
                generated += tokens.length;
              },
            });
            session.dispose();
            sequence.dispose();
            const label = `${prompt} @ temperature ${temperature}: ${JSON.stringify(reply.responseText)}`;
            expect(reply.stopReason, label).toBe('eogToken');
            expect(generated, label).toBeGreaterThan(0);
            expect(generated, label).toBeLessThanOrEqual(30);
            expect(reply.responseText.trim().length, label).toBeGreaterThan(0);
            expect(reply.responseText, label).toMatch(/^[\x20-\x7e]+$/);
          }
        }
      } finally {
        await context.dispose();
        await model.dispose();
      }
    });
  }
});
