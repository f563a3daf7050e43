/**
 * A provider record may name the header its key travels in (`auth.header`): Azure's `api-key`,
 * an API manager's subscription header, a gateway's own. Evidence keeps the request's headers with
 * credentials redacted, and used to tell a credential by the header's name alone (`authorization`,
 * `x-api-key`, names holding key, token, secret or auth): a key sent in `x-credential` was stored,
 * and exported, verbatim. The header carrying the record's key is redacted whatever its name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../../src/evidence/index.js';
import { invoke } from '../../../src/invoke/pipeline.js';
import { registerProviderRecord } from '../../../src/registry/register.js';
import type { FakeEngine } from '../../helpers/fake-engines/index.js';
import { inferenceCalls, loopbackEngine, pipelineOver, question } from '../../helpers/pipeline.js';

const KEY = 'engine-key-3f9a1c7e5b2d4f60';

let upstream: FakeEngine;

beforeAll(async () => {
  upstream = await loopbackEngine(['llama3'], { answer: 'Paris.' });
});

afterAll(() => upstream.close());

describe('evidence of a call whose key travels in a header the record names', () => {
  it.each(['x-credential', 'X-Subscription', 'private-header'])('%s: the key is sent, and stored redacted', async (header) => {
    const context = await pipelineOver([], { env: { ENGINE_KEY: KEY } });
    try {
      await registerProviderRecord(
        context.store,
        {
          apiVersion: 'syndicate/v1',
          kind: 'Provider',
          id: 'engine',
          class: 'local',
          wire: 'openai',
          baseUrl: upstream.baseUrl,
          auth: { env: 'ENGINE_KEY', header },
          models: [{ id: 'llama3', contextWindow: 32_768, capabilityClass: 'medium' }],
        },
        'test provider engine',
      );
      const before = inferenceCalls(upstream).length;
      const result = await invoke(context, { request: question(), caller: 'cli' });
      // The engine did get the key, in the header the record names.
      expect(inferenceCalls(upstream)[before]?.requestHeaders[header.toLowerCase()]).toBe(KEY);
      const evidence = getEvidence(context.store, result.evidenceId);
      expect(evidence?.request.headers).toMatchObject({ [header.toLowerCase()]: '[redacted]' });
      expect(JSON.stringify(evidence)).not.toContain(KEY);
    } finally {
      context.store.close();
    }
  });
});
