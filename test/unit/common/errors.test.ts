import { describe, expect, it } from 'vitest';
import { ExitCode, InterruptedError, ownCopyOf, UpstreamError } from '../../../src/errors.js';

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

describe('ownCopyOf', () => {
  it('gives each request cancelled by one reason its own error: details added to one copy stay off the other and off the reason', () => {
    const reason = new InterruptedError('the gateway stopped before the answer ended', { hint: 'the capture so far is kept as partial evidence' });
    const first = ownCopyOf(reason).withDetails({ evidenceId: 'ev_first' });
    const second = ownCopyOf(reason).withDetails({ evidenceId: 'ev_second' });
    expect(first).toBeInstanceOf(InterruptedError);
    expect([first.message, first.hint, first.exitCode]).toEqual([reason.message, reason.hint, reason.exitCode]);
    expect(first.details).toEqual({ evidenceId: 'ev_first' });
    expect(second.details).toEqual({ evidenceId: 'ev_second' });
    expect(reason.details).toBeUndefined();
  });
});
