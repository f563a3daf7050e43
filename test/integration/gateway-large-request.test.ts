/**
 * A very large request through `syndicate serve` (a process, on 127.0.0.1) does not hold the
 * gateway's other clients while it is classified: the classification runs in a worker thread.
 * And a classifier thread that dies with the request in hand fails the request closed
 * (`restricted`: it stays local), never sending it to a hosted provider.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { DEFAULT_ANSWER } from '../helpers/fake-engines/model-behaviour.js';
import { hostedPreferredScenario, inferenceExchanges, Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { storedEnvelope } from '../helpers/store.js';

const SENTENCE = 'The scheduler now retries failed jobs with exponential backoff, and the dashboard shows queue depth per worker. ';
/** Plain prose of about `characters` characters: nothing in it is sensitive. */
const prose = (characters: number): string => SENTENCE.repeat(Math.ceil(characters / SENTENCE.length));
/** Large enough that its scan takes the classifier most of a second, far longer than a small request's whole answer. */
const LARGE_CHARACTERS = 8 * 1024 * 1024;
/** Above the size classified off the event loop (`OFF_THREAD_CHARACTERS`, 256 K), within every window of the fail-closed scenario. */
const OFF_THREAD_CHARACTERS = 320 * 1024;

const client = (gateway: RunningServe, home: string): OpenAI =>
  new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: readFileSync(join(home, 'gateway.token'), 'utf8').trim(), maxRetries: 0, timeout: 85_000 });

/** Resolves once the gateway's `/metrics` counts an inference request in flight (the large one: its body read and parsed). */
async function untilInFlight(gateway: RunningServe, home: string): Promise<void> {
  const token = readFileSync(join(home, 'gateway.token'), 'utf8').trim();
  for (;;) {
    const text = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    if (/^syndicate_gateway_in_flight_requests [1-9]/m.test(text)) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('a very large request and the other clients', () => {
  let engine: FakeEngine;
  let scenario: Scenario;
  let gateway: RunningServe;

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'ollama' });
    scenario = await Scenario.create();
    // A window holding the large prompt's byte bound: no tokenizer runs, the classification is the gateway's work.
    await scenario.register({ id: 'ollama', engine, contextWindow: 20_000_000 });
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home });
  }, 90_000);

  afterAll(async () => {
    gateway?.server.kill('SIGTERM');
    await gateway?.server;
    scenario?.cleanup();
    await engine?.close();
  });

  it("another client's small request is answered while the large one is classified, before the large one reaches the engine; the large one is answered and recorded as before", async () => {
    const openai = client(gateway, scenario.home);
    // Warm: the classifier and the router loaded, the engine's health known.
    await openai.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'warm up' }] });
    const before = inferenceExchanges(engine).length;
    const large = openai.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prose(LARGE_CHARACTERS) }] }).withResponse();
    await untilInFlight(gateway, scenario.home);

    const small = await openai.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    // What the engine had received when the small answer arrived: the small request only.
    const receivedMeanwhile = inferenceExchanges(engine)
      .slice(before)
      .map((exchange) => Number(exchange.requestHeaders['content-length'] ?? 0));
    expect(small.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(receivedMeanwhile).toHaveLength(1);
    expect(receivedMeanwhile[0]).toBeLessThan(100_000);

    const { data, response } = await large;
    expect(data.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(response.headers.get('x-syndicate-sensitivity')).toBe('public');
    const sent = inferenceExchanges(engine).slice(before);
    expect(sent).toHaveLength(2);
    expect(sent[1]?.requestBody.toString()).toContain(prose(LARGE_CHARACTERS));
    const envelope = storedEnvelope(scenario.home, response.headers.get('x-syndicate-evidence') ?? '') as {
      sensitivity: string;
      state: string;
      route: { failedClosed: boolean };
      request: { body: { data: string } };
    };
    expect(envelope).toMatchObject({ sensitivity: 'public', state: 'completed', route: { failedClosed: false } });
    expect(envelope.request.body.data).toContain(prose(LARGE_CHARACTERS));
  }, 90_000);
});

/**
 * A gateway (started before the tests of the calling `describe`, stopped after them) preferring a
 * hosted provider over a local one, each of its threads preloaded with test/helpers/`helper`.
 */
