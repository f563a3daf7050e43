import { existsSync } from 'node:fs';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayOverLlamaServer, type LlamaServerGateway } from '../helpers/llama-server.js';
import type { Scenario } from '../helpers/scenario.js';

/**
 * Text completions (`POST /v1/completions`) through `syndicate serve` to llama.cpp's own
 * `llama-server` (built by the suite's global setup) serving the generated test model, with the
 * official `openai` client: the fake engines' completions shapes come from llama-server's source,
 * this checks them against the real server — its answer, its stream (where it puts usage), and
 * that the evidence keeps its exact token counts. A suffix (fill in the middle) is refused before
 * anything is sent: `provider add llama.cpp` does not tag the model `fill-in-middle`, as
 * llama-server's `/v1/completions` refuses `suffix`.
 */
const serverPath = process.env['SYNDICATE_LLAMA_SERVER'];

interface EvidenceDocument {
  evidence: { model: string; inputTokens: number | null; outputTokens: number | null; tokenAccounting: string; verbatimCapture: string; status: number | null };
}

describe('text completions from a real llama-server through the gateway', () => {
  let started: LlamaServerGateway | undefined;
  let scenario: Scenario;
  let client: OpenAI;
  /** `llama.cpp:tiny`: llama-server names its model by the path it was started with; `provider add` registers it under its file name. */
  const model = 'llama.cpp:tiny';

  beforeAll(async () => {
    expect(serverPath !== undefined && existsSync(serverPath), `SYNDICATE_LLAMA_SERVER=${String(serverPath)} does not exist (the global setup builds it)`).toBe(true);
    started = await startGatewayOverLlamaServer();
    scenario = started.scenario;
    client = new OpenAI({ baseURL: `${started.gateway.url}/v1`, apiKey: started.token, maxRetries: 0 });
  }, 120_000);

  afterAll(async () => {
    await started?.close();
  });

  async function evidenceOf(id: string): Promise<EvidenceDocument['evidence']> {
    const { result, document } = await scenario.json(['evidence', 'show', id]);
    expect(result.exitCode, result.stderr).toBe(0);
    return (document as unknown as EvidenceDocument).evidence;
  }

  it('answers a completion in full, and the evidence holds the server\'s exact token counts', async () => {
    const response = await client.completions.create({ model, prompt: 'The quick brown fox', max_tokens: 6, temperature: 0, seed: 7 });
    expect(response.object).toBe('text_completion');
    expect(response.choices).toHaveLength(1);
    expect(typeof response.choices[0]?.text).toBe('string');
    // The test model's random weights often end on its end-of-text token before the budget.
    expect(['stop', 'length']).toContain(response.choices[0]?.finish_reason);
    const completionTokens = response.usage?.completion_tokens ?? 0;
    expect(completionTokens).toBeGreaterThan(0);
    expect(completionTokens).toBeLessThanOrEqual(6);
    expect(response.usage?.prompt_tokens).toBeGreaterThan(0);

    const evidenceId = (await scenario.json(['evidence', 'list', '--limit', '1'])).document.evidence as { id: string }[];
    const evidence = await evidenceOf(evidenceId[0]!.id);
    expect(evidence).toMatchObject({
      model: 'tiny',
      inputTokens: response.usage?.prompt_tokens,
      outputTokens: completionTokens,
      tokenAccounting: 'exact',
      verbatimCapture: 'full',
      status: 200,
    });
  });

  it('streams a completion: the same text, finish reason and usage as unstreamed', async () => {
    const whole = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 5, temperature: 0, seed: 7 });
    const stream = await client.completions.create({
      model,
      prompt: 'Once upon a time',
      max_tokens: 5,
      temperature: 0,
      seed: 7,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finishReason: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('text_completion');
      for (const choice of chunk.choices) {
        text += choice.text;
        finishReason = choice.finish_reason ?? finishReason;
      }
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(whole.choices[0]?.text);
    expect(finishReason).toBe(whole.choices[0]?.finish_reason);
    // llama-server sends usage on its finish chunk (not in a chunk of its own, as OpenAI does).
    expect(usage).toMatchObject({ completion_tokens: whole.usage?.completion_tokens, prompt_tokens: whole.usage?.prompt_tokens });

    const listed = (await scenario.json(['evidence', 'list', '--limit', '1'])).document.evidence as { id: string }[];
    const evidence = await evidenceOf(listed[0]!.id);
    expect(evidence).toMatchObject({ tokenAccounting: 'exact', verbatimCapture: 'full', inputTokens: whole.usage?.prompt_tokens, outputTokens: whole.usage?.completion_tokens });
  });

  it('refuses a suffix before anything is sent: llama-server\'s /v1/completions does not fill in the middle', async () => {
    const error = await client.completions
      .create({ model, prompt: 'def add(a, b):\n    ', suffix: '\n    return total\n', max_tokens: 4 })
      .then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((error as Error).message).toContain('not tagged fill-in-middle');
    const verify = await scenario.cli(['evidence', 'verify']);
    expect(verify.exitCode, verify.stderr).toBe(0);
  });
});
