import { describe, expect, it } from 'vitest';
import { findCatalogEntry, loadCatalog } from '../../../src/catalog/catalog.js';
import { engineRoot } from '../../../src/common/engine-root.js';
import { capabilityFromParameters, parameterBillions } from '../../../src/catalog/discovery.js';
import { UsageError } from '../../../src/errors.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';

describe('catalog', () => {
  it('holds the five local engines and three hosted providers at their documented URLs', async () => {
    const entries = await loadCatalog();
    const byName = Object.fromEntries(entries.map((entry) => [entry.name, entry]));
    expect(Object.keys(byName).sort()).toEqual(['anthropic', 'glm', 'llama-swap', 'llama.cpp', 'lmstudio', 'ollama', 'openai', 'vllm']);
    expect(byName.ollama?.record.baseUrl).toBe('http://127.0.0.1:11434/v1');
    expect(byName['llama.cpp']?.record.baseUrl).toBe('http://127.0.0.1:8080/v1');
    expect(byName.lmstudio?.record.baseUrl).toBe('http://127.0.0.1:1234/v1');
    expect(byName.vllm?.record.baseUrl).toBe('http://127.0.0.1:8000/v1');
    // llama-swap listens on :8080 by default, as llama-server does: one of them is given --base-url.
    expect(byName['llama-swap']?.record.baseUrl).toBe('http://127.0.0.1:8080/v1');
    for (const name of ['ollama', 'llama.cpp', 'lmstudio', 'vllm', 'llama-swap']) {
      expect(byName[name]).toMatchObject({ local: true, engineKind: name });
      expect(byName[name]?.record.auth).toBeUndefined();
    }
    expect(byName.anthropic?.record).toMatchObject({ class: 'approved_hosted', wire: 'anthropic', baseUrl: 'https://api.anthropic.com', auth: { env: 'ANTHROPIC_API_KEY' } });
    expect(byName.openai?.record).toMatchObject({ class: 'approved_hosted', wire: 'openai', baseUrl: 'https://api.openai.com/v1', auth: { env: 'OPENAI_API_KEY' } });
    // OpenAI's and Anthropic's own APIs alone take their wire extensions natively (custom tools, structured outputs); GLM and the engines speak the common subset.
    expect(entries.filter((entry) => entry.record.vendor !== undefined).map((entry) => [entry.name, entry.record.vendor])).toEqual([
      ['anthropic', 'anthropic'],
      ['openai', 'openai'],
    ]);
    expect(byName.glm?.record).toMatchObject({ class: 'approved_hosted', wire: 'openai', baseUrl: 'https://open.bigmodel.cn/api/paas/v4', auth: { env: 'ZHIPUAI_API_KEY' } });
    for (const name of ['anthropic', 'openai', 'glm']) {
      for (const model of byName[name]?.record.models ?? []) expect(model.price, `${name} ${model.id}`).toBeDefined();
    }
  });

  it('the default policy prices savings at a model the catalog lists, at that model\'s list price', async () => {
    const { referenceModel, inputPerMTok, outputPerMTok } = defaultPolicy().savings;
    const [providerId, modelName] = referenceModel.split(':');
    const entries = await loadCatalog();
    const models = entries.find((entry) => entry.record.id === providerId)?.record.models ?? [];
    const model = models.find((candidate) => candidate.id === modelName || (candidate.aliases ?? []).includes(modelName ?? ''));
    expect(model, `${referenceModel} in providers/catalog/${providerId}.yaml`).toBeDefined();
    expect({ inputPerMTok, outputPerMTok }).toEqual({ inputPerMTok: model?.price?.inputPerMTok, outputPerMTok: model?.price?.outputPerMTok });
  });

  it('declares the vendors\' input-length tiers: GPT-6 over 272K input at 2x input and cache, 1.5x output; Haiku 5.5 over 100K at 5x; no other model', async () => {
    const entries = await loadCatalog();
    const scaled = (price: Record<string, unknown>, input: number, output: number) =>
      Object.fromEntries(Object.entries(price).filter(([key]) => key !== 'tiers').map(([key, rate]) => [key, Number(rate) * (key === 'outputPerMTok' ? output : input)]));
    const tiered: string[] = [];
    for (const entry of entries) {
      for (const model of entry.record.models) {
        const price = model.price;
        if (price?.tiers === undefined) continue;
        tiered.push(`${entry.name}:${model.id}`);
        expect(price.tiers, model.id).toHaveLength(1);
        const { aboveInputTokens, ...rates } = price.tiers[0]!;
        const [threshold, input, output] = entry.name === 'openai' ? [272_000, 2, 1.5] : [100_000, 5, 5];
        expect(aboveInputTokens, model.id).toBe(threshold);
        const expected = scaled(price as unknown as Record<string, unknown>, input, output);
        for (const [key, rate] of Object.entries(expected)) expect(rates[key as keyof typeof rates], `${model.id} ${key}`).toBeCloseTo(rate, 10);
        expect(Object.keys(rates).sort(), model.id).toEqual(Object.keys(expected).sort());
      }
    }
    expect(tiered).toEqual(['anthropic:claude-haiku-5-5', 'openai:gpt-6.2-astra', 'openai:gpt-6.2-sol', 'openai:gpt-6.1-terra', 'openai:gpt-6-luna']);
  });

  it('lists local engines first', async () => {
    const entries = await loadCatalog();
    const firstHosted = entries.findIndex((entry) => !entry.local);
    expect(entries.slice(firstHosted).every((entry) => !entry.local)).toBe(true);
  });

  it('an unknown name is a usage error listing the catalog', async () => {
    const error = await findCatalogEntry('tgi').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).hint).toContain('known names: llama-swap, llama.cpp, lmstudio, ollama, vllm, anthropic, glm, openai');
    expect((error as UsageError).message).toBe('"tgi" is not in the catalog');
  });

  it('a misspelt name is named as the entry it most likely means', async () => {
    // The example record is `llamacpp-local`; the catalog's entry is `llama.cpp`.
    const llamacpp = await findCatalogEntry('llamacpp').catch((caught: unknown) => caught);
    expect(llamacpp).toBeInstanceOf(UsageError);
    expect((llamacpp as UsageError).message).toBe('"llamacpp" is not in the catalog (did you mean "llama.cpp"?)');
    const olama = await findCatalogEntry('olama').catch((caught: unknown) => caught);
    expect((olama as UsageError).message).toBe('"olama" is not in the catalog (did you mean "ollama"?)');
  });
});

describe('discovery helpers', () => {
  it.each([
    ['3.2B', 3.2],
    ['70B', 70],
    ['500M', 0.5],
    ['llama3.2:3b', 3],
    ['Qwen/Qwen2.5-32B-Instruct', 32],
    ['qwen2.5-coder:latest', undefined],
    ['gpt-oss-20b', 20],
  ])('parameterBillions(%s) = %s', (text, billions) => {
    expect(parameterBillions(text)).toBe(billions);
  });

  it('maps parameter counts to capability classes', () => {
    expect([0.5, 9.9, 10, 39, 40, 405].map(capabilityFromParameters)).toEqual(['small', 'small', 'medium', 'medium', 'large', 'large']);
  });

  it('derives the engine root from an openai-wire baseUrl', () => {
    expect(engineRoot('http://127.0.0.1:11434/v1')).toBe('http://127.0.0.1:11434');
    expect(engineRoot('http://127.0.0.1:11434/v1/')).toBe('http://127.0.0.1:11434');
    expect(engineRoot('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
  });
});
