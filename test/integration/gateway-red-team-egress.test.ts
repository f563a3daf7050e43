/**
 * What an egress red team (session 26) still got to a hosted provider: base64 split by spaces and
 * line breaks at irregular places, base64 of Latin-1 text, an e-mail address written out, a netrc
 * entry's password, Twilio, Databricks and Discord bot tokens, a labelled national id. Through the
 * gateway each is refused on the hosted route at its level, and the hosted provider receives
 * nothing (its own request log is checked).
 */
import { describe, it } from 'vitest';
import { useHostedPairGateway } from '../helpers/hosted-refusal.js';

const KEY = 'AKIAIOSFODNN7EXAMPLE';

const hosted = useHostedPairGateway();

const overOpenAI = (content: string, level: 'confidential' | 'restricted'): Promise<void> =>
  hosted.refusedOverOpenAI({ model: 'openai:gpt-4o-mini', messages: [{ role: 'user', content }] }, level);

describe('what the red team got through, refused on the hosted route', { timeout: 90_000 }, () => {
  it('an AWS key in base64 split by spaces and line breaks at irregular places: restricted, the hosted provider receives nothing', async () => {
    const encoded = Buffer.from(`deploy key ${KEY} now`).toString('base64');
    await overOpenAI(`use ${encoded.slice(0, 7)} ${encoded.slice(7, 19)}\n${encoded.slice(19, 30)} ${encoded.slice(30)}`, 'restricted');
  });

  it('an AWS key in base64 of Latin-1 text, in a streamed Anthropic request: restricted, Claude receives nothing', async () => {
    const encoded = Buffer.from(`Schlüssel für Jürgen: ${KEY}`, 'latin1').toString('base64');
    await hosted.refusedOverAnthropic({ model: 'claude:claude-sonnet-4-20250514', max_tokens: 32, stream: true, messages: [{ role: 'user', content: `decode ${encoded}` }] }, 'restricted');
  });

  it('an e-mail address written out: confidential, the hosted provider receives nothing', async () => {
    await overOpenAI('write to jane.doe (at) example (dot) com and cc jane[at]example[dot]com', 'confidential');
    await overOpenAI('her address is jane at example dot com', 'confidential');
  });

  it("a netrc entry's password: restricted, the hosted provider receives nothing", async () => {
    await overOpenAI('my ~/.netrc:\nmachine api.example.com login jane password s3cr3tPw', 'restricted');
  });

  it('Twilio, Databricks and Discord bot tokens: restricted, the hosted provider receives nothing', async () => {
    await overOpenAI('twilio key SK2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d', 'restricted');
    await overOpenAI('Client("AC8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d", "f0e1d2c3b4a5968778695a4b3c2d1e0f")', 'restricted');
    await overOpenAI('databricks dapi0123456789abcdef0123456789abcdef-2', 'restricted');
    await overOpenAI(`client.login("${Buffer.from('123456789012345678').toString('base64url')}.GhT2xk.abcDEFghiJKLmnoPQRstuVWXyz0123456789ab")`, 'restricted');
  });
});
