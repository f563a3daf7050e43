import { describe, expect, it } from 'vitest';
import { PolicyRefusalError } from '../../../src/errors.js';
import { peekPermit, permitDenial } from '../../../src/permits/index.js';

const PAYLOAD = { v: 1, id: 'pmt_abc', provider: 'local-engine', providerVersion: 3, model: 'llama3.2:3b', maxSensitivity: 'internal', session: 'ses_1', iat: 1, exp: 2, nonce: 'n' };
const TOKEN = `syn1.${Buffer.from(JSON.stringify(PAYLOAD)).toString('base64url')}.c2ln`;

describe('permit denials', () => {
  it('peekPermit reads the claimed fields without trusting them', () => {
    expect(peekPermit(TOKEN)).toEqual({ id: 'pmt_abc', provider: 'local-engine', providerVersion: 3, model: 'llama3.2:3b', maxSensitivity: 'internal', session: 'ses_1', exp: 2 });
    expect(peekPermit('nope')).toBeUndefined();
  });

  it('keeps the token of a worthless permit (forged, replayed, ...) but never of one that may still be valid', () => {
    const forged = permitDenial(TOKEN, new PolicyRefusalError('permit_forged', 'bad signature'), { caller: 'cli' });
    expect(forged).toMatchObject({
      caller: 'cli',
      provider: { id: 'local-engine', version: 3 },
      model: 'llama3.2:3b',
      permitId: 'pmt_abc',
      permitToken: TOKEN,
      reasonCode: 'permit_forged',
      message: 'bad signature',
      sessionId: 'ses_1',
    });
    expect(forged.requestId).toMatch(/^req_/);
    const outOfScope = permitDenial(TOKEN, new PolicyRefusalError('permit_out_of_scope', 'wrong model'), { caller: 'cli', model: 'qwen2.5:7b', providerId: 'other' });
    expect(outOfScope.permitToken).toBeUndefined();
    expect(outOfScope).toMatchObject({ model: 'qwen2.5:7b', provider: { id: 'other' } });
    expect(outOfScope.provider).toEqual({ id: 'other' });
    expect(permitDenial(undefined, new PolicyRefusalError('provider_blocked', 'blocked'), { caller: 'cli', providerId: 'shady' })).toMatchObject({ provider: { id: 'shady' }, reasonCode: 'provider_blocked' });
  });
});
