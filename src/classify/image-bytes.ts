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
 * What an inline image carries besides its pixels, which leaves with it all the same: its media
 * type (a string the client wrote), and every run of printable text among its bytes — metadata
 * (PNG text chunks, EXIF and XMP, a JPEG comment), anything after the image's end, or a whole text
 * file sent under an image's name. Bytes that are not an image of a type a vision API takes (PNG,
 * JPEG, GIF, WebP, told by their signature) are unscannable: the request fails closed rather than
 * leave as merely confidential "image" content. Text kept compressed inside an image (a PNG zTXt
 * chunk) is not read.
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
  return parts;
}

/** Each run of `MIN_PRINTABLE_RUN` or more printable ASCII characters (tabs and line breaks included) in `bytes`, one a line. */
function printableRuns(bytes: Buffer): string {
  // A regular expression over the bytes as latin1 text: several times faster than a loop over a megabytes-long screenshot.
  return (bytes.toString('latin1').match(PRINTABLE_RUN) ?? []).join('\n');
}

const PRINTABLE_RUN = new RegExp(`[\\t\\n\\r\\x20-\\x7e]{${MIN_PRINTABLE_RUN},}`, 'g');
