/**
 * A secret split between two text parts of one message (OpenAI content parts, Anthropic text
 * blocks) is one value to the model that reads them one after the other: the gateway classifies
 * the parts joined, refuses the hosted route and sends the hosted provider nothing.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { useHostedPairGateway } from '../helpers/hosted-refusal.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { TEST_TOKEN } from '../unit/gateway/harness.js';

const hosted = useHostedPairGateway();

describe('a secret split between text parts', () => {
  it('an AWS key in two OpenAI content parts is restricted: refused, the hosted provider receives nothing', async () => {
    const before = inferenceExchanges(hosted.openai).length;
    const client = new OpenAI({ baseURL: `${hosted.gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const failure = await client.chat.completions
      .create({ model: 'openai:gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'text', text: 'deploy with AKIAIOSF' }, { type: 'text', text: 'ODNN7EXAMPLE please' }] }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((failure as InstanceType<typeof OpenAI.PermissionDeniedError>).message).toContain('restricted');
    expect(inferenceExchanges(hosted.openai)).toHaveLength(before);
  });

  it('an AWS key in two consecutive user messages (one message on the anthropic wire) is restricted: refused, Claude receives nothing', async () => {
    const before = inferenceExchanges(hosted.claude).length;
    const client = new OpenAI({ baseURL: `${hosted.gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const failure = await client.chat.completions
      .create({ model: 'claude:claude-sonnet-4-20250514', messages: [{ role: 'user', content: 'deploy with AKIAIOSF' }, { role: 'user', content: 'ODNN7EXAMPLE please' }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(inferenceExchanges(hosted.claude)).toHaveLength(before);
  });

  it('a card number in two Anthropic text blocks is confidential: refused, the hosted provider receives nothing', async () => {
    const before = inferenceExchanges(hosted.claude).length;
    const client = new Anthropic({ baseURL: hosted.gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
    const failure = await client.messages
      .create({ model: 'claude:claude-sonnet-4-20250514', max_tokens: 32, messages: [{ role: 'user', content: [{ type: 'text', text: 'charge 4111 1111' }, { type: 'text', text: ' 1111 1111 today' }] }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((failure as InstanceType<typeof Anthropic.PermissionDeniedError>).message).toContain('confidential');
    expect(inferenceExchanges(hosted.claude)).toHaveLength(before);
  });
});
