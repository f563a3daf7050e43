import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../../helpers/fake-engines/index.js';
import { chatBody, dataPayloads, rawRequest, WEATHER_TOOL } from './raw-client.js';

let engine: FakeEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

async function post(extra: Record<string, unknown>, model: string, path = '/v1/chat/completions') {
  const response = await rawRequest(`${engine!.url}${path}`, { body: chatBody(model, extra) });
  return { status: response.status, text: response.body.toString('utf8'), response };
}

describe('Ollama quirks', () => {
  const model = 'llama3.2:latest';

  it('returns tool-call arguments as a JSON object; conforming returns a string', async () => {
    engine = await startFakeEngine({ kind: 'ollama' });
    const quirky = JSON.parse((await post({ tools: [WEATHER_TOOL] }, model)).text);
    expect(quirky.choices[0].message.tool_calls[0].function.arguments).toEqual({ location: DEFAULT_ANSWER, days: 42 });
    const streamed = dataPayloads((await post({ tools: [WEATHER_TOOL], stream: true }, model)).text);
    const call = streamed.flatMap((payload) => payload.choices[0]?.delta?.tool_calls ?? [])[0];
    expect(call.function.arguments).toEqual({ location: DEFAULT_ANSWER, days: 42 });
    await engine.close();
    engine = await startFakeEngine({ kind: 'ollama', conforming: true });
    const conforming = JSON.parse((await post({ tools: [WEATHER_TOOL] }, model)).text);
    expect(conforming.choices[0].message.tool_calls[0].function.arguments).toBe('{"location":"Paris is the capital of France.","days":42}');
  });

  it('ignores a json_schema response format (answers prose) but honours json_object; conforming honours both', async () => {
    const schema = { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { city: { type: 'string' } } } } };
    engine = await startFakeEngine({ kind: 'ollama' });
    expect(JSON.parse((await post({ response_format: schema }, model)).text).choices[0].message.content).toBe(DEFAULT_ANSWER);
    expect(JSON.parse(JSON.parse((await post({ response_format: { type: 'json_object' } }, model)).text).choices[0].message.content)).toEqual({ answer: DEFAULT_ANSWER });
    await engine.close();
    engine = await startFakeEngine({ kind: 'ollama', conforming: true });
    expect(JSON.parse(JSON.parse((await post({ response_format: schema }, model)).text).choices[0].message.content)).toEqual({ city: DEFAULT_ANSWER });
  });

  it('ignores seed at temperature > 0 (outputs differ), is deterministic at temperature 0; conforming honours seed', async () => {
    engine = await startFakeEngine({ kind: 'ollama' });
    const sample = async (temperature: number) => JSON.parse((await post({ seed: 42, temperature }, model)).text).choices[0].message.content as string;
    const [hot1, hot2] = [await sample(0.8), await sample(0.8)];
    expect(hot1).not.toBe(hot2);
    expect(await sample(0)).toBe(await sample(0));
    await engine.close();
    engine = await startFakeEngine({ kind: 'ollama', conforming: true });
    expect(await sample(0.8)).toBe(await sample(0.8));
    expect(await sample(0.8)).toBe(DEFAULT_ANSWER);
  });

  it('puts usage in the stream only with stream_options.include_usage, in a final chunk with empty choices', async () => {
    engine = await startFakeEngine({ kind: 'ollama' });
    const without = dataPayloads((await post({ stream: true }, model)).text);
    expect(without.some((payload) => 'usage' in payload)).toBe(false);
    const withUsage = dataPayloads((await post({ stream: true, stream_options: { include_usage: true } }, model)).text);
    const last = withUsage.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage.completion_tokens).toBe(7);
    expect(withUsage.slice(0, -1).some((payload) => 'usage' in payload)).toBe(false);
  });

  it("refuses an image URL with the 400 of its OpenAI layer (it fetches none) and takes base64 data; conforming takes both", async () => {
    const withImage = (url: string) => ({ messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url } }] }] });
    engine = await startFakeEngine({ kind: 'ollama' });
    const remote = await post(withImage('https://example.com/cat.png'), model);
    expect(remote.status).toBe(400);
    expect(JSON.parse(remote.text)).toEqual({
      error: { message: 'image URLs are not currently supported, please use base64 encoded data instead', type: 'invalid_request_error', param: null, code: null },
    });
    expect(JSON.parse((await post(withImage('data:text/plain;base64,aGk='), model)).text).error.message).toBe('invalid image input');
    expect((await post(withImage('data:image/png;base64,iVBORw0KGgo='), model)).status).toBe(200);
    await engine.close();
    engine = await startFakeEngine({ kind: 'ollama', conforming: true });
    expect((await post(withImage('https://example.com/cat.png'), model)).status).toBe(200);
  });

  it('escapes <, > and & like Go and loads a model into /api/ps when it is used', async () => {
    engine = await startFakeEngine({ kind: 'ollama', answer: 'a < b && c > d' });
    const { text } = await post({}, 'qwen2.5-coder:7b');
    expect(text).toContain('a \\u003c b \\u0026\\u0026 c \\u003e d');
    expect(text.endsWith('\n')).toBe(true);
    expect(JSON.parse(text).choices[0].message.content).toBe('a < b && c > d');
    const ps = JSON.parse((await rawRequest(`${engine.url}/api/ps`)).body.toString());
    expect(ps.models.map((entry: { name: string }) => entry.name)).toEqual(['llama3.2:latest', 'qwen2.5-coder:7b']);
    const missing = await post({}, 'mistral');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text).error.message).toBe('model "mistral" not found, try pulling it first');
  });
});

