/**
 * The fallback walk passes over a candidate a hold keeps out when it is reached (`heldNow`), and
 * says so as the route says it of a hold already in force (`heldBack`, one function for both): the
 * same words, and the same facts for the hint. Here another syndicate process holds the engine's
 * other model down while the first call is made, in a hold that names no cause (a store row
 * without one): a model held down is failing — its provider answers — and the hint must not send
 * the operator to start an engine that is running.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { invoke } from '../../../src/invoke/pipeline.js';
import type { PipelineContext } from '../../../src/invoke/types.js';
import { HealthMonitor } from '../../../src/router/health.js';
import type { HoldBook, SharedHold } from '../../../src/router/shared-holds.js';
import type { FakeEngine } from '../../helpers/fake-engines/index.js';
import { inferenceCalls, loopbackEngine, pipelineOver, question } from '../../helpers/pipeline.js';

const MODELS = ['llama3', 'qwen3'];

/** An engine whose every inference call fails (its health probe answers). */
let upstream: FakeEngine;

beforeAll(async () => {
  upstream = await loopbackEngine(MODELS);
  upstream.setFault({ status: 500, body: JSON.stringify({ error: { message: 'engine crashed', type: 'server_error' } }) });
});

afterAll(() => upstream.close());

let pipeline: PipelineContext;

beforeEach(async () => {
  pipeline = await pipelineOver([{ id: 'engine', class: 'local', wire: 'openai', baseUrl: upstream.baseUrl, models: MODELS.map((id) => ({ id })) }], {
    health: new HealthMonitor({ holdBook: holdBookOfAnotherProcess() }),
  });
  upstream.exchanges.length = 0;
  return () => pipeline.store.close();
});

/** The model the first inference call was not for, held by "another process" from then on. */
function heldModel(): string | undefined {
  const first = inferenceCalls(upstream)[0];
  if (first === undefined) return undefined;
  const called = (JSON.parse(first.requestBody.toString('utf8')) as { model: string }).model;
  return MODELS.find((id) => id !== called);
}

/** Another process's holds as the store would give them (on `clock`): the held model down, with no cause recorded. */
function holdBookOfAnotherProcess(clock: () => number = Date.now): HoldBook {
  const releases = new Map();
  const refusals = new Map();
  return {
    othersHolds: (provider): readonly SharedHold[] => {
      const held = heldModel();
      if (provider !== 'engine' || held === undefined) return [];
      const now = clock();
      return [{ provider, model: held, state: 'down', until: now + 20_000, reason: 'engine failed', baseUrl: upstream.baseUrl, recordedAt: now, holder: 'another process' }];
    },
    record: () => undefined,
    clear: () => undefined,
    recordToolsRefusal: () => undefined,
    toolsRefusals: () => refusals,
    releases: () => releases,
  };
}

describe('a model held down meanwhile, by a hold that names no cause', () => {
  it('is passed over in the route’s words, as failing: the hint says its calls fail, not that nothing answers', async () => {
    const failure = await invoke(pipeline, { request: question(), caller: 'cli' }).then(
      () => undefined,
      (error: unknown) => error as { code: string; hint: string; details: { attempts: { model: string }[]; passedOver: { provider: string; model: string; reason: string }[] } },
    );
    expect(failure?.code).toBe('inference_unavailable');
    const held = heldModel() ?? '';
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

  it("dates the hold's end on the health monitor's clock, which measured its time left (here an hour ahead of the wall clock)", async () => {
    const ahead = (): number => Date.now() + 3_600_000;
    const from = ahead();
    const failure = await invoke({ ...pipeline, health: new HealthMonitor({ holdBook: holdBookOfAnotherProcess(ahead), now: ahead }) }, { request: question(), caller: 'cli' }).then(
      () => undefined,
      (error: unknown) => error as { details: { passedOver: { reason: string }[] } },
    );
    const until = /\(until (\S+Z)\)/.exec(failure?.details.passedOver[0]?.reason ?? '')?.[1] ?? '';
    expect(Date.parse(until)).toBeGreaterThanOrEqual(from + 19_000);
    expect(Date.parse(until)).toBeLessThanOrEqual(ahead() + 20_000);
  });
});
