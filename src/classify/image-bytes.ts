import { inflateSync } from 'node:zlib';

import { inlineImageTypeOf } from '../wire/inline-image.js';
import type { ImagePart } from '../wire/canonical.js';
import type { RequestPart } from './request-parts.js';

/**
 * The shortest run of printable characters among an image's bytes that is read as text: no longer
 * than a key, a token or a card number, long enough that compressed pixel data (random to the
 * detectors) rarely holds one — with 8, one random 4 MB image in 30 read as a password assignment.
 */
const MIN_PRINTABLE_RUN = 12;

/**
 * How much text the compressed text chunks of one PNG may inflate to: a real one holds a comment
 * or an XMP packet (kilobytes); more is a decompression bomb, and fails closed unread.
 */
const MAX_INFLATED_TEXT = 4 * 1024 * 1024;

/**
 * What an inline image carries besides its pixels, which leaves with it all the same: its media
 * type (a string the client wrote), every run of printable text among its bytes — metadata
 * (PNG text chunks, EXIF and XMP, a JPEG comment), anything after the image's end, or a whole text
 * file sent under an image's name — and the text of a PNG's compressed text chunks (zTXt, and
 * iTXt with its compression flag set), inflated. Bytes that are not an image of a type a vision
 * API takes (PNG, JPEG, GIF, WebP, told by their signature) are unscannable, as is a compressed
 * text chunk that does not inflate or inflates past `MAX_INFLATED_TEXT`: the request fails closed
 * rather than leave as merely confidential "image" content.
 */
export function inlineImageParts(image: ImagePart & { data: string }, location: string): RequestPart[] {
  const parts: RequestPart[] = [];
  if (typeof image.mediaType === 'string') parts.push({ kind: 'text', location: `${location}.mediaType`, text: image.mediaType });
  const bytes = Buffer.from(image.data, 'base64');
  if (inlineImageTypeOf(bytes) === undefined) {
    parts.push({ kind: 'unscannable', location: `${location}.data`, description: 'inline image data that is not a PNG, JPEG, GIF or WebP image (its first bytes are none of their signatures)' });
    return parts;
  }
  const text = printableRuns(bytes);
  if (text !== '') parts.push({ kind: 'text', location: `${location}.data (text among the image bytes)`, text });
  parts.push(...compressedPngTextParts(bytes, location));
  return parts;
}

/** The inflated text of each zTXt chunk and compressed iTXt chunk of a PNG (none for other images), or the part that cannot be read. */
function compressedPngTextParts(bytes: Buffer, location: string): RequestPart[] {
  const parts: RequestPart[] = [];
  if (inlineImageTypeOf(bytes) !== 'image/png') return parts;
  let inflatedBytes = 0;
  // Chunks after the 8-byte signature: length (4 bytes, big-endian), type (4), data, CRC (4). A
  // chunk running past the end stops the walk: what follows was read as printable runs already.
  for (let offset = 8; offset + 12 <= bytes.length; ) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const dataStart = offset + 8;
    const dataEnd = dataStart + length;
    if (dataEnd + 4 > bytes.length) break;
    offset = dataEnd + 4;
    const compressed = compressedText(type, bytes.subarray(dataStart, dataEnd));
    if (compressed === undefined) continue;
    const chunkLocation = `${location}.data (compressed PNG ${type} chunk ${compressed.keyword})`;
    let inflated: Buffer;
    try {
      inflated = inflateSync(compressed.data, { maxOutputLength: MAX_INFLATED_TEXT - inflatedBytes + 1 });
    } catch (error) {
      const reason = (error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE' ? `inflates past ${MAX_INFLATED_TEXT} bytes of text` : 'does not inflate';
      parts.push({ kind: 'unscannable', location: chunkLocation, description: `a compressed PNG text chunk that ${reason}` });
      return parts;
    }
    inflatedBytes += inflated.length;
    if (inflatedBytes > MAX_INFLATED_TEXT) {
      parts.push({ kind: 'unscannable', location: chunkLocation, description: `compressed PNG text chunks that inflate past ${MAX_INFLATED_TEXT} bytes of text` });
      return parts;
    }
    parts.push({ kind: 'text', location: chunkLocation, text: inflated.toString(type === 'iTXt' ? 'utf8' : 'latin1') });
  }
  return parts;
}

/** A zTXt chunk's, or a compressed iTXt chunk's, keyword and compressed text; undefined for any other chunk. */
function compressedText(type: string, data: Buffer): { keyword: string; data: Buffer } | undefined {
  if (type !== 'zTXt' && type !== 'iTXt') return undefined;
  const keywordEnd = data.indexOf(0);
  if (keywordEnd === -1) return undefined;
  const keyword = data.toString('latin1', 0, Math.min(keywordEnd, 79)).replace(/[^\x20-\x7e]/g, '?');
  // zTXt: keyword, 0, compression method (0: deflate), compressed text.
  if (type === 'zTXt') return { keyword, data: data.subarray(keywordEnd + 2) };
  // iTXt: keyword, 0, compression flag, compression method, language tag, 0, translated keyword, 0, text.
  if (data[keywordEnd + 1] !== 1) return undefined;
  const languageEnd = data.indexOf(0, keywordEnd + 3);
  const translatedEnd = languageEnd === -1 ? -1 : data.indexOf(0, languageEnd + 1);
  if (translatedEnd === -1) return undefined;
  return { keyword, data: data.subarray(translatedEnd + 1) };
}

/** Each run of `MIN_PRINTABLE_RUN` or more printable ASCII characters (tabs and line breaks included) in `bytes`, one a line. */
function printableRuns(bytes: Buffer): string {
  // A regular expression over the bytes as latin1 text: several times faster than a loop over a megabytes-long screenshot.
  return (bytes.toString('latin1').match(PRINTABLE_RUN) ?? []).join('\n');
}

const PRINTABLE_RUN = new RegExp(`[\\t\\n\\r\\x20-\\x7e]{${MIN_PRINTABLE_RUN},}`, 'g');