describe('Ollama loading a model on the first request for it', () => {
  it('answers that request only once the model is loaded (it answered at once, as if Ollama held every model), then lists it on /api/ps', async () => {
    engine = await startFakeEngine({ kind: 'ollama', loadDelayMs: 1000 });
    const started = performance.now();
    expect((await post({}, 'qwen2.5-coder:7b')).status).toBe(200);
    // A lower bound only: the load's time is in the answer, however loaded the machine.
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    const ps = JSON.parse((await rawRequest(`${engine.url}/api/ps`)).body.toString());
    expect(ps.models.map((entry: { name: string }) => entry.name)).toContain('qwen2.5-coder:7b');
  });
});

describe('llama.cpp quirks', () => {
  const model = 'qwen2.5-0.5b-instruct-q4_k_m.gguf';

  it('rejects tools with HTTP 500 and its real error body unless started with --jinja; conforming accepts them', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp' });
    const rejected = await post({ tools: [WEATHER_TOOL] }, model);
    expect(rejected.status).toBe(500);
    expect(rejected.text).toBe('{"error":{"code":500,"message":"tools param requires --jinja flag","type":"server_error"}}');
    await engine.close();
    engine = await startFakeEngine({ kind: 'llama.cpp', jinja: true });
    expect(JSON.parse((await post({ tools: [WEATHER_TOOL] }, model)).text).choices[0].finish_reason).toBe('tool_calls');
    await engine.close();
    engine = await startFakeEngine({ kind: 'llama.cpp', conforming: true });
    expect((await post({ tools: [WEATHER_TOOL] }, model)).status).toBe(200);
  });

  it('sends timings in the last chunk and usage only with include_usage; conforming sends no timings', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp' });
    const without = dataPayloads((await post({ stream: true }, model)).text);
    expect(without[0]!.choices[0].delta).toEqual({ role: 'assistant', content: null });
    expect(without.some((payload) => 'usage' in payload)).toBe(false);
    expect(without.at(-1)!.choices[0].finish_reason).toBe('stop');
    expect(without.at(-1)!.timings.predicted_n).toBe(8);
    expect(without.slice(0, -1).some((payload) => 'timings' in payload)).toBe(false);
    const withUsage = dataPayloads((await post({ stream: true, stream_options: { include_usage: true } }, model)).text);
    const last = withUsage.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(Object.keys(last)).toEqual(['choices', 'created', 'id', 'model', 'system_fingerprint', 'object', 'usage', 'timings']);
    expect(last.usage).toEqual({ completion_tokens: 8, prompt_tokens: last.timings.prompt_n + last.timings.cache_n, total_tokens: 8 + last.usage.prompt_tokens, prompt_tokens_details: { cached_tokens: last.timings.cache_n } });
    const nonStream = JSON.parse((await post({}, model)).text);
    expect(Object.keys(nonStream.timings)).toEqual(['cache_n', 'prompt_n', 'prompt_ms', 'prompt_per_token_ms', 'prompt_per_second', 'predicted_n', 'predicted_ms', 'predicted_per_token_ms', 'predicted_per_second']);
    await engine.close();
    engine = await startFakeEngine({ kind: 'llama.cpp', conforming: true });
    const conforming = dataPayloads((await post({ stream: true, stream_options: { include_usage: true } }, model)).text);
    expect(conforming.some((payload) => 'timings' in payload)).toBe(false);
    expect(conforming.at(-1)!.usage.completion_tokens).toBe(8);
    expect('timings' in JSON.parse((await post({}, model)).text)).toBe(false);
  });

  it('accepts any requested model name and answers with the name of the one model it runs', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp' });
    const response = await post({}, 'anything');
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text).model).toBe(model);
  });
});

