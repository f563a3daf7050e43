import Anthropic from '@anthropic-ai/sdk';
import type { ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTestModel } from '../../src/engines/test-model.js';
import { startLlamaServer } from '../helpers/llama-server.js';
import { Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

/**
 * An Anthropic client's stop_sequences through `syndicate serve` to llama.cpp's own `llama-server`
 * (built by the suite's global setup) on the generated test model: llama-server names the stop
 * string that ended an answer only in `__verbose`, when asked (`verbose: true`); the gateway asks
 * and tells the client `stop_reason: "stop_sequence"` with the sequence, as the Messages API does.
 */
const serverPath = process.env['SYNDICATE_LLAMA_SERVER'];

describe('stop sequences from a real llama-server, told to an Anthropic client', () => {
  let scenario: Scenario;
  let gateway: RunningServe | undefined;
  let llama: ResultPromise | undefined;
  let client: Anthropic;
  const model = 'llama.cpp:tiny';

  beforeAll(async () => {
    expect(serverPath !== undefined && existsSync(serverPath), `SYNDICATE_LLAMA_SERVER=${String(serverPath)} does not exist (the global setup builds it)`).toBe(true);
    scenario = await Scenario.create();
    await writeTestModel(join(scenario.home, 'tiny.gguf'));
    const server = await startLlamaServer(join(scenario.home, 'tiny.gguf'));
    llama = server.process;
    const added = await scenario.cli(['provider', 'add', 'llama.cpp', '--base-url', `${server.url}/v1`]);
    expect(added.exitCode, added.stderr).toBe(0);
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home }, 600_000);
    const token = (await scenario.cli(['serve', '--print-token'])).stdout.trim();
    client = new Anthropic({ baseURL: gateway.url, apiKey: token, maxRetries: 0 });
  }, 120_000);

  afterAll(async () => {
    gateway?.server.kill('SIGTERM');
    await gateway?.server;
    llama?.kill();
    await Promise.allSettled(llama === undefined ? [] : [llama]);
    scenario?.cleanup();
  });

  it('names the stop sequence that ended the answer, streamed and not; end_turn when none did', async () => {
    const ask = { model, max_tokens: 24, temperature: 0, messages: [{ role: 'user' as const, content: 'Say hello.' }] };
    const whole = await client.messages.create(ask);
    const text = whole.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
    // Greedy decoding answers the same again: a piece from the middle of this answer ends the next one there.
    const at = Math.floor(text.length / 2);
    const stop = text.slice(at, at + 3);
    expect(stop.trim(), `the test model's answer is too short to cut: ${JSON.stringify(text)}`).not.toBe('');
    const cut = await client.messages.create({ ...ask, stop_sequences: [stop] });
    expect(cut).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: stop });
    expect(cut.content.map((block) => (block.type === 'text' ? block.text : '')).join('')).toBe(text.slice(0, text.indexOf(stop)));
    const streamed = await client.messages.stream({ ...ask, stop_sequences: [stop] }).finalMessage();
    expect(streamed).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: stop });
    const natural = await client.messages.create({ ...ask, stop_sequences: ['\u0000never'] });
    expect(natural.stop_sequence).toBeNull();
    expect(natural.stop_reason).toBe(whole.stop_reason);
  });
});
