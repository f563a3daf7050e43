/**
 * A provider registered again (another process's `provider register` or `add`: a new version)
 * while a request is routed on its previous record. The pipeline issues its own permit for the
 * version it routed on, and the permit check finds a newer one current: the request used to be
 * refused as `permit_out_of_scope` (exit 4, 403 through the gateway) with the hint to issue a new
 * permit — which the caller never issued — and a denial recorded. It is routed again instead, on
 * the record as it is now, and nothing of the overtaken route is recorded.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getEvidence, listEvidence, verifyChain } from '../../../src/evidence/index.js';
import { invoke } from '../../../src/invoke/pipeline.js';
import type { PipelineContext } from '../../../src/invoke/types.js';
import { PermitKey } from '../../../src/permits/index.js';
import { currentProvider } from '../../../src/registry/provider-cache.js';
import { recordNewVersion } from '../../../src/registry/registry.js';
import { HealthMonitor } from '../../../src/router/health.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { registerTestProvider, testPolicy } from '../gateway/harness.js';

let upstream: Server;
let baseUrl: string;
/** Inference calls (POST): the route's health probes are GETs. */
let upstreamCalls = 0;

beforeAll(async () => {
  upstream = createServer((request, response) => {
    if (request.method === 'POST') upstreamCalls += 1;
    request.resume();
    request.on('end', () => {
      const answer = {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1,
        model: 'llama3',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 },
      };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
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
  await registerTestProvider(store, { id: 'engine', class: 'local', wire: 'openai', baseUrl, models: [{ id: 'llama3' }] });
  upstreamCalls = 0;
  return () => store.close();
});

/** A new version of `engine` (its model's window one token larger), as `provider register` of an edited record makes. */
function registerAgain(): void {
  const provider = currentProvider(store, 'engine');
  if (provider === undefined) throw new Error('engine is not registered');
  const models = provider.record.models.map((model) => ({ ...model, contextWindow: model.contextWindow + 1 }));
  recordNewVersion(store, 'engine', { ...provider.record, models }, 'registered again by the test');
}

/**
 * The pipeline's context; `registrations` of them happen each time a request has read the provider
 * records and is about to be routed (the route's first-token history is read right after the
 * records): deterministically between the route's read and the permit.
 */
function pipelineRegisteringMeanwhile(registrations: number, grouped: boolean): PipelineContext {
  let left = registrations;
  return {
    store,
    policy: testPolicy(),
    permitKey: PermitKey.fromBytes(randomBytes(32)),
    health: new HealthMonitor(),
    env: {},
    ...(grouped ? { commits: new GroupCommitter(store) } : {}),
    firstTokens: () => {
      if (left > 0) {
        left -= 1;
        registerAgain();
      }
      return () => undefined;
    },
  };
}

const request = { model: 'auto', messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'What is the capital of France?' }] }], stream: false };

describe('a provider registered again while a request is routed', () => {
  for (const grouped of [false, true]) {
    const path = grouped ? 'group commit (the gateway, MCP)' : 'one transaction per write (the CLI)';

    it(`routes the request again on the new version, recording only its answer: ${path}`, async () => {
      const pipeline = pipelineRegisteringMeanwhile(1, grouped);
      const result = await invoke(pipeline, { request, caller: 'cli' });
      await pipeline.commits?.idle();
      expect(result.response.text).toBe('Paris.');
      expect(result.provider).toMatchObject({ id: 'engine', version: 2 });
      expect(upstreamCalls).toBe(1);
      // One row: the answer, under the version it used; no denial of the overtaken route.
      const rows = listEvidence(store);
      expect(rows.map((row) => [row.kind, row.state])).toEqual([['invocation', 'completed']]);
      expect(getEvidence(store, result.evidenceId)).toMatchObject({ provider: { id: 'engine', version: 2 }, state: 'completed' });
      expect(verifyChain(store)).toMatchObject({ ok: true, rows: 1 });
    });

    it(`refuses as before once a loop of registrations overtook it every time (bounded): ${path}`, async () => {
      const pipeline = pipelineRegisteringMeanwhile(Number.MAX_SAFE_INTEGER, grouped);
      await expect(invoke(pipeline, { request, caller: 'cli' })).rejects.toMatchObject({ code: 'permit_out_of_scope' });
      await pipeline.commits?.idle();
      expect(upstreamCalls).toBe(0);
      // Routed four times (three again), the last refusal recorded.
      expect(currentProvider(store, 'engine')?.currentVersion).toBe(5);
      expect(listEvidence(store).map((row) => [row.kind, row.state])).toEqual([['denial', 'denied']]);
      expect(verifyChain(store)).toMatchObject({ ok: true });
    });
  }
});
