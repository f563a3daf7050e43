import type { IncomingHttpHeaders } from 'node:http';
import type { EngineState } from './engine-state.js';
import type { FakeEngineKind } from './index.js';
import { jsonHeaders, type Reply } from './wire-format.js';

export function isInferencePath(kind: FakeEngineKind, path: string): boolean {
  return kind === 'anthropic' ? path === '/v1/messages' : path === '/v1/chat/completions';
}

export function errorReply(state: EngineState, path: string, status: number): Reply {
  return { status, headers: jsonHeaders(state.kind, path), body: JSON.stringify({ error: { message: `HTTP ${status}` } }) };
}

export function answerInference(state: EngineState, path: string, _body: Buffer, _headers: IncomingHttpHeaders): Reply {
  return errorReply(state, path, 501);
}
