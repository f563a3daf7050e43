/**
 * A conversation resent every turn resends its images: the classifier reads each image's bytes
 * once (decodes the base64, finds its text) and remembers what they yield, while the detectors
 * still judge that text by the policy of the moment. Decodes are counted by watching
 * `Buffer.from(data, 'base64')`, which reading an image calls, so these tests need nothing from the
 * cache itself.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { BUILT_IN_DETECTORS, classifyRequest, type Classification, type ClassifyOptions } from '../../../src/classify/index.js';
import type { CanonicalRequest } from '../../../src/wire/canonical.js';
import { countingDetector } from '../../helpers/counting-detector.js';

const OPTIONS: ClassifyOptions = { indicatorWords: [], patterns: [] };
const SIGNATURES = {
  png: Buffer.from('89504e470d0a1a0a0000000d494844520000000100000001080600000000000000', 'hex'),
  jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
  gif: Buffer.from('GIF89a', 'latin1'),
  webp: Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1'),
  none: Buffer.from('%PDF-1.7\n', 'latin1'),
};

let seed = 1;
/** `count` bytes, none printable (so no text but the one a test puts in), different at each call. */
function pixels(count: number): Buffer {
  const bytes = Buffer.alloc(count);
  let state = (seed += 1) * 2654435761;
  for (let index = 0; index < count; index += 1) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[index] = 0x80 | (state >>> 24);
  }
  return bytes;
}

/** An image's base64: its signature, `text` (a PNG text chunk, a JPEG comment…) among ~12 KB of pixels. */
function image(text = '', signature: keyof typeof SIGNATURES = 'png', before = pixels(6000), after = pixels(6000)): string {
  return Buffer.concat([SIGNATURES[signature], before, Buffer.from(text, 'latin1'), after]).toString('base64');
}

/** The same text as a new string, as a client's resent request parses to: not the string the classifier saw. */
const resent = (data: string): string => Buffer.from(data, 'latin1').toString('latin1');

function conversation(...images: string[]): CanonicalRequest {
  return {
    model: 'm',
    stream: false,
    messages: images.map((data, index) => ({ role: 'user' as const, content: [{ type: 'image' as const, mediaType: 'image/png', data }, { type: 'text' as const, text: `screenshot ${index}` }] })),
  };
}

const withoutDuration = ({ durationMs: _durationMs, ...rest }: Classification): Omit<Classification, 'durationMs'> => rest;

let bufferFrom: MockInstance;
beforeEach(() => {
  bufferFrom = vi.spyOn(Buffer, 'from');
});
afterEach(() => {
  bufferFrom.mockRestore();
});

/** How many times `data` was decoded since the test began. */
const decodes = (data: string): number => bufferFrom.mock.calls.filter(([value, encoding]) => encoding === 'base64' && value === data).length;

