import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { registeredEngineScenario } from '../helpers/scenario.js';
import { startServe } from '../helpers/serve.js';

const SLOW_ANSWER = 'one two three four five six seven eight nine ten eleven twelve';
const WHY = 'SIGTERM, and the requests in flight did not finish within --drain-timeout 1s';

interface ListedRow {
  id: string;
  requestId: string;
  state: string;
  caller: string;
  error: { code: string; message: string } | null;
  markers: string[];
}

/** Reads a client's stream to its end: 'ended' when it ended cleanly, else the error it threw. */
async function outcomeOf(stream: AsyncIterable<unknown>, firstPart: () => void): Promise<'ended' | Error> {
  try {
    for await (const _part of stream) firstPart();
    return 'ended';
  } catch (error) {
    return error as Error;
  }
}

describe('serve: the drain running out while streams are in flight', () => {
  const setup = registeredEngineScenario('slow', { kind: 'ollama', answer: SLOW_ANSWER });

  it('each stream ends with its API\'s error event (the SDK iterators throw; no clean end), and its evidence is recorded interrupted', { timeout: 90_000 }, async () => {
    const { scenario, engine } = setup;
    const token = (await scenario.cli(['serve', '--print-token'])).stdout.trim();
    // The serve lives as long as the test (three streams, the drain, their evidence): at load 22 that
    // was over startServe's default 30 s, whose kill left no exit code. The test's own bound instead.
    const { server, url, waitForStderr } = await startServe(['serve', '--port', '0', '--drain-timeout', '1s', '--access-log'], { SYNDICATE_HOME: scenario.home }, 90_000);
    engine.setFault({ slowStreamMs: 400 });
    try {
      let started = 0;
      let onAllStarted!: () => void;
      const allStarted = new Promise<void>((resolve) => {
        onAllStarted = resolve;
      });
      const firstPartOnce = (): (() => void) => {
        let seen = false;
        return () => {
          if (seen) return;
          seen = true;
          started += 1;
          if (started === 3) onAllStarted();
        };
      };
      const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: token, maxRetries: 0 });
      const anthropic = new Anthropic({ baseURL: url, apiKey: token, maxRetries: 0 });
      const ollama = new Ollama({ host: url, headers: { Authorization: `Bearer ${token}` } });
      const outcomes = Promise.all([
        outcomeOf(await openai.chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: 'Count to twelve.' }] }), firstPartOnce()),
        outcomeOf(await anthropic.messages.create({ model: 'auto', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'Count to twelve.' }] }), firstPartOnce()),
        outcomeOf(await ollama.chat({ model: 'auto', stream: true, messages: [{ role: 'user', content: 'Count to twelve.' }] }), firstPartOnce()),
      ]);
      await allStarted;
      server.kill('SIGTERM');
      await waitForStderr('shutting down: finishing 3 in-flight requests');
      const [fromOpenAI, fromAnthropic, fromOllama] = await outcomes;
      const ended = await server;
      expect(ended.exitCode, `signal ${ended.signal}, forcefully terminated ${ended.isForcefullyTerminated}: ${String(ended.stderr)}`).toBe(143);
      expect(String(ended.stderr)).toContain(`error: gateway stopped (${WHY}): 3 requests in flight cancelled`);
      // Each SDK read the error event its API defines (not a connection that simply went away).
      for (const outcome of [fromOpenAI, fromAnthropic, fromOllama]) {
        expect(outcome).toBeInstanceOf(Error);
        expect((outcome as Error).message).toContain(`the gateway stopped (${WHY}) before the answer ended`);
      }
      expect(fromOpenAI).toBeInstanceOf(OpenAI.APIError);
      expect(fromAnthropic).toBeInstanceOf(Anthropic.APIError);
    } finally {
      engine.setFault('ok');
      server.kill('SIGKILL');
    }
    // Each request's access-log line names its own evidence row (all three were cancelled by one
    // stop, with one reason: the ids the pipeline adds to it must not be the last request's for all).
    const logged = String((await server).stderr)
      .split('\n')
      .filter((line) => / interrupted /.test(line))
      .map((line) => line.split(' ').at(-1));
    const { result, document } = await scenario.json(['evidence', 'list', '--limit', '3']);
    expect(result.exitCode, result.stderr).toBe(0);
    const rows = document.evidence as ListedRow[];
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row).toMatchObject({ state: 'failed', caller: 'gateway', error: { code: 'interrupted', message: `the gateway stopped (${WHY}) before the answer ended` } });
      expect(row.markers).toContain('partial_response');
    }
    expect(logged.sort()).toEqual(rows.map((row) => row.id).sort());
    const verify = await scenario.cli(['evidence', 'verify']);
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
  });
});
