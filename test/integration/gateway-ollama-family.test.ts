/**
 * Ollama clients show `details.family` of `/api/tags` as the model's family (Open WebUI, ollama
 * list tools): `llama`, `qwen2`. `provider add` records the family the engine reports (Ollama's
 * `details.family`), and the gateway lists it; a model whose family nothing reported (a hosted
 * one, `auto` over several) is listed as Ollama lists a model of unknown family — never under the
 * provider's id, which is no family.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempHome, runCli } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

describe('/api/tags details.family through the official ollama client', () => {
  let engine: FakeEngine;
  let gateway: RunningServe;
  let home: string;
  let cleanup: () => void;

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'ollama', models: [{ id: 'llama3.2:3b' }, { id: 'qwen2.5-coder:7b' }] });
    ({ home, cleanup } = makeTempHome('syndicate-ollama-family-'));
    expect((await runCli(['init'], { home })).exitCode).toBe(0);
    const added = await runCli(['provider', 'add', 'ollama', '--base-url', engine.baseUrl], { home });
    expect(added.exitCode, added.stderr).toBe(0);
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: home });
  }, 90_000);
  afterAll(async () => {
    gateway?.server.kill('SIGTERM');
    await gateway?.server;
    await engine?.close();
    cleanup?.();
  });

  it('lists each model with the family its engine reports; auto, over two families, with none', { timeout: 90_000 }, async () => {
    const upstream = await new Ollama({ host: engine.url }).list();
    const reported = new Map(upstream.models.map((model) => [model.name, model.details.family]));
    expect(reported.get('llama3.2:3b')).toBe('llama');
    expect(reported.get('qwen2.5-coder:7b')).not.toBe(reported.get('llama3.2:3b'));

    const token = readFileSync(join(home, 'gateway.token'), 'utf8').trim();
    const { models } = await new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${token}` } }).list();
    const details = new Map(models.map((model) => [model.name, model.details]));
    for (const name of ['llama3.2:3b', 'qwen2.5-coder:7b']) {
      const family = reported.get(name);
      expect(details.get(`ollama:${name}`)).toMatchObject({ family, families: [family] });
    }
    // Ollama's own answer for a model of unknown family.
    expect(details.get('auto:latest')).toMatchObject({ family: '', families: null });
  });

  it('show() names the family as general.architecture, the context window under its key, as Ollama does', { timeout: 90_000 }, async () => {
    // The client types model_info as a Map; on the wire, and as parsed, it is an object.
    const infoOf = (shown: { model_info: unknown }): Record<string, unknown> => shown.model_info as Record<string, unknown>;
    const upstream = infoOf(await new Ollama({ host: engine.url }).show({ model: 'llama3.2:3b' }));
    const token = readFileSync(join(home, 'gateway.token'), 'utf8').trim();
    const client = new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${token}` } });
    const shown = await client.show({ model: 'ollama:llama3.2:3b' });
    expect(shown.details.family).toBe('llama');
    const info = infoOf(shown);
    expect(info['general.architecture']).toBe(upstream['general.architecture']);
    // Where Ollama puts the context window: `<general.architecture>.context_length`.
    expect(info['llama.context_length']).toBe(upstream['llama.context_length']);
    expect(info['syndicate.context_length']).toBe(upstream['llama.context_length']);
    const auto = await client.show({ model: 'auto:latest' });
    expect(auto.details.family).toBe('');
    expect(infoOf(auto)['general.architecture']).toBe('syndicate');
  });
});
