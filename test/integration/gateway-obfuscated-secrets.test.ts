/**
 * Secrets and personal data written so that neither the Unicode fold nor the decoding alone reads
 * them, but a model does: an encoded run split by an invisible character or written in full-width
 * forms (folded, then decoded), an encoded value that decodes to invisible characters (decoded,
 * then folded), numbers in another script's decimal digits, and shapes no detector read: a JWK's
 * private member, a key in `\u{…}` escapes, a card number grouped with dots, and base64 of text
 * that is not plain UTF-8 (PowerShell's UTF-16 `-EncodedCommand`, terminal output with its colour
 * escapes). The gateway refuses
 * the hosted route and the hosted provider receives nothing (its own request log is checked).
 */
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { inferenceExchanges } from '../helpers/scenario.js';
import { useHostedPairGateway } from '../helpers/hosted-refusal.js';
import { TEST_TOKEN } from '../unit/gateway/harness.js';

const KEY = 'AKIAIOSFODNN7EXAMPLE';
const ZERO_WIDTH_SPACE = '\u200B';
const base64 = (text: string): string => Buffer.from(text).toString('base64');
const hex = (text: string): string => Buffer.from(text).toString('hex');
/** ASCII letters and digits as their full-width forms (`Ａ`, `０`). */
const fullWidth = (text: string): string => text.replace(/[!-~]/g, (character) => String.fromCharCode(character.charCodeAt(0) + 0xfee0));
/** ASCII digits as Arabic-Indic ones (`٤١١١`). */
const arabicIndic = (text: string): string => text.replace(/[0-9]/g, (digit) => String.fromCharCode(0x0660 + Number(digit)));

const hosted = useHostedPairGateway();
const { refusedOverOpenAI, refusedOverAnthropic } = hosted;

