/**
 * LM Studio's embeddings path through the built CLI: `provider add lmstudio` registers its
 * embedding model (`type: "embeddings"` in /api/v0/models) with `kind: embedding`, and `embed`
 * calls its `/v1/embeddings`, which counts every input as 0 tokens
 * (lmstudio-ai/lmstudio-bug-tracker#1546) — so the tokens are counted here instead, and the
 * evidence says they are approximate, not an exact 0.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { fakeVector } from '../helpers/fake-engines/embeddings.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';

const CHAT_MODEL = 'qwen2.5-7b-instruct';
const EMBED_MODEL = 'text-embedding-nomic-embed-text-v1.5';
const TEXT = 'The scheduler now retries failed jobs with exponential backoff.';

let lmstudio: FakeEngine;
let scenario: Scenario;

beforeAll(async () => {
  lmstudio = await startFakeEngine({
    kind: 'lmstudio',
    models: [
      { id: CHAT_MODEL, contextWindow: 32768 },
      { id: EMBED_MODEL, contextWindow: 2048, embedding: true, dimensions: 8 },
    ],
  });
  scenario = await Scenario.create();
});

afterAll(async () => {
  scenario?.cleanup();
  await lmstudio?.close();
});

/** `provider add lmstudio` in the scenario's home, exit 0 asserted. */
async function addLmStudio(into: Scenario): ReturnType<Scenario['json']> {
  const added = await into.json(['provider', 'add', 'lmstudio', '--base-url', lmstudio.baseUrl]);
  expect(added.result.exitCode, added.result.stderr).toBe(0);
  return added;
}

describe('LM Studio embeddings', () => {
  it('provider add lmstudio registers the embeddings model as kind embedding and the chat model as chat', async () => {
    const added = await addLmStudio(scenario);
    const models = (added.document.record as { models: { id: string; kind?: string; contextWindow: number }[] }).models;
    expect(models.map((model) => [model.id, model.kind ?? 'chat', model.contextWindow])).toEqual([
      [CHAT_MODEL, 'chat', 32768],
      [EMBED_MODEL, 'embedding', 2048],
    ]);
    expect((added.document.discovery as { notes: string[] }).notes).toContain(`${EMBED_MODEL}: an embeddings model: registered with kind embedding`);
  });

  it('embed: the vector LM Studio made; its 0-token usage is replaced by a local count marked approximate', async () => {
    // A home of its own, added as the other test adds it: that test may run after this one.
    const ownScenario = await Scenario.create();
    onTestFinished(() => ownScenario.cleanup());
    await addLmStudio(ownScenario);
    const before = inferenceExchanges(lmstudio).length;
    const embedded = await ownScenario.json(['embed', TEXT]);
    expect(embedded.result.exitCode, embedded.result.stderr).toBe(0);
    expect(embedded.document).toMatchObject({ ok: true, provider: { id: 'lmstudio' }, model: EMBED_MODEL });
    expect((embedded.document.embeddings as number[][]).map((vector) => vector.map((value) => Math.fround(value)))).toEqual([fakeVector(EMBED_MODEL, TEXT, 8)]);

    const sent = inferenceExchanges(lmstudio).slice(before);
    expect(sent.map((exchange) => exchange.path)).toEqual(['/v1/embeddings']);
    expect(JSON.parse(sent[0]!.responseBody.toString('utf8'))).toMatchObject({ usage: { prompt_tokens: 0, total_tokens: 0 } });

    const evidence = await ownScenario.evidence(embedded.document.evidenceId as string);
    expect(evidence).toMatchObject({ tokenAccounting: 'approximate', outputTokens: 0 });
    expect((evidence as { inputTokens: number }).inputTokens).toBeGreaterThan(5);
  });
});
