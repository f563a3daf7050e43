/**
 * A secret split between two text parts of one message (OpenAI content parts, Anthropic text
 * blocks) is one value to the model that reads them one after the other: the gateway classifies
 * the parts joined, refuses the hosted route and sends the hosted provider nothing.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { approvedHostedPair, startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

let openai: FakeEngine;
let claude: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [openai, claude] = await Promise.all([startFakeEngine({ kind: 'openai' }), startFakeEngine({ kind: 'anthropic' })]);
  gateway = await startTestGateway({ providers: approvedHostedPair(openai, claude) });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([openai?.close(), claude?.close()]);
});

describe('a secret split between text parts', () => {
  it('an AWS key in two OpenAI content parts is restricted: refused, the hosted provider receives nothing', async () => {
    const before = inferenceExchanges(openai).length;
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const failure = await client.chat.completions
      .create({ model: 'openai:gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'text', text: 'deploy with AKIAIOSF' }, { type: 'text', text: 'ODNN7EXAMPLE please' }] }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((failure as InstanceType<typeof OpenAI.PermissionDeniedError>).message).toContain('restricted');
    expect(inferenceExchanges(openai)).toHaveLength(before);
  });

  it('an AWS key in two consecutive user messages (one message on the anthropic wire) is restricted: refused, Claude receives nothing', async () => {
    const before = inferenceExchanges(claude).length;
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const failure = await client.chat.completions
      .create({ model: 'claude:claude-sonnet-4-20250514', messages: [{ role: 'user', content: 'deploy with AKIAIOSF' }, { role: 'user', content: 'ODNN7EXAMPLE please' }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(inferenceExchanges(claude)).toHaveLength(before);
  });

  it('a card number in two Anthropic text blocks is confidential: refused, the hosted provider receives nothing', async () => {
    const before = inferenceExchanges(claude).length;
    const client = new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
    const failure = await client.messages
      .create({ model: 'claude:claude-sonnet-4-20250514', max_tokens: 32, messages: [{ role: 'user', content: [{ type: 'text', text: 'charge 4111 1111' }, { type: 'text', text: ' 1111 1111 today' }] }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((failure as InstanceType<typeof Anthropic.PermissionDeniedError>).message).toContain('confidential');
    expect(inferenceExchanges(claude)).toHaveLength(before);
  });
});