function hostedPreferredGateway(helper: string): { setup: ReturnType<typeof hostedPreferredScenario>; running: { gateway: RunningServe } } {
  const setup = hostedPreferredScenario('claude-sonnet-4-20250514', { claude: { contextWindow: 1_000_000, price: { inputPerMTok: 3, outputPerMTok: 15 } }, ollama: { contextWindow: 1_000_000 } });
  const running = {} as { gateway: RunningServe };

  beforeAll(async () => {
    running.gateway = await startServe(['serve', '--port', '0'], {
      SYNDICATE_HOME: setup.scenario.home,
      FAKE_ANTHROPIC_KEY: 'sk-ant-fake',
      NODE_OPTIONS: `--require ${join(REPO_ROOT, 'test/helpers', helper)}`,
    });
  }, 90_000);

  afterAll(async () => {
    running.gateway?.server.kill('SIGTERM');
    await running.gateway?.server;
  });
  return { setup, running };
}

describe('a classifier thread that dies with a large request in hand', () => {
  const { setup, running } = hostedPreferredGateway('classifier-thread-dies.cjs');

  it('fails the request closed: restricted, answered by the local engine, nothing sent to the hosted provider; a small request still goes hosted', async () => {
    const openai = client(running.gateway, setup.scenario.home);
    const small = await openai.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] }).withResponse();
    expect(small.response.headers.get('x-syndicate-provider')).toBe('claude');
    const hostedBefore = inferenceExchanges(setup.claude).length;

    const { data, response } = await openai.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prose(OFF_THREAD_CHARACTERS) }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(response.headers.get('x-syndicate-sensitivity')).toBe('restricted');
    expect(response.headers.get('x-syndicate-provider')).toBe('ollama');
    expect(inferenceExchanges(setup.claude)).toHaveLength(hostedBefore);
    const envelope = storedEnvelope(setup.scenario.home, response.headers.get('x-syndicate-evidence') ?? '') as { sensitivity: string; route: { levelSources: unknown[] } };
    expect(envelope.sensitivity).toBe('restricted');
    expect(JSON.stringify(envelope.route.levelSources)).toContain('the classifier failed (the classifier thread exited (code 70))');
  }, 90_000);
});

describe('a classifier thread stuck on a large request', () => {
  const { setup, running } = hostedPreferredGateway('classifier-thread-hangs.cjs');

  it('times the thread out and fails the request closed (restricted, local, nothing sent hosted); the next large request gets a new thread and goes hosted', async () => {
    const openai = client(running.gateway, setup.scenario.home);
    const hostedBefore = inferenceExchanges(setup.claude).length;

    const stuck = await openai.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: `RUNAWAY-CLASSIFICATION ${prose(OFF_THREAD_CHARACTERS)}` }] }).withResponse();
    expect(stuck.data.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(stuck.response.headers.get('x-syndicate-sensitivity')).toBe('restricted');
    expect(stuck.response.headers.get('x-syndicate-provider')).toBe('ollama');
    expect(inferenceExchanges(setup.claude)).toHaveLength(hostedBefore);
    const envelope = storedEnvelope(setup.scenario.home, stuck.response.headers.get('x-syndicate-evidence') ?? '') as { sensitivity: string; route: { levelSources: unknown[] } };
    expect(envelope.sensitivity).toBe('restricted');
    expect(JSON.stringify(envelope.route.levelSources)).toMatch(/the classifier failed \(the classifier thread timed out after \d+ ms\)/);

    const next = await openai.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prose(OFF_THREAD_CHARACTERS) }] }).withResponse();
    const nextEnvelope = storedEnvelope(setup.scenario.home, next.response.headers.get('x-syndicate-evidence') ?? '') as { route: { levelSources: unknown[] } };
    expect(JSON.stringify(nextEnvelope.route.levelSources)).toBe('[]');
    expect(next.response.headers.get('x-syndicate-sensitivity')).toBe('public');
    expect(next.response.headers.get('x-syndicate-provider')).toBe('claude');
    expect(inferenceExchanges(setup.claude)).toHaveLength(hostedBefore + 1);
  }, 90_000);
});
