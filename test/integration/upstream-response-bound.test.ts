/**
 * A broken or hostile upstream whose answer never ends, streamed or not: the transport stops
 * reading at its bound (MAX_RESPONSE_BODY_BYTES) and the attempt fails as an upstream failure — a
 * 502, or the client's stream ended with its API's error event — its evidence saying why: neither
 * the gateway's memory nor the evidence store grows with the answer.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getEvidence, listEvidence } from '../../src/evidence/index.js';
import { HealthMonitor } from '../../src/router/health.js';
import { MAX_RESPONSE_BODY_BYTES } from '../../src/transport/index.js';
import { Scenario } from '../helpers/scenario.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const BOUND = 1024 * 1024;
/** How the failure names the test's bound. */
const PAST_BOUND = 'sent a response body of more than 1 MiB';
const MODEL = 'llama3.2:3b';

/** What an endless stream repeats after its first token: more of the answer (a model looping), or SSE keep-alive comments (a broken server). */
type EndlessFiller = 'text' | 'comments';

/** One `chat.completion.chunk` event as an OpenAI-compatible engine writes it. */
function chunkEvent(content: string): string {
  const chunk = { id: 'chatcmpl-endless', object: 'chat.completion.chunk', created: 1_765_000_000, model: MODEL, choices: [{ index: 0, delta: { content }, finish_reason: null }] };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/**
 * Answers every POST (a chat request) 200 with a body that does not end, as fast as the socket
 * takes it: a non-streamed request gets a JSON body that never closes, a streamed one a first token
 * and then `filler` (the same block again and again: nothing grows here). Only past `resetAfter`
 * bytes does it reset the connection, so that a reader without a bound fails the test instead of
 * filling the disk with evidence.
 */
async function startEndlessUpstream(filler: EndlessFiller, resetAfter: number): Promise<{ baseUrl: string; lastSent: () => number; close: () => Promise<void> }> {
  const blocks = {
    json: Buffer.alloc(64 * 1024, 0x20),
    text: Buffer.from(chunkEvent(' loop'.repeat(1024)).repeat(12)),
    comments: Buffer.from(`: ${'x'.repeat(1021)}\n`.repeat(64)),
  };
  /** Bytes of the latest answer's body written so far. */
  let sent = 0;
  const server: Server = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      if (request.method !== 'POST') {
        // Its health check (GET /v1/models) is answered as an OpenAI-compatible engine answers it.
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(`{"object":"list","data":[{"id":"${MODEL}","object":"model","owned_by":"endless"}]}`);
        return;
      }
      const streamed = (JSON.parse(Buffer.concat(parts).toString('utf8')) as { stream?: boolean }).stream === true;
      let block: Buffer;
      if (streamed) {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.write(chunkEvent('loop'));
        block = blocks[filler];
      } else {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"id":"chatcmpl-endless","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"');
        block = blocks.json;
      }
      sent = 0;
      const pump = (): void => {
        while (!response.destroyed) {
          if (sent > resetAfter) {
            response.destroy();
            return;
          }
          sent += block.length;
          if (!response.write(block)) break;
        }
        if (!response.destroyed) response.once('drain', pump);
      };
      pump();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    lastSent: () => sent,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('an upstream whose answer never ends, through the gateway', () => {
  let upstream: Awaited<ReturnType<typeof startEndlessUpstream>>;
  let gateway: TestGateway;

  beforeAll(async () => {
    upstream = await startEndlessUpstream('text', 64 * BOUND);
    gateway = await startTestGateway({ providers: [{ id: 'endless', class: 'local', wire: 'openai', baseUrl: upstream.baseUrl, models: [{ id: MODEL }] }] });
    // The real bound is 256 MiB; the test's upstream is stopped at 1 MiB to keep the machine free.
    gateway.pipeline.responseBodyLimitBytes = BOUND;
  });
  // Every answer here fails: three in a row would mark the engine failing for the next test.
  beforeEach(() => {
    gateway.pipeline.health = new HealthMonitor();
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  /** The newest evidence row of this gateway's store, once finished. */
  async function newestRecord(): Promise<ReturnType<typeof getEvidence>> {
    const newest = async (): Promise<string | undefined> => {
      await gateway.settled();
      return listEvidence(gateway.store, { provider: 'endless', limit: 1 })[0]?.id;
    };
    await expect.poll(async () => {
      const id = await newest();
      return id === undefined ? undefined : getEvidence(gateway.store, id)?.state;
    }, { timeout: 20_000, interval: 20 }).toBe('failed');
    return getEvidence(gateway.store, (await newest()) ?? '');
  }

  it('non-streamed: the OpenAI client gets a 502 naming the bound, the upstream is cut off there, and the evidence row records why', { timeout: 90_000 }, async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const failure = await client.chat.completions
      .create({ model: `endless:${MODEL}`, messages: [{ role: 'user', content: 'hello' }] })
      .withResponse()
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    const apiError = failure as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(502);
    expect(apiError.message).toContain(PAST_BOUND);
    // The gateway stopped reading (and closed the connection) near the bound: the upstream never got to reset it.
    expect(upstream.lastSent()).toBeLessThan(64 * BOUND);
    const record = await newestRecord();
    expect(record?.error).toMatchObject({ code: 'upstream_response_too_large' });
    expect(record?.markers).toEqual(expect.arrayContaining(['upstream_error', 'partial_response']));
  });

  it('streamed (a model looping): the OpenAI client stream throws naming the bound after the answer started, the upstream is cut off, the evidence row is failed', { timeout: 90_000 }, async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: `endless:${MODEL}`, stream: true, messages: [{ role: 'user', content: 'hello' }] });
    let received = 0;
    const failure = await (async () => {
      for await (const chunk of stream) received += chunk.choices[0]?.delta.content?.length ?? 0;
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as Error).message).toContain(PAST_BOUND);
    // The answer up to the bound reached the client; the gateway read no further.
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(BOUND);
    expect(upstream.lastSent()).toBeLessThan(64 * BOUND);
    const record = await newestRecord();
    expect(record).toMatchObject({ state: 'failed', status: 200, streamed: true });
    expect(record?.error).toMatchObject({ code: 'stream_broken', message: expect.stringContaining(PAST_BOUND) });
    expect(record?.markers).toEqual(expect.arrayContaining(['upstream_error', 'partial_response']));
    // What the evidence holds stops at the bound (at most one socket read past it).
    const recorded = record?.response?.body?.length ?? 0;
    expect(recorded).toBeGreaterThan(BOUND);
    expect(recorded).toBeLessThan(2 * BOUND);
  });

  it('streamed to the Anthropic and Ollama clients: each stream ends with its API error, naming the bound', { timeout: 90_000 }, async () => {
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
    const message = anthropic.messages.stream({ model: `endless:${MODEL}`, max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] });
    await expect(message.finalMessage()).rejects.toThrow(PAST_BOUND);
    expect((await newestRecord())?.error).toMatchObject({ code: 'stream_broken' });

    gateway.pipeline.health = new HealthMonitor();
    const ollama = new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
    const parts = await ollama.chat({ model: `endless:${MODEL}`, messages: [{ role: 'user', content: 'hello' }], stream: true });
    let done = false;
    await expect(
      (async () => {
        for await (const part of parts) done ||= part.done;
      })(),
    ).rejects.toThrow(PAST_BOUND);
    expect(done).toBe(false);
    expect((await newestRecord())?.error).toMatchObject({ code: 'stream_broken' });
  });
});

