import { randomBytes } from 'node:crypto';
import type { FakeEngineKind } from './index.js';

/** A complete answer from a fake engine, before faults are applied. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  /** A complete body (non-streaming answers, errors, discovery). */
  body?: string;
  /** SSE frames, each written as one chunk; the last `terminalFrames` of them end the stream. */
  frames?: string[];
  terminalFrames?: number;
}

/** Go's encoding/json output: compact, with <, > and & escaped as \u003c, \u003e, \u0026 (Ollama). */
export function goJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Compact JSON as nlohmann::json::dump(), pydantic's model_dump_json and Anthropic's API write it. */
export function compactJson(value: unknown): string {
  return JSON.stringify(value);
}

/** Pretty JSON with two spaces (OpenAI's and LM Studio's non-streaming bodies). */
export function prettyJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent);
}

/** JSON body of a non-streaming answer exactly as each engine serialises it. */
export function serializeBody(kind: FakeEngineKind, value: unknown): string {
  switch (kind) {
    case 'ollama':
      return `${goJson(value)}\n`; // json.NewEncoder(w).Encode appends a newline
    case 'lmstudio':
    case 'openai':
      return prettyJson(value);
    default:
      return compactJson(value);
  }
}

/** JSON of one stream chunk as each engine serialises it (always compact on the wire). */
export function serializeChunk(kind: FakeEngineKind, value: unknown): string {
  return kind === 'ollama' ? goJson(value) : compactJson(value);
}

/** Response headers of JSON answers, as each real engine sends them (Date/Content-Length are added by node). */
export function jsonHeaders(kind: FakeEngineKind, path: string): Record<string, string> {
  switch (kind) {
    case 'ollama':
      // gin's c.JSON on /api/*; the OpenAI middleware sets the bare media type on /v1/*.
      return { 'Content-Type': path.startsWith('/v1/') ? 'application/json' : 'application/json; charset=utf-8' };
    case 'llama.cpp':
      // cpp-httplib: an empty Access-Control-Allow-Origin on every answer (see test/fixtures/llama.cpp-real).
      return { Server: 'llama.cpp', 'Access-Control-Allow-Origin': '', 'Content-Type': 'application/json; charset=utf-8' };
    case 'vllm':
      return { server: 'uvicorn', 'content-type': 'application/json' };
    case 'lmstudio':
      return { 'X-Powered-By': 'Express', 'Content-Type': 'application/json; charset=utf-8' };
    case 'openai':
      return {
        'content-type': 'application/json',
        'openai-organization': 'user-fake',
        'openai-processing-ms': '212',
        'openai-version': '2020-10-01',
        'x-ratelimit-limit-requests': '10000',
        'x-ratelimit-remaining-requests': '9999',
        'x-request-id': `req_${randomHex(16)}`,
      };
    case 'anthropic':
      return {
        'content-type': 'application/json',
        'request-id': `req_011C${randomBase62(20)}`,
        'anthropic-organization-id': '00000000-0000-4000-8000-000000000000',
      };
  }
}

/** Response headers of SSE streams, as each real engine sends them. */
export function streamHeaders(kind: FakeEngineKind): Record<string, string> {
  switch (kind) {
    case 'ollama':
      return { 'Content-Type': 'text/event-stream' };
    case 'llama.cpp':
      return { Server: 'llama.cpp', 'Access-Control-Allow-Origin': '', 'X-Accel-Buffering': 'no', 'Content-Type': 'text/event-stream' };
    case 'vllm':
      return { server: 'uvicorn', 'content-type': 'text/event-stream; charset=utf-8' };
    case 'lmstudio':
      return { 'X-Powered-By': 'Express', 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' };
    case 'openai':
      return {
        'content-type': 'text/event-stream; charset=utf-8',
        'openai-organization': 'user-fake',
        'openai-processing-ms': '145',
        'openai-version': '2020-10-01',
        'x-request-id': `req_${randomHex(16)}`,
      };
    case 'anthropic':
      return {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'request-id': `req_011C${randomBase62(20)}`,
        'anthropic-organization-id': '00000000-0000-4000-8000-000000000000',
      };
  }
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LOWER_ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function randomBase62(length: number): string {
  return randomFrom(BASE62, length);
}

export function randomLowerAlphanumeric(length: number): string {
  return randomFrom(LOWER_ALPHANUMERIC, length);
}

function randomFrom(alphabet: string, length: number): string {
  const bytes = randomBytes(length);
  let result = '';
  for (let index = 0; index < length; index += 1) result += alphabet[bytes[index]! % alphabet.length];
  return result;
}
