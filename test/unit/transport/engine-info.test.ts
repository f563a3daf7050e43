import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../src/errors.js';
import { engineJson } from '../../../src/transport/engine-info.js';

const URL = 'http://127.0.0.1:11434/api/tags';

function refusal(answer: Parameters<typeof engineJson>[1]): UpstreamError {
  try {
    engineJson(URL, answer);
  } catch (error) {
    if (error instanceof UpstreamError) return error;
    throw error;
  }
  throw new Error('engineJson accepted the answer');
}

describe('engineJson', () => {
  it('returns the JSON body of a 2xx answer', () => {
    expect(engineJson(URL, { status: 200, text: '{"models":[]}', contentType: 'application/json' })).toEqual({ models: [] });
  });

  it('a body that is not JSON: what answered (status, content type) is in the details, for the caller to say it is not the engine', () => {
    const error = refusal({ status: 200, text: '<!doctype html><title>Grafana</title>', contentType: 'text/html; charset=utf-8' });
    expect(error.code).toBe('engine_bad_response');
    expect(error.details).toEqual({ url: URL, status: 200, contentType: 'text/html; charset=utf-8' });
  });

  it('an error status: the same details, and the status on the error', () => {
    const error = refusal({ status: 404, text: '<html>Not Found</html>', contentType: 'text/html' });
    expect(error).toMatchObject({ code: 'engine_error', status: 404, details: { url: URL, status: 404, contentType: 'text/html' } });
    expect(refusal({ status: 500, text: 'oops' }).details).toEqual({ url: URL, status: 500 });
  });
});