/**
 * `syndicate run` against a stream that never ends, at the real bound (the CLI process has no
 * other): 256 MiB of keep-alive comments go by — into the evidence — before the call is stopped.
 */
describe('syndicate run against an upstream whose stream never ends', () => {
  let upstream: Awaited<ReturnType<typeof startEndlessUpstream>>;
  let scenario: Scenario;

  beforeAll(async () => {
    upstream = await startEndlessUpstream('comments', MAX_RESPONSE_BODY_BYTES + 64 * BOUND);
    scenario = await Scenario.create();
    const record = ['apiVersion: syndicate/v1', 'kind: Provider', 'id: endless', 'class: local', 'wire: openai', `baseUrl: ${upstream.baseUrl}`, 'models:', `  - id: "${MODEL}"`, '    contextWindow: 32768', '    capabilityClass: small', 'deviations: []'];
    const file = join(scenario.home, 'endless.yaml');
    writeFileSync(file, `${record.join('\n')}\n`);
    const registered = await scenario.cli(['provider', 'register', file]);
    expect(registered.exitCode, registered.stderr).toBe(0);
  }, 90_000);
  afterAll(async () => {
    scenario?.cleanup();
    await upstream?.close();
  });

  it('exits 5 naming the bound after the first token, the upstream cut off near it, the evidence row failed with why', { timeout: 180_000 }, async () => {
    const run = await scenario.cli(['run', '--provider', 'endless', '--stream', 'hello'], { timeoutMs: 170_000 });
    expect(run.exitCode, run.stderr).toBe(5);
    expect(run.stdout).toBe('loop');
    const pastBound = `sent a response body of more than ${MAX_RESPONSE_BODY_BYTES / (1024 * 1024)} MiB`;
    expect(run.stderr).toContain(pastBound);
    // Not "retry": the same request could draw as much again.
    expect(run.stderr).toContain('hint: the partial answer above is incomplete; the upstream is broken');
    expect(upstream.lastSent()).toBeLessThan(MAX_RESPONSE_BODY_BYTES + 64 * BOUND);
    const { result, document } = await scenario.json(['evidence', 'list', '--provider', 'endless', '--limit', '1']);
    expect(result.exitCode, result.stderr).toBe(0);
    const [row] = document.evidence as Record<string, unknown>[];
    expect(row).toMatchObject({ state: 'failed', status: 200, streamed: true, error: { code: 'stream_broken', message: expect.stringContaining(pastBound) } });
    expect(row?.markers).toEqual(expect.arrayContaining(['upstream_error', 'partial_response']));
  });
});