describe('vLLM quirks', () => {
  const model = 'Qwen/Qwen2.5-1.5B-Instruct';

  it('silently drops unknown fields (200, no header, only a server log line); conforming refuses them', async () => {
    engine = await startFakeEngine({ kind: 'vllm' });
    const dropped = await post({ frobnicate: true, top_k: 5 }, model);
    expect(dropped.status).toBe(200);
    expect(Object.keys(dropped.response.headers).filter((name) => !['content-type', 'server', 'content-length', 'date', 'connection', 'keep-alive'].includes(name))).toEqual([]);
    expect(engine.serverLog).toEqual(["WARNING [protocol.py:81] The following fields were present in the request but ignored: {'frobnicate'}"]);
    await engine.close();
    engine = await startFakeEngine({ kind: 'vllm', conforming: true });
    const refused = await post({ frobnicate: true }, model);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text)).toMatchObject({ object: 'error', message: 'Unrecognized request argument supplied: frobnicate', code: 400 });
  });

  it('carries prompt_logprobs and stop_reason fields; 404 for a model it does not serve', async () => {
    engine = await startFakeEngine({ kind: 'vllm' });
    const body = JSON.parse((await post({}, model)).text);
    expect(body.prompt_logprobs).toBeNull();
    expect(body.choices[0].stop_reason).toBeNull();
    expect(Object.keys(body.usage)).toEqual(['prompt_tokens', 'total_tokens', 'completion_tokens', 'prompt_tokens_details']);
    const missing = await post({}, 'other/model');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toMatchObject({ object: 'error', type: 'NotFoundError' });
  });

  it('writes tool arguments the way Python json.dumps does', async () => {
    engine = await startFakeEngine({ kind: 'vllm' });
    const body = JSON.parse((await post({ tools: [WEATHER_TOOL] }, model)).text);
    expect(body.choices[0].message.tool_calls[0].function.arguments).toBe('{"location": "Paris is the capital of France.", "days": 42}');
    expect(body.choices[0].message.tool_calls[0].id).toMatch(/^chatcmpl-tool-[0-9a-f]{32}$/);
  });
});

