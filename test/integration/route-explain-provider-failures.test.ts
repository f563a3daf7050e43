/**
 * `route --explain` says which calls `run` makes when they fail. A failure that counts against a
 * whole provider (a 5xx naming no model, nothing answering: what a local engine's failures are)
 * moves that provider's other models behind the other providers, so the walk is not the rank
 * order: the explanation gives that walk too, and `run` makes exactly those calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { Scenario } from '../helpers/scenario.js';

describe('route --explain gives the walk after provider-wide failures, and run walks it', () => {
  let scenario: Scenario;
  let ollama: FakeEngine;
  let vllm: FakeEngine;

  beforeAll(async () => {
    [ollama, vllm] = await Promise.all([startFakeEngine({ kind: 'ollama' }), startFakeEngine({ kind: 'vllm' })]);
    scenario = await Scenario.create();
    // No engine kinds and no history: every candidate ties, so they rank by provider id, then model id.
    await scenario.registerRecords({
      'engine-a': [
        'id: engine-a',
        'class: local',
        'wire: openai',
        `baseUrl: ${ollama.baseUrl}`,
        'models:',
        '  - { id: "llama3.2:latest", contextWindow: 32768, capabilityClass: small }',
        '  - { id: "qwen2.5-coder:7b", contextWindow: 32768, capabilityClass: small }',
      ].join('\n'),
      'engine-b': ['id: engine-b', 'class: local', 'wire: openai', `baseUrl: ${vllm.baseUrl}`, 'models:', '  - { id: "Qwen/Qwen2.5-1.5B-Instruct", contextWindow: 32768, capabilityClass: small }'].join('\n'),
    });
  }, 90_000);

  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([ollama?.close(), vllm?.close()]);
  });

  it('names the calls after each provider fails whole; run with every engine answering 500 makes those calls in that order', async () => {
    const explained = await scenario.cli(['route', '--explain', '--sensitivity', 'confidential', 'hello there']);
    expect(explained.exitCode, explained.stderr).toBe(0);
    const ranks = explained.stdout.split('\n').filter((line) => /^ {2}\d\. /.test(line));
    expect(ranks.map((line) => line.split(' ')[3])).toEqual(['engine-a:llama3.2:latest', 'engine-a:qwen2.5-coder:7b', 'engine-b:Qwen/Qwen2.5-1.5B-Instruct']);
    const walkLine = explained.stdout.split('\n').find((line) => line.startsWith('calls if each fails for its whole provider'));
    expect(walkLine).toContain(': engine-a:llama3.2:latest, then on failure engine-b:Qwen/Qwen2.5-1.5B-Instruct, engine-a:qwen2.5-coder:7b');

    ollama.setFault({ status: 500 });
    vllm.setFault({ status: 500 });
    const { result, document } = await scenario.json(['run', '--sensitivity', 'confidential', 'hello there']);
    expect(result.exitCode, result.stderr).toBe(5);
    const attempts = ((document.error as { details: { attempts: { provider: { id: string }; model: string }[] } }).details.attempts).map((attempt) => `${attempt.provider.id}:${attempt.model}`);
    expect(attempts).toEqual(['engine-a:llama3.2:latest', 'engine-b:Qwen/Qwen2.5-1.5B-Instruct', 'engine-a:qwen2.5-coder:7b']);
  });
});
