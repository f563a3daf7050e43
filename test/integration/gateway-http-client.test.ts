import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { registeredEngineScenario } from '../helpers/scenario.js';
import { startServe } from '../helpers/serve.js';

const AT_EXIT = resolve(import.meta.dirname, '..', 'helpers', 'http-client-at-exit.cjs');

/**
 * The gateway's health probes of local engines went through `fetch`: Node 20 then loads undici
 * (~13 MB resident for good) and V8 recompiles its llhttp WebAssembly in the background (~30 MB
 * more for a moment), which alone made the idle gateway's peak RSS 118–121 MB against a 120 MB
 * target (bench/RESULTS.md, twenty-sixth session). The probes speak node:http, as the transport does.
 */
describe('syndicate serve: no fetch (undici) on the path of a routed request', () => {
  const setup = registeredEngineScenario('local', { kind: 'ollama' });
  const directory = mkdtempSync(join(tmpdir(), 'syndicate-gateway-http-client-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('probes the engine, answers plain and streamed chat, and never loads undici', { timeout: 90_000 }, async () => {
    const loadedFile = join(directory, 'loaded.json');
    const { server, url } = await startServe(
      ['serve', '--port', '0'],
      { SYNDICATE_HOME: setup.scenario.home, NODE_OPTIONS: `--require ${AT_EXIT}`, SYNDICATE_TEST_BUILTINS_FILE: loadedFile },
      30_000,
      { asProgram: true },
    );
    const token = readFileSync(join(setup.scenario.home, 'gateway.token'), 'utf8').trim();
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: token, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    expect(answer.choices[0]?.message.content).toBeTruthy();
    let streamed = '';
    for await (const chunk of await client.chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: 'And of Spain?' }] })) {
      streamed += chunk.choices[0]?.delta.content ?? '';
    }
    expect(streamed).toBeTruthy();
    // The route asked the engine whether it is up (a metadata GET), through the probes' client.
    expect(setup.engine.exchanges.some((exchange) => exchange.method === 'GET')).toBe(true);
    server.kill('SIGTERM');
    expect((await server).exitCode).toBe(0);
    expect(JSON.parse(readFileSync(loadedFile, 'utf8'))).toEqual([]);
  });
});