describe('LM Studio quirks', () => {
  const model = 'qwen2.5-7b-instruct';

  it('rejects response_format json_object with its 400 string error; conforming answers JSON', async () => {
    engine = await startFakeEngine({ kind: 'lmstudio' });
    const rejected = await post({ response_format: { type: 'json_object' } }, model);
    expect(rejected.status).toBe(400);
    expect(JSON.parse(rejected.text)).toEqual({ error: "'response_format.type' must be 'json_schema' or 'text'" });
    await engine.close();
    engine = await startFakeEngine({ kind: 'lmstudio', conforming: true });
    expect(JSON.parse(JSON.parse((await post({ response_format: { type: 'json_object' } }, model)).text).choices[0].message.content)).toEqual({ answer: DEFAULT_ANSWER });
  });

  it('before 0.3.18 never sends usage in a stream, even with include_usage; from 0.3.18 (the default release) and conforming it does', async () => {
    engine = await startFakeEngine({ kind: 'lmstudio', lmStudioVersion: '0.3.17' });
    const quirky = dataPayloads((await post({ stream: true, stream_options: { include_usage: true } }, model)).text);
    expect(quirky.some((payload) => 'usage' in payload)).toBe(false);
    expect(quirky.at(-1)!.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
    await engine.close();
    for (const options of [{ conforming: true }, { lmStudioVersion: '0.3.18' }, {}]) {
      engine = await startFakeEngine({ kind: 'lmstudio', ...options });
      const answered = dataPayloads((await post({ stream: true, stream_options: { include_usage: true } }, model)).text);
      expect(answered.at(-1)!.choices).toEqual([]);
      expect(answered.at(-1)!.usage.completion_tokens).toBe(7);
      // Not asked: none (OpenAI's rule).
      expect(dataPayloads((await post({ stream: true }, model)).text).some((payload) => 'usage' in payload)).toBe(false);
      await engine.close();
    }
    engine = undefined;
  });

  it('a name it does not have: the one loaded model answers it (bug tracker #366, #619); with none or several loaded, its 404 model_not_found', async () => {
    engine = await startFakeEngine({ kind: 'lmstudio', models: [{ id: model }, { id: 'llama-3.2-3b-instruct' }] });
    const served = await post({}, 'any-model-name');
    expect(served.status).toBe(200);
    expect(JSON.parse(served.text).model).toBe(model);
    await engine.close();
    engine = await startFakeEngine({ kind: 'lmstudio', models: [{ id: model }, { id: 'llama-3.2-3b-instruct' }], resident: [model, 'llama-3.2-3b-instruct'] });
    const refused = await post({}, 'default');
    expect(refused.status).toBe(404);
    // As letta-ai/letta#1876 and gitbutlerapp/gitbutler#8706 quote it.
    expect(refused.text).toBe(
      `{\n    "error": {\n        "message": "Model \\"default\\" not found. Please specify a valid model.\\n\\nYour models:\\n\\n${model}\\nllama-3.2-3b-instruct",\n        "type": "invalid_request_error",\n        "param": "model",\n        "code": "model_not_found"\n    }\n}`,
    );
  });

  it('loads a downloaded model on its first request (JIT), unloading the one it loaded that way before (Auto-Evict)', async () => {
    engine = await startFakeEngine({ kind: 'lmstudio', models: [{ id: model }, { id: 'llama-3.2-3b-instruct' }, { id: 'phi-4' }] });
    const states = async () => {
      const listed = (await (await fetch(`${engine!.url}/api/v0/models`)).json()) as { data: { id: string; state: string }[] };
      return Object.fromEntries(listed.data.map((entry) => [entry.id, entry.state]));
    };
    expect(await states()).toEqual({ [model]: 'loaded', 'llama-3.2-3b-instruct': 'not-loaded', 'phi-4': 'not-loaded' });
    expect((await post({}, 'llama-3.2-3b-instruct')).status).toBe(200);
    expect(await states()).toEqual({ [model]: 'loaded', 'llama-3.2-3b-instruct': 'loaded', 'phi-4': 'not-loaded' });
    expect((await post({}, 'phi-4')).status).toBe(200);
    // Only the JIT-loaded model was evicted; the one loaded beforehand stays.
    expect(await states()).toEqual({ [model]: 'loaded', 'llama-3.2-3b-instruct': 'not-loaded', 'phi-4': 'loaded' });
    const listed = (await (await fetch(`${engine.url}/api/v1/models`)).json()) as { models: { key: string; loaded_instances: { id: string }[] }[] };
    expect(listed.models.filter((entry) => entry.loaded_instances.length > 0).map((entry) => entry.key)).toEqual([model, 'phi-4']);
  });

  it('adds stats, model_info and runtime on /api/v0/chat/completions; /v1 has an empty stats object', async () => {
    engine = await startFakeEngine({ kind: 'lmstudio' });
    const v1 = JSON.parse((await post({}, model)).text);
    expect(v1.stats).toEqual({});
    const native = JSON.parse((await post({ max_tokens: 2 }, model, '/api/v0/chat/completions')).text);
    expect(Object.keys(native.stats)).toEqual(['tokens_per_second', 'time_to_first_token', 'generation_time', 'stop_reason']);
    expect(native.stats.stop_reason).toBe('maxPredictedTokensReached');
    expect(native.model_info.context_length).toBe(4096);
    expect(native.runtime.supported_formats).toEqual(['gguf']);
  });
});
