/**
 * An engine that accepts the connection and never answers (its model listing still answers, so its
 * health probe says up), through a real gateway and the official `openai` client: the first-byte
 * timeout ends the call (shortened here from its 120 s), the request falls back to the next
 * candidate its class allows, the hop is recorded with the timeout's code, later requests are routed
 * past the hung engine while it is held, and when nothing else may take the request the client gets
 * a 504 in the OpenAI error shape, streamed or not — never a dropped connection.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { listEvidence } from '../../../src/evidence/index.js';
import { createGateway, listenGateway } from '../../../src/gateway/index.js';
import { invoke } from '../../../src/invoke/pipeline.js';
import type { InvocationInput, PipelineContext } from '../../../src/invoke/types.js';
import { HealthMonitor } from '../../../src/router/health.js';
import { inferenceCalls, loopbackEngine, pipelineOver } from '../../helpers/pipeline.js';
import { testPolicy, TEST_TOKEN, type TestProvider } from './harness.js';

const FIRST_BYTE_MS = 300;

/** A loopback OpenAI-wire engine: `hang` reads each POST and never answers it; otherwise it answers "Paris.". */
async function engine(hang: boolean): Promise<{ baseUrl: string; posts: () => number; close: () => Promise<void> }> {
  const server = await loopbackEngine(['m'], { answer: 'Paris.' });
  if (hang) server.setFault('hang');
  return { baseUrl: server.baseUrl, posts: () => inferenceCalls(server).length, close: () => server.close() };
}

/**
 * A gateway over the real pipeline whose calls wait FIRST_BYTE_MS for a response, not 120 s (with
 * `firstByteMs` null: the transport's own 120 s), its health on `health`'s clock.
 */
async function gatewayOver(
  providers: TestProvider[],
  { health = new HealthMonitor(), firstByteMs = FIRST_BYTE_MS }: { health?: HealthMonitor; firstByteMs?: number | null } = {},
): Promise<{ url: string; pipeline: PipelineContext; close: () => Promise<void> }> {
  const pipeline = await pipelineOver(providers, {
    policy: testPolicy({ workflows: { interactive: { prefer: ['priority'], latencyBudget: {} }, batch: { prefer: ['priority'], latencyBudget: {} } } }),
    health,
    longRunning: true,
  });
  const shortFirstByte = (context: PipelineContext, input: InvocationInput) =>
    invoke(context, firstByteMs === null ? input : { ...input, timeouts: { ...input.timeouts, firstByteMs } });
  const running = await listenGateway(createGateway({ pipeline, invoke: shortFirstByte, token: TEST_TOKEN }), { host: '127.0.0.1', port: 0 });
  return {
    url: running.url,
    pipeline,
    close: async () => {
      await running.close();
      pipeline.store.close();
    },
  };
}

