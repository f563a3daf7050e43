import { execa, type ResultPromise } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeTestModel } from '../../src/engines/test-model.js';
import { BIN } from '../helpers/cli.js';
import { startLlamaServer } from '../helpers/llama-server.js';
import { textOfStream } from '../helpers/openai-bytes.js';
import { Scenario } from '../helpers/scenario.js';

/**
 * The whole pipeline against REAL engines serving the generated test model on CPU: llama.cpp's
 * own `llama-server` and syndicate's embedded engine (`syndicate engine serve`, node-llama-cpp).
 * Nothing here is replayed: token counts come from the engines' tokenizers, the streamed bytes
 * from their servers, and the evidence must hold those bytes exactly.
 */

interface StartedEngine {
  providerId: string;
  stop(): Promise<void>;
}

interface RealEngine {
  name: string;
  start(scenario: Scenario, modelPath: string): Promise<StartedEngine>;
}



async function stopProcess(child: ResultPromise): Promise<void> {
  child.kill('SIGTERM');
  await child;
}

const llamaServer: RealEngine = {
  name: "llama.cpp's llama-server",
  async start(scenario, modelPath) {
    const { url, process: child } = await startLlamaServer(modelPath);
    const added = await scenario.cli(['provider', 'add', 'llama.cpp', '--base-url', `${url}/v1`]);
    expect(added.exitCode, added.stderr).toBe(0);
    return { providerId: 'llama.cpp', stop: () => stopProcess(child) };
  },
};

const embeddedEngine: RealEngine = {
  name: 'the embedded engine (syndicate engine serve)',
  async start(scenario, modelPath) {
    const child = execa('node', [BIN, '--json', 'engine', 'serve', '--model', modelPath, '--port', '0', '--register', 'embedded'], {
      env: { SYNDICATE_HOME: scenario.home, FORCE_COLOR: '0' },
      reject: false,
    });
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => reject(new Error(`engine serve did not report ready within 60 s; stdout so far: ${stdout}`)), 60_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        try {
          resolve(JSON.parse(stdout) as Record<string, unknown>);
          clearTimeout(timer);
        } catch {
          // the document is not complete yet
        }
      });
      void child.then((result) => {
        clearTimeout(timer);
        reject(new Error(`engine serve exited with ${String(result.exitCode)}: ${result.stderr}`));
      });
    });
    expect(ready).toMatchObject({ ok: true, backend: 'cpu' });
    return {
      providerId: 'embedded',
      stop: async () => {
        child.kill('SIGTERM');
        const result = await child;
        expect(result.exitCode, result.stderr).toBe(0);
      },
    };
  },
};

