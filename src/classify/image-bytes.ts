import { inflateSync } from 'node:zlib';

import { LruMap } from '../common/lru.js';
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
 * rather than leave as merely confidential "image" content. What the bytes yield is remembered
 * (see `ImageReadings`): an image a client sends again is not decoded again.
 */
export function inlineImageParts(image: ImagePart & { data: string }, location: string, readings: ImageReadings = rememberedReadings): RequestPart[] {
  const parts: RequestPart[] = [];
  if (typeof image.mediaType === 'string') parts.push({ kind: 'text', location: `${location}.mediaType`, text: image.mediaType });
  const reading = readings.readingOf(image.data);
  if (!reading.image) {
    parts.push({ kind: 'unscannable', location: `${location}.data`, description: 'inline image data that is not a PNG, JPEG, GIF or WebP image (its first bytes are none of their signatures)' });
    return parts;
  }
  if (reading.text !== '') parts.push({ kind: 'text', location: `${location}.data (text among the image bytes)`, text: reading.text });
  for (const chunk of reading.compressedChunks) {
    const chunkLocation = `${location}.data (compressed PNG ${chunk.chunk})`;
    parts.push(chunk.text === undefined ? { kind: 'unscannable', location: chunkLocation, description: chunk.unreadable } : { kind: 'text', location: chunkLocation, text: chunk.text });
  }
  return parts;
}

/**
 * What an inline image's bytes yield, wherever it sits in a request: whether they are an image
 * (`inlineImageTypeOf`), and if so the text among them. It depends on the bytes alone — never on
 * the policy or the detectors, which scan that text afresh each time (their findings in a long
 * text are remembered by `PartScanCache`, keyed by the detector configuration).
 */
export type ImageReading = { readonly image: false } | { readonly image: true; readonly text: string; readonly compressedChunks: readonly CompressedChunkReading[] };

/** A PNG's compressed text chunk (`zTXt chunk KEYWORD`), inflated, or why it could not be (the request then fails closed). */
export type CompressedChunkReading = { readonly chunk: string; readonly text: string; readonly unreadable?: undefined } | { readonly chunk: string; readonly text?: undefined; readonly unreadable: string };

/** Image data shorter than this (~3 KB of bytes) is read every time: reading it costs microseconds. */
export const MIN_REMEMBERED_IMAGE_LENGTH = 4096;
/** Images remembered; the least recently sent goes first. */
export const MAX_REMEMBERED_IMAGES = 256;
/** The base64 characters (and text read) of the images remembered, in all: 64 Mi, ~48 MB of images. */
export const MAX_REMEMBERED_IMAGE_CHARACTERS = 64 * 1024 * 1024;

/**
 * Readings of the inline images this process has already read, so a conversation resent every
 * turn (a gateway client, an MCP session) has only its new images decoded (~8 ms of CPU for a
 * 4 MB image). Keyed by the image's base64 text itself, kept: a lookup compares it with the kept
 * copy (~0.3 ms for 4 MB, where a SHA-256 of it costs ~3.4 ms: bench/RESULTS.md), and nothing but
 * the very same text, character for character, finds a reading — no collision to fear. Bounded by
 * count and by characters kept; V8 hashes a string this long by its length alone, so a lookup may
 * compare it with every kept image of its length (each up to its first differing character).
 */
export class ImageReadings {
  private readonly readings: LruMap<string, ImageReading>;
  /** How many times image data was decoded and read (remembered or not). */
  reads = 0;

  constructor(capacity = MAX_REMEMBERED_IMAGES, maxCharacters = MAX_REMEMBERED_IMAGE_CHARACTERS) {
    this.readings = new LruMap(capacity, { max: maxCharacters, weigh: (data, reading) => data.length + (reading.image ? reading.text.length + reading.compressedChunks.reduce((total, chunk) => total + (chunk.text?.length ?? 0), 0) : 0) });
  }

  readingOf(data: string): ImageReading {
    if (data.length < MIN_REMEMBERED_IMAGE_LENGTH) return this.read(data);
    const known = this.readings.get(data);
    if (known !== undefined) return known;
    const reading = this.read(data);
    this.readings.set(data, reading);
    return reading;
  }

  get size(): number {
    return this.readings.size;
  }

  /** The characters kept: the images' base64 and the text read from them. */
  get characters(): number {
    return this.readings.weight;
  }

  private read(data: string): ImageReading {
    this.reads += 1;
    const bytes = Buffer.from(data, 'base64');
    const type = inlineImageTypeOf(bytes);
    if (type === undefined) return { image: false };
    return { image: true, text: printableRuns(bytes), compressedChunks: type === 'image/png' ? compressedPngTexts(bytes) : [] };
  }
}

/** The readings `requestParts` uses: one per process, shared by every request it classifies. */
export const rememberedReadings = new ImageReadings();

/** The inflated text of each zTXt chunk and compressed iTXt chunk of a PNG's `bytes`, up to the first that cannot be read. */
function compressedPngTexts(bytes: Buffer): CompressedChunkReading[] {
  const parts: CompressedChunkReading[] = [];
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
    const chunk = `${type} chunk ${compressed.keyword}`;
    let inflated: Buffer;
    try {
      inflated = inflateSync(compressed.data, { maxOutputLength: MAX_INFLATED_TEXT - inflatedBytes + 1 });
    } catch (error) {
      const reason = (error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE' ? `inflates past ${MAX_INFLATED_TEXT} bytes of text` : 'does not inflate';
      parts.push({ chunk, unreadable: `a compressed PNG text chunk that ${reason}` });
      return parts;
    }
    inflatedBytes += inflated.length;
    if (inflatedBytes > MAX_INFLATED_TEXT) {
      parts.push({ chunk, unreadable: `compressed PNG text chunks that inflate past ${MAX_INFLATED_TEXT} bytes of text` });
      return parts;
    }
    parts.push({ chunk, text: inflated.toString(type === 'iTXt' ? 'utf8' : 'latin1') });
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
export function printableRuns(bytes: Buffer): string {
  // A regular expression over the bytes as latin1 text: several times faster than a loop over a megabytes-long screenshot.
  return (bytes.toString('latin1').match(PRINTABLE_RUN) ?? []).join('\n');
}

const PRINTABLE_RUN = new RegExp(`[\\t\\n\\r\\x20-\\x7e]{${MIN_PRINTABLE_RUN},}`, 'g');
