import { describe, expect, it } from 'vitest';
import { ExitCode, UpstreamError } from '../../../src/errors.js';

describe('SyndicateError.withDetails', () => {
  it('adds to the details it was thrown with, keeps the rest, and returns the same error', () => {
    const error = new UpstreamError('the call failed', { code: 'upstream_failure', details: { url: 'http://127.0.0.1:11434/v1' } });
    const same = error.withDetails({ requestId: 'req_1', attempts: [] });
    expect(same).toBe(error);
    expect(error.details).toEqual({ url: 'http://127.0.0.1:11434/v1', requestId: 'req_1', attempts: [] });
    expect(error.toJSON()).toMatchObject({ code: 'upstream_failure', details: { requestId: 'req_1' } });
    expect(error.exitCode).toBe(ExitCode.upstream);
  });
});
