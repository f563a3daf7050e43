import { isRetryableStatus } from '../errors.js';
import type { WireError } from './adapter.js';
import { isRecord, stringField, tryParseJson } from './json.js';

const MAXIMUM_MESSAGE_LENGTH = 500;

/**
 * Reads an upstream error body whatever shape it has: OpenAI and llama.cpp
 * `{error:{message,type,code}}`, Anthropic `{type:"error",error:{type,message}}`, Ollama
 * `{error:"..."}`, vLLM `{object:"error",message,type}`, a bare `{message}`, HTML or nothing.
 */
export function decodeErrorBody(status: number, body: string): WireError {
  const parsed = tryParseJson(body);
  if (isRecord(parsed)) {
    const nested = parsed['error'];
    if (isRecord(nested)) {
      const message = stringField(nested, 'message') ?? stringField(parsed, 'message');
      const errorType = stringField(nested, 'type') ?? codeAsString(nested['code']);
      return build(status, message, errorType);
    }
    if (typeof nested === 'string') {
      return build(status, nested, stringField(parsed, 'type') ?? codeAsString(parsed['code']));
    }
    const message = stringField(parsed, 'message') ?? stringField(parsed, 'detail');
    if (message !== undefined) {
      return build(status, message, stringField(parsed, 'type') ?? codeAsString(parsed['code']));
    }
  }
  return build(status, textSummary(body), undefined);
}

function codeAsString(code: unknown): string | undefined {
  return typeof code === 'string' && code !== '' ? code : undefined;
}

function build(status: number, message: string | undefined, errorType: string | undefined): WireError {
  const text = message === undefined || message.trim() === '' ? `upstream answered HTTP ${status}` : message.trim();
  return {
    status,
    message: truncate(text),
    ...(errorType === undefined ? {} : { errorType }),
    isRetryable: isRetryableStatus(status),
  };
}

/** A readable line from a non-JSON body: an HTML page's title or its text, else the raw text. */
function textSummary(body: string): string | undefined {
  const trimmed = body.trim();
  if (trimmed === '') return undefined;
  if (/^<(!doctype|html|head|body|\?xml)/i.test(trimmed) || /<\/[a-z]+>/i.test(trimmed)) {
    const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(trimmed)?.[1];
    const text = (title ?? trimmed.replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/gi, ' ').replace(/<[^>]+>/g, ' '))
      .replace(/\s+/g, ' ')
      .trim();
    return text === '' ? undefined : text;
  }
  return trimmed.replace(/\s+/g, ' ');
}

function truncate(text: string): string {
  return text.length <= MAXIMUM_MESSAGE_LENGTH ? text : `${text.slice(0, MAXIMUM_MESSAGE_LENGTH - 1)}…`;
}
