import { describe, expect, it } from 'vitest';
import { redactCredential, redactRequestHeaders, redactResponseHeaders, redactUrl } from '../../../src/transport/index.js';

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

  it("redacts the header carrying the provider's key whatever its name (a record's auth.header), and only that one", () => {
    const key = 'engine-key-3f9a1c7e5b2d4f60';
    expect(redactRequestHeaders({ 'x-credential': key, 'x-subscription': `Token ${key}`, 'content-type': 'application/json' }, key)).toEqual({
      'x-credential': '[redacted]',
      'x-subscription': '[redacted]',
      'content-type': 'application/json',
    });
    expect(redactRequestHeaders({ 'x-credential': key }, '')).toEqual({ 'x-credential': key });
    // An upstream quoting it back in a response header of its own.
    expect(redactResponseHeaders({ 'x-echo': `seen ${key}`, 'x-ratelimit-remaining-tokens': '10' }, key)).toEqual({ 'x-echo': '[redacted]', 'x-ratelimit-remaining-tokens': '10' });
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

  describe('redactCredential (an upstream error message quoting the key)', () => {
    const KEY = 'sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXyZ0';
    it('the whole key', () => {
      expect(redactCredential(`Incorrect API key provided: ${KEY}.`, KEY)).toBe('Incorrect API key provided: [redacted].');
    });
    it("masked as OpenAI masks it (start and last four shown), or with either end only", () => {
      expect(redactCredential(`Incorrect API key provided: sk-proj-${'*'.repeat(24)}XyZ0. You can find your API key at https://platform.openai.com/account/api-keys.`, KEY)).toBe(
        'Incorrect API key provided: [redacted]. You can find your API key at https://platform.openai.com/account/api-keys.',
      );
      expect(redactCredential('key "sk-p...XyZ0" was revoked', KEY)).toBe('key "[redacted]" was revoked');
      expect(redactCredential('key ****XyZ0 is over its quota', KEY)).toBe('key [redacted] is over its quota');
      expect(redactCredential('key sk-proj-Ab3d•••• expired', KEY)).toBe('key [redacted] expired');
      expect(redactCredential('key sk-proj-Ab3d… expired', KEY)).toBe('key [redacted] expired');
    });
    it('a run of eight or more of its characters, quoted without a mask', () => {
      expect(redactCredential('token Ef6hIj9kLm2n rejected', KEY)).toBe('token [redacted] rejected');
    });
    it('leaves a mask that shows another key, ellipses in prose and short keys alone', () => {
      expect(redactCredential('key sk-other****9999 is not yours... try again', KEY)).toBe('key sk-other****9999 is not yours... try again');
      expect(redactCredential('Incorrect API key provided: abc1234.', 'abc1234')).toBe('Incorrect API key provided: abc1234.');
      expect(redactCredential('anything', undefined)).toBe('anything');
    });
  });
});
