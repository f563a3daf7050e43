import Anthropic from '@anthropic-ai/sdk';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayOverLlamaServer, type LlamaServerGateway } from '../helpers/llama-server.js';

/**
 * An Anthropic client's stop_sequences through `syndicate serve` to llama.cpp's own `llama-server`
 * (built by the suite's global setup) on the generated test model: llama-server names the stop
 * string that ended an answer only in `__verbose`, when asked (`verbose: true`); the gateway asks
 * and tells the client `stop_reason: "stop_sequence"` with the sequence, as the Messages API does.
 */
const serverPath = process.env['SYNDICATE_LLAMA_SERVER'];

describe('stop sequences from a real llama-server, told to an Anthropic client', () => {
  let started: LlamaServerGateway | undefined;
  let client: Anthropic;
  const model = 'llama.cpp:tiny';

  beforeAll(async () => {
    expect(serverPath !== undefined && existsSync(serverPath), `SYNDICATE_LLAMA_SERVER=${String(serverPath)} does not exist (the global setup builds it)`).toBe(true);
    started = await startGatewayOverLlamaServer();
    client = new Anthropic({ baseURL: started.gateway.url, apiKey: started.token, maxRetries: 0 });
  }, 120_000);

  afterAll(async () => {
    await started?.close();
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
