import { isUtf8 } from 'node:buffer';

/** Bytes read as text: the text, or why they are not text the classifier can read. */
export type DecodedText =
  | { ok: true; text: string; encoding: 'utf-8' | 'utf-16le' | 'utf-16be' }
  | { ok: false; problem: string; hint: string };

const CONVERT_HINT =
  'syndicate reads text as UTF-8 (UTF-16 with a byte-order mark is converted); convert it first, e.g. `iconv -f UTF-16 -t UTF-8 FILE`; binary data (an image, an archive, a key store) cannot be classified, so it is never sent';

/**
 * Decodes prompt or classifier input given as bytes (stdin, `--file`). The classifier only sees
 * what it is given: text in another encoding read as UTF-8 hides every word from it (UTF-16's
 * `p\0a\0s\0s\0w\0o\0r\0d\0` is no password to a detector, yet a model reads it), and bytes that
 * are not UTF-8 would be sent replaced by U+FFFD. So: UTF-8 (a byte-order mark dropped), UTF-16
 * with a byte-order mark decoded; anything else that is not valid UTF-8, and any NUL character
 * (UTF-16 without a mark, binary data), is refused, naming the first offending byte.
 */
export function decodeTextBytes(bytes: Uint8Array): DecodedText {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (startsWith(buffer, [0xff, 0xfe, 0x00, 0x00]) || startsWith(buffer, [0x00, 0x00, 0xfe, 0xff])) {
    return { ok: false, problem: 'is UTF-32 text (byte-order mark at offset 0)', hint: CONVERT_HINT.replace('-f UTF-16', '-f UTF-32') };
  }
  for (const [mark, encoding] of [
    [[0xff, 0xfe], 'utf-16le'],
    [[0xfe, 0xff], 'utf-16be'],
  ] as const) {
    if (!startsWith(buffer, mark)) continue;
    let text: string;
    try {
      text = new TextDecoder(encoding, { fatal: true, ignoreBOM: false }).decode(buffer);
    } catch {
      return { ok: false, problem: `starts with a UTF-16 byte-order mark but is not valid ${encoding.toUpperCase()} text`, hint: CONVERT_HINT };
    }
    return withoutNul(text, encoding, (index) => `character ${index}`);
  }
  const body = startsWith(buffer, [0xef, 0xbb, 0xbf]) ? buffer.subarray(3) : buffer;
  const skipped = buffer.length - body.length;
  if (!isUtf8(body)) {
    const offset = skipped + firstInvalidUtf8Byte(body);
    const byte = buffer[offset] ?? 0;
    return {
      ok: false,
      problem: `is not UTF-8 text: byte 0x${byte.toString(16).padStart(2, '0')} at offset ${offset} is not valid UTF-8`,
      hint: CONVERT_HINT,
    };
  }
  const text = body.toString('utf8');
  return withoutNul(text, 'utf-8', (index) => `offset ${skipped + Buffer.byteLength(text.slice(0, index))}`);
}

function withoutNul(text: string, encoding: 'utf-8' | 'utf-16le' | 'utf-16be', where: (index: number) => string): DecodedText {
  const nul = text.indexOf('\u0000');
  if (nul === -1) return { ok: true, text, encoding };
  return {
    ok: false,
    problem: `holds a NUL character at ${where(nul)}: UTF-16 text without a byte-order mark, or binary data, not text`,
    hint: CONVERT_HINT,
  };
}

function startsWith(buffer: Buffer, prefix: readonly number[]): boolean {
  return buffer.length >= prefix.length && prefix.every((byte, index) => buffer[index] === byte);
}

/**
 * The offset of the first byte that makes `bytes` invalid UTF-8 (called only when it is). Every
 * byte before it is valid, so a U+FFFD the lossy decode put at string index i starts at the UTF-8
 * length of the text before it — unless the input itself held U+FFFD there (EF BF BD).
 */
function firstInvalidUtf8Byte(bytes: Buffer): number {
  const text = bytes.toString('utf8');
  for (let index = text.indexOf('\ufffd'); index !== -1; index = text.indexOf('\ufffd', index + 1)) {
    const offset = Buffer.byteLength(text.slice(0, index));
    if (!(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) return offset;
  }
  return bytes.length;
}
