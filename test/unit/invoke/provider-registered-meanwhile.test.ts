/**
 * A provider registered again (another process's `provider register` or `add`: a new version)
 * while a request is routed on its previous record. The pipeline issues its own permit for the
 * version it routed on, and the permit check finds a newer one current: the request used to be
 * refused as `permit_out_of_scope` (exit 4, 403 through the gateway) with the hint to issue a new
 * permit — which the caller never issued — and a denial recorded. It is routed again instead, on
 * the record as it is now, and nothing of the overtaken route is recorded.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getEvidence, listEvidence, verifyChain } from '../../../src/evidence/index.js';
import { invoke } from '../../../src/invoke/pipeline.js';
import type { PipelineContext } from '../../../src/invoke/types.js';
import { currentProvider } from '../../../src/registry/provider-cache.js';
import { recordNewVersion } from '../../../src/registry/registry.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import type { Store } from '../../../src/store/store.js';
import type { FakeEngine } from '../../helpers/fake-engines/index.js';
import { inferenceCalls, loopbackEngine, pipelineOver, question } from '../../helpers/pipeline.js';

let upstream: FakeEngine;

beforeAll(async () => {
  upstream = await loopbackEngine(['llama3'], { answer: 'Paris.' });
});

afterAll(() => upstream.close());

let base: PipelineContext;
let store: Store;

beforeEach(async () => {
  base = await pipelineOver([{ id: 'engine', class: 'local', wire: 'openai', baseUrl: upstream.baseUrl, models: [{ id: 'llama3' }] }]);
  store = base.store;
  upstream.exchanges.length = 0;
  return () => store.close();
});

/** Inference calls (POST): the route's health probes are GETs. */
const upstreamCalls = (): number => inferenceCalls(upstream).length;

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
    ...base,
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

describe('a provider registered again while a request is routed', () => {
  for (const grouped of [false, true]) {
    const path = grouped ? 'group commit (the gateway, MCP)' : 'one transaction per write (the CLI)';

    it(`routes the request again on the new version, recording only its answer: ${path}`, async () => {
      const pipeline = pipelineRegisteringMeanwhile(1, grouped);
      const result = await invoke(pipeline, { request: question(), caller: 'cli' });
      await pipeline.commits?.idle();
      expect(result.response.text).toBe('Paris.');
      expect(result.provider).toMatchObject({ id: 'engine', version: 2 });
      expect(upstreamCalls()).toBe(1);
      // One row: the answer, under the version it used; no denial of the overtaken route.
      const rows = listEvidence(store);
      expect(rows.map((row) => [row.kind, row.state])).toEqual([['invocation', 'completed']]);
      expect(getEvidence(store, result.evidenceId)).toMatchObject({ provider: { id: 'engine', version: 2 }, state: 'completed' });
      expect(verifyChain(store)).toMatchObject({ ok: true, rows: 1 });
    });

    it(`refuses as before once a loop of registrations overtook it every time (bounded): ${path}`, async () => {
      const pipeline = pipelineRegisteringMeanwhile(Number.MAX_SAFE_INTEGER, grouped);
      await expect(invoke(pipeline, { request: question(), caller: 'cli' })).rejects.toMatchObject({ code: 'permit_out_of_scope' });
      await pipeline.commits?.idle();
      expect(upstreamCalls()).toBe(0);
      // Routed four times (three again), the last refusal recorded.
      expect(currentProvider(store, 'engine')?.currentVersion).toBe(5);
      expect(listEvidence(store).map((row) => [row.kind, row.state])).toEqual([['denial', 'denied']]);
      expect(verifyChain(store)).toMatchObject({ ok: true });
    });
  }
});