describe("a resent image's bytes are read once", () => {
  it('the second classification of the same images decodes none of them and finds the same', () => {
    const first = image('\0tEXtAuthor\0jane.roe@example.com\0');
    const second = image('\0tEXtComment\0aws_access_key_id = AKIAIOSFODNN7EXAMPLE\0');
    const turn1 = classifyRequest(conversation(first, second), OPTIONS);
    expect(turn1.level).toBe('restricted');
    expect(turn1.findings.map((finding) => `${finding.location} ${finding.detector}`)).toEqual(
      expect.arrayContaining(['messages[0].content[0].data (text among the image bytes) pii.email', 'messages[1].content[0].data (text among the image bytes) secret.aws-access-key-id']),
    );
    expect(decodes(first) + decodes(second)).toBe(2);

    const turn2 = classifyRequest(conversation(resent(first), resent(second)), OPTIONS);
    expect(decodes(first) + decodes(second)).toBe(2);
    expect(withoutDuration(turn2)).toEqual(withoutDuration(turn1));

    // The same image elsewhere in the request: found again, at its new place.
    const third = image();
    const moved = classifyRequest(conversation(third, resent(first)), OPTIONS);
    expect(decodes(first)).toBe(1);
    expect(moved.findings.filter((finding) => finding.detector === 'pii.email').map((finding) => finding.location)).toEqual(['messages[1].content[0].data (text among the image bytes)']);
  });

  it('one changed byte is another image: read again, judged by its own bytes', () => {
    const [before, after] = [pixels(6000), pixels(6000)];
    const withEmail = image('\0tEXtAuthor\0jane.roe@example.com\0', 'png', before, after);
    expect(classifyRequest(conversation(withEmail), OPTIONS).findings.map((finding) => finding.detector)).toContain('pii.email');
    // `@` became `#`: no e-mail address any more.
    const withoutEmail = image('\0tEXtAuthor\0jane.roe#example.com\0', 'png', before, after);
    expect(withoutEmail.length).toBe(withEmail.length);
    const changed = classifyRequest(conversation(withoutEmail), OPTIONS);
    expect(decodes(withoutEmail)).toBe(1);
    expect(changed.findings.map((finding) => finding.detector)).not.toContain('pii.email');
    expect(changed.level).toBe('confidential');

    // A plain image whose signature's first character changed: no image any more, the request fails closed.
    const plain = image();
    expect(classifyRequest(conversation(plain), OPTIONS).level).toBe('confidential');
    const broken = `${plain[0] === 'i' ? 'j' : 'i'}${plain.slice(1)}`;
    const result = classifyRequest(conversation(broken), OPTIONS);
    expect(decodes(broken)).toBe(1);
    expect(result.failedClosed).toBe(true);
    expect(result.level).toBe('restricted');
    // Its last character changed: read again.
    const lastChanged = `${plain.slice(0, -2)}${plain.at(-2) === 'A' ? 'B' : 'A'}${plain.at(-1) as string}`;
    classifyRequest(conversation(lastChanged), OPTIONS);
    expect(decodes(lastChanged)).toBe(1);
    expect(decodes(plain)).toBe(1);
  });

  it('bytes that are no image fail closed every time they are sent', () => {
    const pdf = image('\0/Title (quarterly figures)\0', 'none');
    const first = classifyRequest(conversation(pdf), OPTIONS);
    const second = classifyRequest(conversation(resent(pdf)), OPTIONS);
    expect(decodes(pdf)).toBe(1);
    for (const result of [first, second]) {
      expect(result.failedClosed).toBe(true);
      expect(result.level).toBe('restricted');
      expect(result.findings.map((finding) => `${finding.detector} ${finding.location}`)).toContain('classifier.error messages[0].content[0].data');
    }
  });

  it("a new policy judges a remembered image's text by its own rules, without decoding the image again", () => {
    const counter = countingDetector();
    // Text long enough (256 characters or more) that the detectors' findings in it are remembered too.
    const text = `\0tEXtComment\0Roadmap for Project Bluebird, draft 2. ${'Milestones are unchanged since the last review. '.repeat(6)}\0`;
    const data = image(text);
    const before: ClassifyOptions = { indicatorWords: [], patterns: [], detectors: [...BUILT_IN_DETECTORS, counter] };
    expect(classifyRequest(conversation(data), before).level).toBe('confidential');
    const scansOfText = (): number => counter.calls.filter((scanned) => scanned.includes('Project Bluebird')).length;
    expect(scansOfText()).toBe(1);
    classifyRequest(conversation(resent(data)), before);
    expect(scansOfText()).toBe(1);

    const patterns = [{ name: 'bluebird', level: 'restricted' as const, keywords: ['Project Bluebird'] }];
    const after = classifyRequest(conversation(resent(data)), { ...before, patterns });
    expect(after.level).toBe('restricted');
    expect(after.findings.map((finding) => `${finding.detector} ${finding.location}`)).toContain('operator.pattern messages[0].content[0].data (text among the image bytes)');
    expect(scansOfText()).toBe(2);
    // Another detector set scans it too.
    const other = countingDetector();
    const falcon = image('\0tEXtComment\0the falcon has landed\0');
    expect(classifyRequest(conversation(falcon), OPTIONS).level).toBe('confidential');
    const found = classifyRequest(conversation(resent(falcon)), { ...OPTIONS, detectors: [...BUILT_IN_DETECTORS, other] });
    expect(found.findings.map((finding) => `${finding.detector} ${finding.location}`)).toContain('test.counting messages[0].content[0].data (text among the image bytes)');
    expect(decodes(data) + decodes(falcon)).toBe(2);
  });
});

const SNIPPETS = ['aws_access_key_id = AKIAIOSFODNN7EXAMPLE', 'jane.roe@example.com', 'Card 4539 1488 0343 6467', 'password: Tr0ub4dor&3x', 'Project Falcon notes', '/home/jane/.ssh/id_rsa', 'Created with GIMP 2.10'];

describe('a remembered reading gives what a fresh one gives', () => {
  it('for any image (or bytes that are none), resent as it was or with one character changed', () => {
    const options: ClassifyOptions = { indicatorWords: ['screenshot'], patterns: [{ name: 'falcon', level: 'restricted', keywords: ['Project Falcon'] }] };
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(SIGNATURES) as (keyof typeof SIGNATURES)[])),
        fc.array(fc.oneof(fc.constantFrom(...SNIPPETS), fc.string({ unit: 'binary-ascii', maxLength: 40 })), { maxLength: 4 }),
        fc.nat(),
        (signature, texts, changeAt) => {
          // A new image each run (its pixels differ): the first classification reads it.
          const data = image(texts.join('\0'), signature);
          const fresh = classifyRequest(conversation(data), options);
          const remembered = classifyRequest(conversation(resent(data)), options);
          expect(decodes(data)).toBe(1);
          expect(withoutDuration(remembered)).toEqual(withoutDuration(fresh));
          // One character changed (still base64): whatever it now is, judged as such.
          const index = changeAt % data.length;
          const changed = `${data.slice(0, index)}${data[index] === 'Q' ? 'R' : 'Q'}${data.slice(index + 1)}`;
          const changedOnce = classifyRequest(conversation(changed), options);
          const changedAgain = classifyRequest(conversation(resent(changed)), options);
          expect(decodes(changed)).toBe(1);
          expect(withoutDuration(changedAgain)).toEqual(withoutDuration(changedOnce));
          bufferFrom.mockClear();
        },
      ),
      { numRuns: 60 },
    );
  });
});
