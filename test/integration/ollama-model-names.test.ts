/**
 * Ollama reads a model name without a tag as `:latest`, and `provider add ollama` registers the
 * names it lists (`llama3.2:latest`): so `run`, `session start`, `permit issue` and `engine load`
 * take `ollama:llama3.2` for that model, as `ollama run llama3.2` does — and send the declared id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';

let ollama: FakeEngine;
let scenario: Scenario;

beforeAll(async () => {
  ollama = await startFakeEngine({ kind: 'ollama', models: [{ id: 'llama3.2:latest' }, { id: 'qwen2.5-coder:7b' }] });
  scenario = await Scenario.create();
  const added = await scenario.json(['provider', 'add', 'ollama', '--base-url', ollama.baseUrl]);
  expect(added.result.exitCode, added.result.stderr).toBe(0);
});

afterAll(async () => {
  scenario?.cleanup();
  await ollama?.close();
});

describe("Ollama's implied :latest", () => {
  it('run --model ollama:llama3.2 calls the declared llama3.2:latest', async () => {
    const before = inferenceExchanges(ollama).length;
    const ran = await scenario.json(['run', 'Name the capital of France.', '--model', 'ollama:llama3.2']);
    expect(ran.result.exitCode, ran.result.stderr).toBe(0);
    expect(ran.document).toMatchObject({ provider: { id: 'ollama' }, model: 'llama3.2:latest' });
    const sent = inferenceExchanges(ollama).slice(before);
    expect(sent.map((exchange) => (JSON.parse(exchange.requestBody.toString('utf8')) as { model: string }).model)).toEqual(['llama3.2:latest']);
  });

  it('session start, permit issue and engine load take the tagless name too; another tag is still unknown', async () => {
    const session = await scenario.json(['session', 'start', '--model', 'ollama:llama3.2']);
    expect(session.result.exitCode, session.result.stderr).toBe(0);
    expect(session.document.session).toMatchObject({ active: { kind: 'pinned', providerId: 'ollama', model: 'llama3.2:latest' } });

    const permit = await scenario.json(['permit', 'issue', '--provider', 'ollama', '--model', 'llama3.2']);
    expect(permit.result.exitCode, permit.result.stderr).toBe(0);
    expect(permit.document.permit).toMatchObject({ model: 'llama3.2:latest' });

    const loaded = await scenario.json(['engine', 'load', 'ollama:llama3.2']);
    expect(loaded.result.exitCode, loaded.result.stderr).toBe(0);

    const unknown = await scenario.json(['run', 'hi', '--model', 'ollama:llama3.2:1b']);
    expect(unknown.result.exitCode).toBe(2);
  });
});
