import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';

/**
 * Prompts and texts given as bytes (stdin, `classify --file`) are classified as the text they
 * are. UTF-16 (what Windows PowerShell's `>` and `Out-File` write) read as UTF-8 puts a NUL
 * between every letter, so no detector saw `password` and the prompt went to a hosted provider
 * as `public` — which read it fine. Bytes that are not text are refused before anything is
 * classified, recorded or sent.
 */
describe('text given as bytes: classified as what it says, or refused', () => {
  let hosted: FakeEngine;
  let scenario: Scenario;
  const KEY = { FAKE_OPENAI_KEY: 'sk-test-input-encoding' };
  const SECRET = 'my password is hunter2hunter2';

  beforeAll(async () => {
    hosted = await startFakeEngine({ kind: 'openai' });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    await scenario.register({ id: 'hosted', engine: hosted, class: 'approved_hosted', authEnv: 'FAKE_OPENAI_KEY', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } });
  });
  afterAll(async () => {
    scenario?.cleanup();
    await hosted?.close();
  });

  const utf16le = (text: string, bom: boolean): Buffer => Buffer.concat([bom ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0), Buffer.from(text, 'utf16le')]);
  const utf16be = (text: string): Buffer => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);

  async function evidenceCount(): Promise<number> {
    const { document } = await scenario.json(['evidence', 'list', '--limit', '1000']);
    return document.total as number;
  }

  it('UTF-16 without a byte-order mark: refused (exit 2) naming the NUL and how to convert; nothing recorded or sent', async () => {
    const sentBefore = inferenceExchanges(hosted).length;
    const rowsBefore = await evidenceCount();
    const { result, document } = await scenario.json(['run', '-'], { input: utf16le(SECRET, false), env: KEY });
    expect(result.exitCode, result.stderr).toBe(2);
    expect(document.error).toMatchObject({
      code: 'usage',
      message: 'the prompt on stdin holds a NUL character at offset 1: UTF-16 text without a byte-order mark, or binary data, not text; nothing was classified or sent',
    });
    expect((document.error as { hint: string }).hint).toContain('iconv -f UTF-16 -t UTF-8');
    expect(inferenceExchanges(hosted)).toHaveLength(sentBefore);
    expect(await evidenceCount()).toBe(rowsBefore);
  });

  it('UTF-16 with a byte-order mark is decoded: a secret in it is restricted and stays off the hosted provider (exit 4)', async () => {
    const sentBefore = inferenceExchanges(hosted).length;
    for (const bytes of [utf16le(SECRET, true), utf16be(SECRET)]) {
      const { result, document } = await scenario.json(['run', '-'], { input: bytes, env: KEY });
      expect(result.exitCode, result.stdout).toBe(4);
      expect((document.error as { details: { sensitivity: string } }).details.sensitivity).toBe('restricted');
      const classified = await scenario.json(['classify', '-'], { input: bytes });
      expect(classified.document.level).toBe('restricted');
    }
    expect(inferenceExchanges(hosted)).toHaveLength(sentBefore);
  });

  it('a public UTF-16 prompt is sent as the text it holds, without NULs or the byte-order mark', async () => {
    const { result } = await scenario.json(['run', '-', '--no-stream'], { input: utf16le('Name the capital of France.', true), env: KEY });
    expect(result.exitCode, result.stderr).toBe(0);
    const sent = JSON.parse(inferenceExchanges(hosted).at(-1)!.requestBody.toString()) as { messages: { content: string }[] };
    expect(sent.messages.at(-1)?.content).toBe('Name the capital of France.');
  });

  it('bytes that are not UTF-8 are refused (exit 2) naming the first bad byte, not sent with U+FFFD in their place', async () => {
    const sentBefore = inferenceExchanges(hosted).length;
    // A valid € and a U+FFFD the input really holds come first: the offset is the bad byte's own.
    const input = Buffer.concat([Buffer.from('hi € \ufffd ok '), Buffer.from([0xff]), Buffer.from(' there')]);
    const run = await scenario.json(['run', '-'], { input, env: KEY });
    expect(run.result.exitCode).toBe(2);
    expect((run.document.error as { message: string }).message).toBe(
      'the prompt on stdin is not UTF-8 text: byte 0xff at offset 14 is not valid UTF-8; nothing was classified or sent',
    );
    const route = await scenario.cli(['route', '-'], { input });
    expect(route.exitCode).toBe(2);
    expect(route.stderr).toContain('byte 0xff at offset 14');
    expect(inferenceExchanges(hosted)).toHaveLength(sentBefore);
  });

  it('classify --file: a UTF-16 file is classified as its text; one without a mark is an invalid input file (exit 3)', async () => {
    const marked = join(scenario.home, 'marked.txt');
    writeFileSync(marked, utf16le(SECRET, true));
    const classified = await scenario.json(['classify', '--file', marked]);
    expect(classified.result.exitCode).toBe(0);
    expect(classified.document.level).toBe('restricted');

    const unmarked = join(scenario.home, 'unmarked.txt');
    writeFileSync(unmarked, utf16le(SECRET, false));
    const refused = await scenario.json(['classify', '--file', unmarked]);
    expect(refused.result.exitCode).toBe(3);
    expect((refused.document.error as { message: string }).message).toBe(
      `${unmarked} holds a NUL character at offset 1: UTF-16 text without a byte-order mark, or binary data, not text`,
    );
  });

  it('a UTF-8 byte-order mark is dropped, the rest read as it is: the same findings at the same spans', async () => {
    const marked = await scenario.json(['classify', '-'], { input: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SECRET)]) });
    const plain = await scenario.json(['classify', '-'], { input: Buffer.from(SECRET) });
    expect(marked.document.level).toBe('restricted');
    expect(marked.document.findings).toEqual(plain.document.findings);
  });
});