function openaiClient(): OpenAI {
  return new OpenAI({ baseURL: `${hosted.gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
}


describe('secrets the fold and the decoding read only together', { timeout: 90_000 }, () => {
  it('an AWS key in base64 split by a zero-width space is restricted: refused, the hosted provider receives nothing', async () => {
    const encoded = base64(KEY);
    await refusedOverOpenAI({ model: 'openai:gpt-4o-mini', messages: [{ role: 'user', content: `deploy with ${encoded.slice(0, 10)}${ZERO_WIDTH_SPACE}${encoded.slice(10)}` }] }, 'restricted');
  });

  it('an AWS key in full-width hex in a streamed tool result is restricted: refused, Claude receives nothing', async () => {
    await refusedOverAnthropic({
      model: 'claude:claude-sonnet-4-20250514',
      max_tokens: 32,
      stream: true,
      messages: [
        { role: 'user', content: 'read the config' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'read', input: { path: 'config' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: `key: ${fullWidth(hex(KEY))}` }] },
      ],
    }, 'restricted');
  });

  it('an AWS key with a zero-width space in it, base64-encoded, is restricted: refused, the hosted provider receives nothing', async () => {
    await refusedOverOpenAI({ model: 'openai:gpt-4o-mini', messages: [{ role: 'user', content: `decode and use ${base64(`AKIA${ZERO_WIDTH_SPACE}IOSFODNN7EXAMPLE`)}` }] }, 'restricted');
  });
});

describe('numbers in the decimal digits of other scripts', { timeout: 90_000 }, () => {
  it('a card number in Arabic-Indic digits is confidential: refused, the hosted provider receives nothing', async () => {
    await refusedOverOpenAI({ model: 'openai:gpt-4o-mini', messages: [{ role: 'user', content: `ادفع بالبطاقة ${arabicIndic('4111 1111 1111 1111')}` }] }, 'confidential');
  });

  it('a phone number in Devanagari digits is confidential: refused, Claude receives nothing', async () => {
    const devanagari = '+1 (415) 555-0132'.replace(/[0-9]/g, (digit) => String.fromCharCode(0x0966 + Number(digit)));
    await refusedOverAnthropic({ model: 'claude:claude-sonnet-4-20250514', max_tokens: 32, messages: [{ role: 'user', content: `call me on ${devanagari}` }] }, 'confidential');
  });

  it('a year in Arabic-Indic digits is no number of anyone: the hosted provider answers', async () => {
    const before = inferenceExchanges(hosted.openai).length;
    const answer = await openaiClient().chat.completions.create({ model: 'openai:gpt-4o-mini', messages: [{ role: 'user', content: `ما الذي حدث في سنة ${arabicIndic('2024')}؟` }] });
    expect(answer.choices[0]?.message.content).toBeTruthy();
    expect(inferenceExchanges(hosted.openai)).toHaveLength(before + 1);
  });
});

/** An Ed25519 JWK (RFC 8037's example key): `d` is its private part. */
const PUBLIC_JWK = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
const PRIVATE_JWK = { ...PUBLIC_JWK, d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A' };

describe('shapes the detectors did not read', { timeout: 90_000 }, () => {
  it('a private JWK in a tool result is restricted: refused, Claude receives nothing', async () => {
    await refusedOverAnthropic({
      model: 'claude:claude-sonnet-4-20250514',
      max_tokens: 32,
      messages: [
        { role: 'user', content: 'why does token signing fail?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'read', input: { path: 'config/jwks.json' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: JSON.stringify({ keys: [PRIVATE_JWK] }, null, 2) }] },
      ],
    }, 'restricted');
  });

  it('a public JWK is no secret: the hosted provider answers', async () => {
    const before = inferenceExchanges(hosted.openai).length;
    await openaiClient().chat.completions.create({ model: 'openai:gpt-4o-mini', messages: [{ role: 'user', content: `is this key valid? ${JSON.stringify(PUBLIC_JWK)}` }] });
    expect(inferenceExchanges(hosted.openai)).toHaveLength(before + 1);
  });

  it('an AWS key in \\u{…} escapes in a tool call\'s arguments is restricted: refused, the hosted provider receives nothing', async () => {
    const escaped = [...KEY].map((character) => `\\u{${character.charCodeAt(0).toString(16)}}`).join('');
    await refusedOverOpenAI({
      model: 'openai:gpt-4o-mini',
      messages: [
        { role: 'user', content: 'set up the deploy script' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'write_file', arguments: JSON.stringify({ path: 'deploy.js', content: `const id = "${escaped}";` }) } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'written' },
      ],
    }, 'restricted');
  });

  it('a card number grouped with dots is confidential: refused, the hosted provider receives nothing', async () => {
    await refusedOverOpenAI({ model: 'openai:gpt-4o-mini', messages: [{ role: 'user', content: 'Karte 4111.1111.1111.1111, gültig bis 12/29' }] }, 'confidential');
  });
});

describe('base64 of text that is not plain UTF-8', { timeout: 90_000 }, () => {
  it("a GitHub token in a PowerShell -EncodedCommand (base64 of UTF-16LE) is restricted: refused, the hosted provider receives nothing", async () => {
    const script = 'Invoke-RestMethod -Headers @{Authorization="token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"} https://api.github.com/user';
    await refusedOverOpenAI({ model: 'openai:gpt-4o-mini', messages: [{ role: 'user', content: `what does this do? powershell -EncodedCommand ${Buffer.from(script, 'utf16le').toString('base64')}` }] }, 'restricted');
  });

  it('an AWS key in base64 of coloured terminal output is restricted: refused, Claude receives nothing', async () => {
    const output = `\u001b[32m✓\u001b[39m deployed with ${KEY}\n`;
    await refusedOverAnthropic({ model: 'claude:claude-sonnet-4-20250514', max_tokens: 32, messages: [{ role: 'user', content: `the CI log API returned {"log": "${base64(output)}"}; summarise it` }] }, 'restricted');
  });
});
