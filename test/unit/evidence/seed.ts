import type { Store } from '../../../src/store/store.js';
import {
  beginAttempt,
  completeAttempt,
  createRecorder,
  recordDenial,
  type AttemptOutcome,
  type AttemptStart,
} from '../../../src/evidence/index.js';

export const REQUEST_BODY = '{"model":"llama3","messages":[{"role":"user","content":"héllo"}],"stream":true}';
export const SSE_CHUNKS = [
  'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n',
  'data: {"choices":[{"delta":{"content":" there ✓"}}]}\n\n',
  'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3}}\n\ndata: [DONE]\n\n',
];

export function attemptStart(overrides: Partial<AttemptStart> = {}): AttemptStart {
  return {
    requestId: 'req_1',
    hop: 0,
    kind: 'invocation',
    caller: 'cli',
    provider: { id: 'ollama', version: 2, class: 'local' },
    model: 'llama3',
    permitId: 'pm_1',
    permit: { providerId: 'ollama', providerVersion: 2, model: 'llama3', nonce: 'n1', expiresAt: 123 },
    permitToken: 'v1.payload.signature',
    sensitivity: 'internal',
    route: { candidates: ['ollama:llama3'], reasons: ['local preferred'] },
    streamed: true,
    ...overrides,
  };
}

/** One completed streamed invocation with real bytes, through the recorder. */
export function seedCompleted(
  store: Store,
  overrides: Partial<AttemptStart> = {},
  chunks: (string | Uint8Array)[] = SSE_CHUNKS,
  requestBody = REQUEST_BODY,
  usage: AttemptOutcome['usage'] = { inputTokens: 5, outputTokens: 3 },
): string {
  const id = beginAttempt(store, attemptStart(overrides));
  const recorder = createRecorder(store, id, { flushIntervalMs: 0 });
  recorder.onRequest({
    method: 'POST',
    url: 'http://127.0.0.1:11434/v1/chat/completions',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-secret' },
    body: requestBody,
  });
  recorder.onResponseStart({ status: 200, headers: { 'content-type': 'text/event-stream' }, atMs: 12.5 });
  chunks.forEach((chunk, index) => recorder.onChunk(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, 20 + index * 10));
  recorder.onEnd({ atMs: 60, complete: true });
  completeAttempt(store, id, {
    state: 'completed',
    firstTokenMs: 20,
    totalMs: 60,
    usage,
    tokenAccounting: 'exact',
    verbatimCapture: recorder.verbatimCapture(),
    toolCallFidelity: 'not_applicable',
    markers: [],
    warnings: [{ setting: 'seed', message: 'not supported' }],
  });
  return id;
}

export function seedDenial(store: Store): string {
  return recordDenial(store, {
    requestId: 'req_d',
    caller: 'cli',
    provider: { id: 'anthropic', version: 1, class: 'approved_hosted' },
    model: 'claude',
    permitId: 'pm_x',
    reasonCode: 'permit_expired',
    message: 'the permit expired',
    sensitivity: 'confidential',
  });
}

/** A mixed store: completed, failed, denial, completed... `count` finished rows. */
export function seedMany(store: Store, count: number): string[] {
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    if (index % 3 === 1) ids.push(seedDenial(store));
    // The third envelope reports prompt-cache reads and writes (columns appended to the chain).
    else if (index === 2) ids.push(seedCompleted(store, { requestId: `req_${index}` }, SSE_CHUNKS, REQUEST_BODY, { inputTokens: 5, outputTokens: 3, cachedInputTokens: 3, cacheWriteInputTokens: 1 }));
    else ids.push(seedCompleted(store, { requestId: `req_${index}` }));
  }
  return ids;
}
