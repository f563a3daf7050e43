import { describe, expect, it } from 'vitest';
import { redactRequestHeaders, redactResponseHeaders, redactUrl } from '../../../src/transport/index.js';

describe('redaction', () => {
  it('redacts every credential-bearing request header and keeps the rest', () => {
    expect(
      redactRequestHeaders({
        Authorization: 'Bearer a',
        'proxy-authorization': 'Basic b',
        'x-api-key': 'c',
        'api-key': 'd',
        cookie: 'e',
        'x-goog-api-key': 'f',
        'x-auth-token': 'g',
        'x-client-secret': 'h',
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
        'user-agent': 'syndicate',
      }),
    ).toEqual({
      Authorization: '[redacted]',
      'proxy-authorization': '[redacted]',
      'x-api-key': '[redacted]',
      'api-key': '[redacted]',
      cookie: '[redacted]',
      'x-goog-api-key': '[redacted]',
      'x-auth-token': '[redacted]',
      'x-client-secret': '[redacted]',
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
      'user-agent': 'syndicate',
    });
  });

  it('keeps rate-limit headers in responses but redacts cookies and credentials', () => {
    expect(
      redactResponseHeaders({
        'set-cookie': 'session=1',
        'x-ratelimit-remaining-tokens': '10',
        'anthropic-ratelimit-input-tokens-remaining': '5',
        'x-amz-security-token': 'z',
        'openai-processing-ms': '12',
      }),
    ).toEqual({
      'set-cookie': '[redacted]',
      'x-ratelimit-remaining-tokens': '10',
      'anthropic-ratelimit-input-tokens-remaining': '5',
      'x-amz-security-token': '[redacted]',
      'openai-processing-ms': '12',
    });
  });

  it('redacts user info and credential query parameters, byte for byte otherwise', () => {
    expect(redactUrl('https://user:pass@api.example.com/v1/chat?key=abc&alt=sse&access_token=t#frag')).toBe(
      'https://[redacted]@api.example.com/v1/chat?key=[redacted]&alt=sse&access_token=[redacted]',
    );
    expect(redactUrl('http://127.0.0.1:11434/v1/chat/completions')).toBe('http://127.0.0.1:11434/v1/chat/completions');
    expect(redactUrl('not a url')).toBe('not a url');
  });
});
