import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { expect } from 'vitest';
import type { FakeEngine } from './fake-engines/index.js';
import { inferenceExchanges } from './scenario.js';

type ChatBody = Parameters<OpenAI['chat']['completions']['create']>[0];
type MessagesBody = Parameters<Anthropic['messages']['create']>[0];
/** The levels a policy may keep from a hosted provider (`internal` too, under a policy that keeps it local). */
type RefusedLevel = 'internal' | 'confidential' | 'restricted';

/**
 * `body` through the gateway's OpenAI face (at `gatewayUrl`, with `token`) to the hosted fake
 * `hosted`: refused (403, naming `level`), and the fake received nothing (its own request log is checked).
 */
export async function refusedOverOpenAI(gatewayUrl: string, token: string, hosted: FakeEngine, body: ChatBody, level: RefusedLevel): Promise<void> {
  const before = inferenceExchanges(hosted).length;
  const client = new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey: token, maxRetries: 0 });
  const failure = await client.chat.completions.create(body).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(OpenAI.PermissionDeniedError);
  expect((failure as InstanceType<typeof OpenAI.PermissionDeniedError>).message).toContain(level);
  expect(inferenceExchanges(hosted)).toHaveLength(before);
}

/** `body` through the gateway's Anthropic face to the hosted fake `hosted`: refused (403, naming `level`), and the fake received nothing. */
export async function refusedOverAnthropic(gatewayUrl: string, token: string, hosted: FakeEngine, body: MessagesBody, level: RefusedLevel): Promise<void> {
  const before = inferenceExchanges(hosted).length;
  const client = new Anthropic({ baseURL: gatewayUrl, apiKey: token, maxRetries: 0 });
  const failure = await client.messages.create(body).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(Anthropic.PermissionDeniedError);
  expect((failure as InstanceType<typeof Anthropic.PermissionDeniedError>).message).toContain(level);
  expect(inferenceExchanges(hosted)).toHaveLength(before);
}
