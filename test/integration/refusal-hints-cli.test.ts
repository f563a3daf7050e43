/**
 * Refusal hints an operator acts on, through the built CLI over fake engines: each names what
 * exists on this host and a command that works as typed — for a request a permit pins, with local
 * models that cannot take restricted data, for a model nothing serves — and a prompt too long for
 * the engine exits as the router's own refusal of it does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { VLLM_CONTEXT_LENGTH_REFUSAL } from '../helpers/openai-bytes.js';
import { defaultModel, inferenceExchanges, Scenario } from '../helpers/scenario.js';

/** A connection string with its password: restricted, so only a local engine may take it. */
const SECRET_PROMPT = 'Why does postgres://app:S3cr3t-Pa55w0rd@db.internal:5432/orders refuse connections?';
const HOSTED_KEY = { CLAUDE_TEST_KEY: 'test-key-not-a-secret' };

interface ErrorDocument {
  code: string;
  message: string;
  hint?: string;
  details?: Record<string, unknown>;
}

describe('refusal hints through the CLI', () => {
  let scenario: Scenario;
  let llama: FakeEngine;
  let claude: FakeEngine;

  beforeAll(async () => {
    [llama, claude] = await Promise.all([startFakeEngine({ kind: 'llama.cpp' }), startFakeEngine({ kind: 'anthropic' })]);
    scenario = await Scenario.create();
    await scenario.register({ id: 'llama', engine: llama }, { id: 'claude', engine: claude, class: 'approved_hosted', authEnv: 'CLAUDE_TEST_KEY' });
  });
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([llama?.close(), claude?.close()]);
  });

  async function failing(args: string[]): Promise<{ exitCode: number; error: ErrorDocument }> {
    const { result, document } = await scenario.json(args, { env: HOSTED_KEY });
    return { exitCode: result.exitCode, error: document.error as ErrorDocument };
  }

  it('a restricted prompt pinned by a permit for a hosted model: the hint gives the exact command that issues a permit for the local model, and that permit works', async () => {
    // `permit issue` refuses a restricted permit for a hosted class (no use of it could pass): this one covers public data.
    const issued = await scenario.cli(['permit', 'issue', '--provider', 'claude', '--model', defaultModel(claude), '--sensitivity', 'public']);
    expect(issued.exitCode, issued.stderr).toBe(0);
    const { exitCode, error } = await failing(['run', SECRET_PROMPT, '--no-stream', '--permit', issued.stdout.trim()]);
    expect(exitCode).toBe(4);
    expect(error.code).toBe('route_denied');
    // The permit covers claude alone: llama is no model to "name instead" with it.
    expect(error.hint).not.toContain('name it instead');
    expect(error.hint).toContain(`llama may take it, but the permit covers only claude:${defaultModel(claude)}`);
    const command = /`(syndicate permit issue [^`]+)`/.exec(error.hint ?? '')?.[1];
    expect(command).toBe(`syndicate permit issue --provider llama --model ${defaultModel(llama)} --sensitivity restricted`);
    const [, ...permitArgs] = (command ?? '').split(' ');
    const reissued = await scenario.cli(permitArgs);
    expect(reissued.exitCode, reissued.stderr).toBe(0);
    const answered = await scenario.json(['run', SECRET_PROMPT, '--no-stream', '--permit', reissued.stdout.trim()], { env: HOSTED_KEY });
    expect(answered.result.exitCode, answered.result.stderr).toBe(0);
    expect(answered.document.answer).toBe(DEFAULT_ANSWER);
    expect(inferenceExchanges(claude)).toHaveLength(0);
  });

  it('a model nothing serves: `run` and `route` point at `syndicate provider list` and --model, not at the gateway', async () => {
    for (const command of [['run', 'hello', '--no-stream'], ['route', 'hello']]) {
      const { exitCode, error } = await failing([...command, '--model', 'nope']);
      expect(exitCode).toBe(2);
      expect(error.code).toBe('model_not_found');
      expect(error.hint).toBe(
        `name no model (\`--model auto\`, the default) to let the policy choose, or one of: claude:${defaultModel(claude)}, llama:${defaultModel(llama)}; \`syndicate provider list\` lists them`,
      );
    }
  });

  it('a prompt the engine refuses as too long exits 4 with context_length_exceeded, as one too long for every window does', async () => {
    const refusal = VLLM_CONTEXT_LENGTH_REFUSAL;
    llama.setFault({ status: 400, body: refusal }, 1);
    const byEngine = await failing(['run', 'What is the capital of France?', '--no-stream', '--provider', 'llama']);
    expect(byEngine.error.code).toBe('context_length_exceeded');
    expect(byEngine.error.hint).toContain('shorten or compact the conversation');
    expect(byEngine.exitCode).toBe(4);
    // ~40 000 tokens: no 32 768-token window holds it.
    const { result, document } = await scenario.json(['run', '-', '--no-stream', '--provider', 'llama'], { input: 'What is the capital of France? '.repeat(5000) });
    expect((document.error as ErrorDocument).code).toBe('context_length_exceeded');
    expect(result.exitCode).toBe(byEngine.exitCode);
  });
});

describe('where only this host may take the data', () => {
  let scenario: Scenario;
  let ollama: FakeEngine;
  let gone: FakeEngine;
  let claude: FakeEngine;

  beforeAll(async () => {
    [ollama, gone, claude] = await Promise.all([startFakeEngine({ kind: 'ollama' }), startFakeEngine({ kind: 'ollama' }), startFakeEngine({ kind: 'anthropic' })]);
    scenario = await Scenario.create();
    await scenario.register({ id: 'claude', engine: claude, class: 'approved_hosted', authEnv: 'CLAUDE_TEST_KEY' });
  });
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([ollama?.close(), gone?.close(), claude?.close()]);
  });

  const refusedHint = async (): Promise<string> => {
    const { result, document } = await scenario.json(['run', SECRET_PROMPT, '--no-stream'], { env: HOSTED_KEY });
    expect(result.exitCode, result.stderr).toBe(4);
    return (document.error as ErrorDocument).hint ?? '';
  };

  it('says to register a local provider only while none is registered; then names each local model and why it was left out', async () => {
    expect(await refusedHint()).toMatch(/^data this sensitive stays on this host: register a local provider \(`syndicate provider add ollama`/);

    await scenario.register({ id: 'embedder', engine: ollama, model: 'nomic-embed-text:latest', kind: 'embedding' }, { id: 'gone', engine: gone });
    const removed = await scenario.cli(['provider', 'remove', 'gone']);
    expect(removed.exitCode, removed.stderr).toBe(0);
    const hint = await refusedHint();
    expect(hint).not.toContain('register a local provider');
    expect(hint).toMatch(
      /^data this sensitive stays on this host, and no local model registered may take it: embedder:nomic-embed-text:latest \(an embedding model \(kind: embedding\): it answers embeddings requests only\), gone:llama3\.2:latest \(provider retired at [^)]+\); /,
    );
    expect(inferenceExchanges(claude)).toHaveLength(0);
  });
});
