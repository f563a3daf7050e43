import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Policy } from '../../src/policy/types.js';
import { approvedHostedPair, startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';
import { startFakeEngine, type FakeEngine } from './fake-engines/index.js';
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

/** A gateway in front of a hosted OpenAI fake and a hosted Anthropic fake (`approvedHostedPair`), for a test file's egress checks. */
export interface HostedPairGateway {
  readonly openai: FakeEngine;
  readonly claude: FakeEngine;
  readonly gateway: TestGateway;
  /** `refusedOverOpenAI` through this gateway to its OpenAI fake. */
  refusedOverOpenAI(body: ChatBody, level: RefusedLevel): Promise<void>;
  /** `refusedOverAnthropic` through this gateway to its Anthropic fake. */
  refusedOverAnthropic(body: MessagesBody, level: RefusedLevel): Promise<void>;
}

/** Starts the fakes and the gateway (with `policy`, else the test policy) before the file's tests, and stops them after. */
export function useHostedPairGateway(options: { policy?: Policy } = {}): HostedPairGateway {
  let openai: FakeEngine | undefined;
  let claude: FakeEngine | undefined;
  let gateway: TestGateway | undefined;
  beforeAll(async () => {
    [openai, claude] = await Promise.all([startFakeEngine({ kind: 'openai' }), startFakeEngine({ kind: 'anthropic' })]);
    gateway = await startTestGateway({ providers: approvedHostedPair(openai, claude), ...(options.policy === undefined ? {} : { policy: options.policy }) });
  }, 90_000);
  afterAll(async () => {
    await gateway?.close();
    await Promise.all([openai?.close(), claude?.close()]);
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the hosted pair gateway is started in beforeAll');
    return value;
  };
  return {
    get openai() {
      return started(openai);
    },
    get claude() {
      return started(claude);
    },
    get gateway() {
      return started(gateway);
    },
    refusedOverOpenAI: (body, level) => refusedOverOpenAI(started(gateway).url, TEST_TOKEN, started(openai), body, level),
    refusedOverAnthropic: (body, level) => refusedOverAnthropic(started(gateway).url, TEST_TOKEN, started(claude), body, level),
  };
}
