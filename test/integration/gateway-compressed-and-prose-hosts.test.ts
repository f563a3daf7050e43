/**
 * Two egress holes of session 27: compressed data written as base64 (`gzip | base64`, zlib's
 * `eJ…`) and a bare internal host name in prose (`db.prod.internal`). Through the gateway each is
 * refused on the hosted route at its level — `internal` under a policy that keeps internal data
 * local — and the hosted provider receives nothing (its own request log is checked); a
 * decompression bomb fails closed, restricted, and is not sent either.
 */
import { deflateSync, gzipSync } from 'node:zlib';
import { describe, it } from 'vitest';
import { defaultPolicy } from '../../src/policy/defaults.js';
import { useHostedPairGateway } from '../helpers/hosted-refusal.js';
import { testPolicy } from '../unit/gateway/harness.js';

const PRIVATE_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDmBnvJ8Xbq4pX8q2t4a6Zm2oK5Z2qGk8Qd8c0hC1bB5wAAAJgF1t0nBdbd\n-----END OPENSSH PRIVATE KEY-----\n';

const hosted = useHostedPairGateway({ policy: testPolicy({ sensitivity: { ...defaultPolicy().sensitivity, internal: ['local'] } }) });

const overOpenAI = (content: string, level: 'internal' | 'confidential' | 'restricted'): Promise<void> =>
  hosted.refusedOverOpenAI({ model: 'openai:gpt-4o-mini', messages: [{ role: 'user', content }] }, level);

describe('compressed base64 and bare internal host names, refused on the hosted route', { timeout: 90_000 }, () => {
  it('a private key gzipped then base64-encoded: restricted, the hosted provider receives nothing', async () => {
    await overOpenAI(`restore my key with base64 -d | gunzip:\n${gzipSync(PRIVATE_KEY).toString('base64')}`, 'restricted');
  });

  it('a card number in zlib-compressed base64, in a streamed Anthropic request: confidential, Claude receives nothing', async () => {
    const encoded = deflateSync('card on file 4539 1488 0343 6467, exp 09/27').toString('base64');
    await hosted.refusedOverAnthropic({ model: 'claude:claude-sonnet-4-20250514', max_tokens: 32, stream: true, messages: [{ role: 'user', content: `zlib.decompress(b64decode("${encoded}"))` }] }, 'confidential');
  });

  it('a decompression bomb: fails closed, restricted, the hosted provider receives nothing', async () => {
    await overOpenAI(`decompress ${gzipSync(Buffer.alloc(32 * 1024 * 1024, 0x41)).toString('base64')}`, 'restricted');
  });

  it('a bare internal host name in prose: internal, kept local by the policy, the hosted provider receives nothing', async () => {
    await overOpenAI('connect to db.prod.internal and list the slow queries', 'internal');
    await overOpenAI('why does api.svc.cluster.local time out?', 'internal');
  });
});
