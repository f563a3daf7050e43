/**
 * The fallback walk passes over a candidate a hold keeps out when it is reached (`heldNow`), and
 * says so as the route says it of a hold already in force (`heldBack`, one function for both): the
 * same words, and the same facts for the hint. Here another syndicate process holds the engine's
 * other model down while the first call is made, in a hold that names no cause (a store row
 * without one): a model held down is failing — its provider answers — and the hint must not send
 * the operator to start an engine that is running.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { invoke } from '../../../src/invoke/pipeline.js';
import type { PipelineContext } from '../../../src/invoke/types.js';
import { PermitKey } from '../../../src/permits/index.js';
import { HealthMonitor } from '../../../src/router/health.js';
import type { HoldBook, SharedHold } from '../../../src/router/shared-holds.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { registerTestProvider, testPolicy } from '../gateway/harness.js';

const MODELS = ['llama3', 'qwen3'];

let upstream: Server;
let baseUrl: string;
/** Set by the first inference call: the model it was not for, now held by "another process". */
let heldModel: string | undefined;

beforeAll(async () => {
  upstream = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      // The health probe (GET /models): the engine answers.
      if (request.method !== 'POST') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: MODELS.map((id) => ({ id, object: 'model' })) }));
        return;
      }
      const called = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string }).model;
      heldModel ??= MODELS.find((id) => id !== called);
      response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'engine crashed', type: 'server_error' } }));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

let store: Store;

beforeEach(async () => {
  store = openStore(':memory:');
  await registerTestProvider(store, { id: 'engine', class: 'local', wire: 'openai', baseUrl, models: MODELS.map((id) => ({ id })) });
  heldModel = undefined;
  return () => store.close();
});

/** Another process's holds as the store would give them: the held model down, with no cause recorded. */
function holdBookOfAnotherProcess(): HoldBook {
  const releases = new Map();
  const refusals = new Map();
  return {
    othersHolds: (provider): readonly SharedHold[] => {
      if (provider !== 'engine' || heldModel === undefined) return [];
      const now = Date.now();
      return [{ provider, model: heldModel, state: 'down', until: now + 20_000, reason: 'engine failed', baseUrl, recordedAt: now, holder: 'another process' }];
    },
    record: () => undefined,
    clear: () => undefined,
    recordToolsRefusal: () => undefined,
    toolsRefusals: () => refusals,
    releases: () => releases,
  };
}

const request = { model: 'auto', messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'What is the capital of France?' }] }], stream: false };

describe('a model held down meanwhile, by a hold that names no cause', () => {
  it('is passed over in the route’s words, as failing: the hint says its calls fail, not that nothing answers', async () => {
    const context: PipelineContext = {
      store,
      policy: testPolicy(),
      permitKey: PermitKey.fromBytes(randomBytes(32)),
      health: new HealthMonitor({ holdBook: holdBookOfAnotherProcess() }),
      env: {},
    };
    const failure = await invoke(context, { request, caller: 'cli' }).then(
      () => undefined,
      (error: unknown) => error as { code: string; hint: string; details: { attempts: { model: string }[]; passedOver: { provider: string; model: string; reason: string }[] } },
    );
    expect(failure?.code).toBe('inference_unavailable');
    const held = heldModel ?? '';
    expect(failure?.details.attempts.map((attempt) => attempt.model)).toEqual(MODELS.filter((id) => id !== held));
    expect(failure?.details.passedOver).toEqual([
      {
        provider: 'engine',
        model: held,
        reason: expect.stringMatching(
          new RegExp(`^not called: model ${held} failing, held back for another (19|20) s \\(until \\S+Z\\): engine failed \\(seen by another syndicate process\\) \\(checked \\S+Z\\)$`),
        ),
      },
    ]);
    expect(failure?.hint).toContain('calls fail');
    expect(failure?.hint).not.toContain('nothing answers');
  });
});