const client = (url: string): OpenAI => new OpenAI({ baseURL: `${url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
const ask = { model: 'auto', messages: [{ role: 'user' as const, content: 'What is the capital of France?' }] };

describe('an engine that accepts the connection and never answers', () => {
  let hung: Awaited<ReturnType<typeof engine>>;
  let good: Awaited<ReturnType<typeof engine>>;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    [hung, good] = await Promise.all([engine(true), engine(false)]);
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
  });
  afterAll(async () => {
    await Promise.all([hung, good].map((engine) => engine.close()));
  });

  it('falls back after the first-byte timeout, records the hop with its code, and routes the next request past it while it is held', async () => {
    const gateway = await gatewayOver([
      { id: 'hung', class: 'local', wire: 'openai', baseUrl: hung.baseUrl, models: [{ id: 'm', priority: 10 }] },
      { id: 'good', class: 'local', wire: 'openai', baseUrl: good.baseUrl, models: [{ id: 'm', priority: 1 }] },
    ]);
    closers.push(gateway.close);
    const hungBefore = hung.posts();
    const first = await client(gateway.url).chat.completions.create(ask).withResponse();
    expect(first.data.choices[0]?.message.content).toBe('Paris.');
    expect(hung.posts() - hungBefore).toBe(1);
    const requestId = first.response.headers.get('x-request-id');
    await gateway.pipeline.commits?.idle();
    const hops = listEvidence(gateway.pipeline.store)
      .filter((row) => row.requestId === requestId)
      .sort((a, b) => a.hop - b.hop)
      .map((row) => ({ hop: row.hop, provider: row.provider.id, state: row.state, markers: row.markers, error: row.error }));
    expect(hops).toMatchObject([
      { hop: 0, provider: 'hung', state: 'failed', markers: ['timeout'], error: { code: 'upstream_first_byte_timeout', message: expect.stringContaining(`sent no response within ${FIRST_BYTE_MS} ms`) } },
      { hop: 1, provider: 'good', state: 'completed', markers: expect.arrayContaining(['fallback']) },
    ]);
    // Held (5 s, local): the next request is not made to wait out the timeout again.
    const second = await client(gateway.url).chat.completions.create(ask);
    expect(second.choices[0]?.message.content).toBe('Paris.');
    expect(hung.posts() - hungBefore).toBe(1);
  });

  it('requests already waiting on it when another request finds it hung are cut then, fall back, and count no second failure', async () => {
    // The last request alone waits FIRST_BYTE_MS; the others the transport's own 120 s, which no test here outlives.
    const waiting = 2;
    const health = new HealthMonitor();
    const pipeline = await pipelineOver(
      [
        { id: 'hung', class: 'local', wire: 'openai', baseUrl: hung.baseUrl, models: [{ id: 'm', priority: 10 }] },
        { id: 'good', class: 'local', wire: 'openai', baseUrl: good.baseUrl, models: [{ id: 'm', priority: 1 }] },
      ],
      { policy: testPolicy({ workflows: { interactive: { prefer: ['priority'], latencyBudget: {} }, batch: { prefer: ['priority'], latencyBudget: {} } } }), health, longRunning: true },
    );
    let invocations = 0;
    const lastShort = (context: PipelineContext, input: InvocationInput) => {
      invocations += 1;
      return invoke(context, invocations <= waiting ? input : { ...input, timeouts: { ...input.timeouts, firstByteMs: FIRST_BYTE_MS } });
    };
    const running = await listenGateway(createGateway({ pipeline, invoke: lastShort, token: TEST_TOKEN }), { host: '127.0.0.1', port: 0 });
    closers.push(async () => {
      await running.close();
      pipeline.store.close();
    });
    const reported = vi.spyOn(health, 'reportFailure');
    const hungBefore = hung.posts();
    const first = Array.from({ length: waiting }, () => client(running.url).chat.completions.create(ask));
    for (const request of first) request.catch(() => undefined);
    await vi.waitFor(() => expect(hung.posts() - hungBefore).toBe(waiting), { timeout: 60_000, interval: 20 });
    const answers = await Promise.all([...first, client(running.url).chat.completions.create(ask)]);
    expect(answers.map((answer) => answer.choices[0]?.message.content)).toEqual(['Paris.', 'Paris.', 'Paris.']);
    expect(hung.posts() - hungBefore).toBe(waiting + 1);
    // Counted once: the call that waited out its timeout; the calls it cut are not failures of their own.
    expect(reported.mock.calls.map(([provider, failure]) => [provider.id, failure.code])).toEqual([['hung', 'upstream_first_byte_timeout']]);
    await pipeline.commits?.idle();
    const messageOf = (row: { error?: unknown }): string => (row.error as { message?: string } | undefined)?.message ?? '';
    const cut = listEvidence(pipeline.store).filter((row) => row.provider.id === 'hung' && messageOf(row).includes('the call was cut then'));
    expect(cut).toHaveLength(waiting);
    for (const row of cut) {
      expect(row).toMatchObject({ state: 'failed', markers: ['timeout'], error: { code: 'upstream_first_byte_timeout' } });
      expect(messageOf(row)).toContain('another request of this process found hung hung and held it until');
      expect(messageOf(row)).toContain(`sent no response within ${FIRST_BYTE_MS} ms`);
    }
  }, 90_000);

  it('never falls back to a class the request may not reach: a confidential prompt gets its 504, the hosted engine nothing', async () => {
    const gateway = await gatewayOver([
      { id: 'hung', class: 'local', wire: 'openai', baseUrl: hung.baseUrl, models: [{ id: 'm', priority: 10 }] },
      { id: 'hosted', class: 'approved_hosted', wire: 'openai', baseUrl: good.baseUrl, models: [{ id: 'm', priority: 1 }] },
    ]);
    closers.push(gateway.close);
    const hostedBefore = good.posts();
    const failure = await client(gateway.url)
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'my password is hunter2, why does login fail?' }] })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect((failure as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect(good.posts()).toBe(hostedBefore);
  });

  it('with nothing else to take the request, answers 504 in the OpenAI error shape, streamed or not, naming the timeout', async () => {
    for (const stream of [false, true]) {
      // A fresh gateway each time: the first call's hold would answer the second at once (503).
      const gateway = await gatewayOver([{ id: 'hung', class: 'local', wire: 'openai', baseUrl: hung.baseUrl, models: [{ id: 'm' }] }]);
      closers.push(gateway.close);
      const failure = await (stream ? client(gateway.url).chat.completions.create({ ...ask, stream: true }).then(async (events) => {
        for await (const event of events) void event;
      }) : client(gateway.url).chat.completions.create(ask)).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure, `stream: ${stream}`).toBeInstanceOf(OpenAI.APIError);
      const apiError = failure as InstanceType<typeof OpenAI.APIError>;
      expect(apiError.status).toBe(504);
      expect(apiError.code).toBe('inference_unavailable');
      expect(apiError.type).toBe('timeout');
      expect(apiError.message).toContain(`hung:m: 127.0.0.1:${new URL(hung.baseUrl).port} accepted the connection but sent no response within ${FIRST_BYTE_MS} ms`);
      expect(apiError.message).toContain('first-byte timeout');
    }
  });
});

/**
 * The transport's own first-byte timeout (120 s) on fake timers, fired as soon as the hung engine
 * has the request; the health monitor on a clock the test moves ahead, as an SDK's retry would.
 */
describe('an engine that hung is held for as long as the call waited on it', () => {
  let hung: Awaited<ReturnType<typeof engine>>;
  let good: Awaited<ReturnType<typeof engine>>;
  const closers: (() => Promise<void>)[] = [];
  let aheadMs = 0;
  const health = (): HealthMonitor => new HealthMonitor({ now: () => Date.now() + aheadMs });

  beforeAll(async () => {
    [hung, good] = await Promise.all([engine(true), engine(false)]);
  });
  afterEach(async () => {
    vi.useRealTimers();
    aheadMs = 0;
    await Promise.all(closers.splice(0).map((close) => close()));
  });
  afterAll(async () => {
    await Promise.all([hung, good].map((engine) => engine.close()));
  });

  /**
   * Sends `request`; if the hung engine gets a call, runs the 120 s of its first-byte timeout at
   * once (fake timers), so a request that should not have called it fails its test without the wait.
   */
  async function sent<T>(request: () => Promise<T>): Promise<T> {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'], shouldAdvanceTime: true });
    try {
      const before = hung.posts();
      let settled = false;
      const result = request().finally(() => (settled = true));
      while (!settled && hung.posts() === before) await new Promise((resolve) => setImmediate(resolve));
      if (!settled) await vi.advanceTimersByTimeAsync(120_000);
      return await result;
    } finally {
      vi.useRealTimers();
    }
  }
  const failureOf = (request: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> =>
    request.then(
      () => expect.fail('the request succeeded'),
      (error: unknown) => error as InstanceType<typeof OpenAI.APIError>,
    );

  it('a request 6 s after the hang (past the 5 s TTL) goes straight to the fallback', async () => {
    const gateway = await gatewayOver(
      [
        { id: 'hung', class: 'local', wire: 'openai', baseUrl: hung.baseUrl, models: [{ id: 'm', priority: 10 }] },
        { id: 'good', class: 'local', wire: 'openai', baseUrl: good.baseUrl, models: [{ id: 'm', priority: 1 }] },
      ],
      { health: health(), firstByteMs: null },
    );
    closers.push(gateway.close);
    const hungBefore = hung.posts();
    const first = await sent(() => client(gateway.url).chat.completions.create(ask));
    expect(first.choices[0]?.message.content).toBe('Paris.');
    aheadMs = 6000;
    const second = await sent(() => client(gateway.url).chat.completions.create(ask));
    expect(second.choices[0]?.message.content).toBe('Paris.');
    expect(hung.posts() - hungBefore).toBe(1);
  });

  it('with nothing else to take the request: a 504 saying to retry in 120 s, then, 6 s later, a 503 at once saying the 114 s left', async () => {
    const gateway = await gatewayOver([{ id: 'hung', class: 'local', wire: 'openai', baseUrl: hung.baseUrl, models: [{ id: 'm' }] }], { health: health(), firstByteMs: null });
    closers.push(gateway.close);
    const hungBefore = hung.posts();
    const timedOut = await sent(() => failureOf(client(gateway.url).chat.completions.create(ask)));
    expect(timedOut.status).toBe(504);
    expect(timedOut.headers?.get('retry-after')).toBe('120');
    aheadMs = 6000;
    const held = await sent(() => failureOf(client(gateway.url).chat.completions.create(ask)));
    expect(held.status).toBe(503);
    expect(held.headers?.get('retry-after')).toBe('114');
    expect(held.message).toContain('114 s');
    expect(hung.posts() - hungBefore).toBe(1);
  });
});
