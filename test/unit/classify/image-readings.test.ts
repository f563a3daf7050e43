import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ImageReadings, inlineImageParts, MAX_REMEMBERED_IMAGE_CHARACTERS, MIN_REMEMBERED_IMAGE_LENGTH } from '../../../src/classify/image-bytes.js';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
/** A PNG's base64 of at least `length` characters (never fewer than are remembered), `text` among non-printable bytes. */
function png(text: string, length = MIN_REMEMBERED_IMAGE_LENGTH, fill = 0x90): string {
  const bytes = Math.ceil((length * 3) / 4);
  return Buffer.concat([PNG, Buffer.from(text, 'latin1'), Buffer.alloc(Math.max(0, bytes - PNG.length - text.length), fill)]).toString('base64');
}

describe('ImageReadings', () => {
  it('reads an image once, and every time when it is too short to be worth remembering', () => {
    const readings = new ImageReadings();
    const data = png('\0tEXtAuthor\0jane.roe@example.com\0');
    expect(readings.readingOf(data)).toEqual({ image: true, text: 'Author\0jane.roe@example.com'.split('\0').filter((run) => run.length >= 12).join('\n'), compressedChunks: [] });
    readings.readingOf(Buffer.from(data, 'latin1').toString('latin1'));
    expect(readings.reads).toBe(1);
    const short = Buffer.concat([PNG, Buffer.from('\0tEXtAuthor\0jane.roe@example.com\0', 'latin1')]).toString('base64');
    expect(short.length).toBeLessThan(MIN_REMEMBERED_IMAGE_LENGTH);
    readings.readingOf(short);
    readings.readingOf(short);
    expect(readings.reads).toBe(3);
    expect(readings.size).toBe(1);
    expect(readings.readingOf(Buffer.from('%PDF-1.7 '.repeat(1000)).toString('base64'))).toEqual({ image: false });
  });

  it('keeps at most its count of images, the least recently sent going first', () => {
    const readings = new ImageReadings(2);
    const [a, b, c] = ['a', 'b', 'c'].map((name) => png(`\0tEXtTitle\0image ${name} of three\0`));
    for (const data of [a, b, a, c] as string[]) readings.readingOf(data);
    expect(readings.size).toBe(2);
    expect(readings.reads).toBe(3);
    readings.readingOf(a as string);
    expect(readings.reads).toBe(3);
    readings.readingOf(b as string);
    expect(readings.reads).toBe(4);
  });

  it('keeps at most its characters in all (the base64 and the text read), and never an image larger than that on its own', () => {
    const size = 3 * MIN_REMEMBERED_IMAGE_LENGTH;
    const readings = new ImageReadings(100, 2 * size + 100);
    const images = [1, 2, 3].map((name) => png(`\0tEXtTitle\0image ${name} of three\0`, size));
    for (const data of images) readings.readingOf(data);
    expect(readings.size).toBe(2);
    expect(readings.characters).toBeLessThanOrEqual(2 * size + 100);
    const large = png('', 3 * size);
    readings.readingOf(large);
    readings.readingOf(large);
    expect(readings.reads).toBe(5);
    expect(readings.size).toBe(2);
    expect(MAX_REMEMBERED_IMAGE_CHARACTERS).toBeGreaterThanOrEqual(48 * 1024 * 1024);
  });
});

describe('a remembered reading is what reading the image afresh gives', () => {
  it('for any data, after the cache has seen images that differ from it in one character', () => {
    const remembered = new ImageReadings(64);
    // Text at both ends (a key in a text chunk, an e-mail address after the image's end): a change anywhere may matter.
    const base = `${png('\0tEXtComment\0aws_access_key_id = AKIAIOSFODNN7EXAMPLE\0', MIN_REMEMBERED_IMAGE_LENGTH, 0xaa)}${Buffer.from('\0\0\0IEND\0 mail jane.roe@example.com\0').toString('base64')}`;
    const TAIL = 80;
    fc.assert(
      fc.property(fc.oneof(fc.nat(base.length - 1), fc.integer({ min: base.length - TAIL, max: base.length - 1 }), fc.nat(TAIL)), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=#'), (index, character) => {
        const data = `${base.slice(0, index)}${character}${base.slice(index + 1)}`;
        const fresh = new ImageReadings();
        const image = { type: 'image' as const, mediaType: 'image/png', data };
        expect(inlineImageParts(image, 'messages[0].content[0]', remembered)).toEqual(inlineImageParts(image, 'messages[0].content[0]', fresh));
        // And again, resent as a new string.
        expect(remembered.readingOf(Buffer.from(data, 'latin1').toString('latin1'))).toEqual(fresh.readingOf(data));
      }),
      { numRuns: 300 },
    );
  });
});