describe.each([llamaServer, embeddedEngine])('the pipeline against $name with the generated model', (engine) => {
  let scenario: Scenario;
  let started: StartedEngine | undefined;

  beforeAll(async () => {
    scenario = await Scenario.create();
    const modelPath = join(scenario.home, 'test-model.gguf');
    await writeTestModel(modelPath);
    started = await engine.start(scenario, modelPath);
  });

  afterAll(async () => {
    await started?.stop();
    scenario?.cleanup();
  });

  it('provider test passes and provider capabilities finds nothing the record does not declare', async () => {
    const test = await scenario.json(['provider', 'test', started!.providerId]);
    expect(test.result.exitCode, test.result.stderr).toBe(0);
    const capabilities = await scenario.json(['provider', 'capabilities', started!.providerId, '--no-update']);
    expect(capabilities.result.exitCode, capabilities.result.stderr).toBe(0);
    const rows = capabilities.document.capabilities as { capability: string; verdict: string }[];
    const verdict = (name: string): string | undefined => rows.find((row) => row.capability === name)?.verdict;
    expect(verdict('token-accounting')).toBe('pass');
    expect(verdict('streaming')).toBe('pass');
    expect(verdict('context-window')).toBe('pass');
    expect((capabilities.document.deviations as { declared: boolean }[]).filter((item) => !item.declared)).toEqual([]);
  });

  it('run without streaming: an answer, exact token counts, and the engine\'s response bytes in the evidence', async () => {
    const { result, document } = await scenario.json(['run', '--provider', started!.providerId, '--no-stream', '--max-tokens', '16', 'Write a line about rivers.']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ sensitivity: 'public', provider: { id: started!.providerId, class: 'local' }, fidelity: { tokenAccounting: 'exact', verbatimCapture: 'full' } });
    const tokens = document.tokens as { inputTokens: number; outputTokens: number };
    expect(tokens.inputTokens).toBeGreaterThan(5);
    expect(tokens.outputTokens).toBeGreaterThan(0);
    expect(tokens.outputTokens).toBeLessThanOrEqual(16);
    const raw = JSON.parse((await scenario.rawEvidence(document.evidenceId as string, 'response')).toString('utf8')) as {
      choices: { message: { content: string } }[];
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    expect(raw.choices[0]?.message.content).toBe(document.answer);
    expect(raw.usage).toMatchObject({ prompt_tokens: tokens.inputTokens, completion_tokens: tokens.outputTokens });
  });

  it('run streaming: what the caller saw is exactly what the engine streamed, and usage is exact', async () => {
    const result = await scenario.cli(['run', '--provider', started!.providerId, '--stream', '--max-tokens', '16', 'Write a line about mountains.']);
    expect(result.exitCode, result.stderr).toBe(0);
    const { document: list } = await scenario.json(['evidence', 'list', '--limit', '1']);
    const newest = (list.evidence as { id: string }[])[0];
    expect(newest, JSON.stringify(list)).toBeDefined();
    const envelope = await scenario.evidence(newest!.id);
    expect(envelope).toMatchObject({ state: 'completed', streamed: true, tokenAccounting: 'exact' });
    const raw = (await scenario.rawEvidence(newest!.id, 'response')).toString('utf8');
    expect(raw.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(result.stdout.trimEnd()).toBe(textOfStream(raw).trimEnd());
  });

  it('through `syndicate serve`: the Responses API streams the engine\'s tokens, and its evidence holds exactly those bytes', async () => {
    const serve = execa('node', [BIN, '--home', scenario.home, '--json', 'serve', '--port', '0'], { reject: false });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let stdout = '';
        serve.stdout?.on('data', (data: Buffer) => {
          stdout += data.toString('utf8');
          try {
            resolve((JSON.parse(stdout) as { url: string }).url);
          } catch {
            // not the whole document yet
          }
        });
        void serve.then((result) => reject(new Error(`serve exited with ${String(result.exitCode)}: ${String(result.stderr)}`)));
      });
      const token = readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim();
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: token, maxRetries: 0 });
      // The engine is the only provider registered here: `auto` routes to it.
      const { data: stream, response } = await client.responses.create({ model: 'auto', input: 'Write a line about lakes.', max_output_tokens: 16, stream: true }).withResponse();
      let text = '';
      let final: OpenAI.Responses.Response | undefined;
      for await (const event of stream) {
        if (event.type === 'response.output_text.delta') text += event.delta;
        if (event.type === 'response.completed' || event.type === 'response.incomplete') final = event.response;
      }
      expect(final?.usage?.output_tokens).toBeGreaterThan(0);
      expect(final?.usage?.output_tokens).toBeLessThanOrEqual(16);
      const message = final?.output.find((item) => item.type === 'message');
      expect(message?.type === 'message' ? message.content.map((part) => (part.type === 'output_text' ? part.text : '')).join('') : undefined).toBe(text);
      const evidenceId = response.headers.get('x-syndicate-evidence') ?? '';
      expect(await scenario.evidence(evidenceId)).toMatchObject({ caller: 'gateway', state: 'completed', streamed: true, tokenAccounting: 'exact', provider: { id: started!.providerId } });
      expect(textOfStream((await scenario.rawEvidence(evidenceId, 'response')).toString('utf8'))).toBe(text);
    } finally {
      serve.kill('SIGTERM');
      await serve;
    }
  });

  it('a sensitive prompt is classified before anything is sent and answered locally; the chain verifies', async () => {
    const { result, document } = await scenario.json(['run', '--provider', started!.providerId, '--no-stream', '--max-tokens', '8', 'Why does login fail? password: hunter2-Staging!']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ sensitivity: 'restricted', provider: { class: 'local' } });
    const verify = await scenario.cli(['evidence', 'verify']);
    expect(verify.exitCode, verify.stderr).toBe(0);
  });
});
