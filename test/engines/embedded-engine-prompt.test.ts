import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { importNodeLlamaCpp } from '../../src/engines/runtime.js';
import { EmbeddedEngine } from '../../src/engines/server/engine.js';
import { readEngineChatRequest } from '../../src/engines/server/request.js';
import { writeTestModel } from '../../src/engines/test-model.js';

/**
 * What the model is shown, through EmbeddedEngine.renderPrompt on the generated test model (its
 * ChatML template renders tools, Hermes / Qwen 2.5 style) in node-llama-cpp from the engine
 * directory the real-engine suite's global setup provides.
 */
const WEATHER = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city, in degrees Celsius',
    parameters: { type: 'object', properties: { city: { type: 'string', description: 'English city name' } }, required: ['city'] },
  },
};

describe('EmbeddedEngine prompt (generated test model)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'syndicate-engine-prompt-'));
  let engine: EmbeddedEngine;

  beforeAll(async () => {
    const model = await writeTestModel(join(directory, 'tiny.gguf'), { seed: 7 });
    engine = await EmbeddedEngine.load(await importNodeLlamaCpp(), { modelPath: model.path, gpu: 'cpu', threads: 1, parallel: 1 });
  }, 120_000);

  afterAll(async () => {
    await engine?.dispose();
    rmSync(directory, { recursive: true, force: true });
  });

  const prompt = (body: Record<string, unknown>): string =>
    engine.renderPrompt(readEngineChatRequest(JSON.stringify({ model: 'tiny', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Weather in Paris?' }], ...body })));

  it('shows the model the allowed tools\' descriptions and parameters when a call is forced', () => {
    for (const toolChoice of ['required', { type: 'function', function: { name: 'get_weather' } }]) {
      const text = prompt({ tools: [WEATHER], tool_choice: toolChoice });
      expect(text).toContain('Current weather for a city, in degrees Celsius');
      expect(text).toContain('English city name');
      expect(text).toContain('"required":["city"]');
      expect(text).toContain('{"name": <the function\'s name>, "arguments": <an object matching its parameters>}');
      // the caller's system prompt and question are still there, in the template's turns
      expect(text).toContain('Be brief.');
      expect(text).toMatch(/<\|im_start\|>user\nWeather in Paris\?<\|im_end\|>/);
    }
  });

  it('leaves tool_choice auto to node-llama-cpp, which renders the tools through the template, and shows no tools without them', () => {
    const auto = prompt({ tools: [WEATHER] });
    expect(auto).toContain('Current weather for a city, in degrees Celsius');
    expect(auto).not.toContain('Answer with exactly one call');
    const plain = prompt({});
    expect(plain).not.toContain('get_weather');
    expect(plain).toContain('Be brief.');
  });
});
