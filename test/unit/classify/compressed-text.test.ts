import { deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { classifyText } from '../../../src/classify/index.js';
import { decodeForScan, type DecodeProblem } from '../../../src/classify/encoded-text.js';

/**
 * Compressed data written as base64 (`gzip | base64`: `H4sI…`; zlib's `eJ…`, `eN…`, `eA…`) or
 * as hex (`gzip | xxd -p`: `1f8b08…`) is inflated and its text scanned, as a decoded view: a
 * private key or a card number inside it is found. Inflating is bounded: past its bound a run
 * fails closed (restricted, `classifier.error`), as a PNG's compressed text chunk does.
 */

const OPTIONS = { indicatorWords: [], patterns: [] };
const PRIVATE_KEY = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  'QyNTUxOQAAACDmBnvJ8Xbq4pX8q2t4a6Zm2oK5Z2qGk8Qd8c0hC1bB5wAAAJgF1t0nBdbd',
  '-----END OPENSSH PRIVATE KEY-----',
  '',
].join('\n');
const CARD = 'card on file 4539 1488 0343 6467, exp 09/27';

function findings(text: string): { detector: string; level: string; reason: string; matched: string }[] {
  return classifyText(text, OPTIONS).findings.map((finding) => ({ detector: finding.detector, level: finding.level, reason: finding.reason, matched: text.slice(finding.span.start, finding.span.end) }));
}

/** A tar archive holding one file (ustar header, the file, padding): binary headers around text, as `tar czf` writes. */
function tarOf(name: string, content: string): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000600\0', 100);
  header.write('0001750\0', 108);
  header.write('0001750\0', 116);
  header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('14712345670\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\u000000', 257);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const body = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  body.write(content, 0);
  return Buffer.concat([header, body, Buffer.alloc(1024)]);
}

describe('compressed data in base64 or hex', () => {
  it.each([
    ['gzip in base64 (`gzip | base64 -w0`)', (text: string) => gzipSync(text).toString('base64'), 'gzip-compressed base64'],
    ['gzip in base64url', (text: string) => gzipSync(text).toString('base64url'), 'gzip-compressed base64'],
    ['zlib of the default level (`eJ…`)', (text: string) => deflateSync(text).toString('base64'), 'zlib-compressed base64'],
    ['zlib of the best level (`eN…`)', (text: string) => deflateSync(text, { level: 9 }).toString('base64'), 'zlib-compressed base64'],
    ['zlib of the fastest level (`eA…`)', (text: string) => deflateSync(text, { level: 1 }).toString('base64'), 'zlib-compressed base64'],
    ['gzip in hex (`gzip | xxd -p`, one line)', (text: string) => gzipSync(text).toString('hex'), 'gzip-compressed hex'],
  ])('%s: a private key and a card number inside are found, at the encoded run', (_name, encode, encoding) => {
    for (const [secret, detector, level] of [
      [PRIVATE_KEY, 'secret.private-key', 'restricted'],
      [CARD, 'pii.card', 'confidential'],
    ] as const) {
      const encoded = encode(secret);
      const text = `here is the backup: ${encoded} -- thanks`;
      const result = classifyText(text, OPTIONS);
      expect(result.failedClosed).toBe(false);
      expect(result.level).toBe(level);
      const found = findings(text).find((finding) => finding.detector === detector);
      expect(found).toMatchObject({ matched: encoded, reason: expect.stringContaining(`(after decoding ${encoding})`) });
    }
  });

  it('reads a block wrapped at 76 characters (`gzip | base64`), a stream cut short, split, hidden by a zero-width space or percent-encoded, one with a wrong checksum (zlib), and a tar archive (`tar czf - ~/.ssh | base64`)', () => {
    const wrapped = gzipSync(PRIVATE_KEY).toString('base64').replace(/(.{76})/g, '$1\n');
    expect(classifyText(`$ gzip -c ~/.ssh/id_ed25519 | base64\n${wrapped}\n`, OPTIONS).level).toBe('restricted');
    // A paste cut off mid-stream: what it holds so far is read.
    expect(classifyText(gzipSync(PRIVATE_KEY).toString('base64').slice(0, 140), OPTIONS).level).toBe('restricted');
    const zlib = deflateSync(CARD);
    zlib[zlib.length - 1] = (zlib[zlib.length - 1] as number) ^ 1;
    expect(classifyText(`x ${zlib.toString('base64')} y`, OPTIONS).level).toBe('confidential');
    // Split by spaces at irregular places, a zero-width space inside, percent-encoded.
    const encoded = gzipSync(PRIVATE_KEY).toString('base64');
    expect(classifyText(`x ${encoded.slice(0, 37)} ${encoded.slice(37, 90)} ${encoded.slice(90)} y`, OPTIONS).level).toBe('restricted');
    expect(classifyText(`x ${encoded.slice(0, 40)}\u200b${encoded.slice(40)} y`, OPTIONS).level).toBe('restricted');
    expect(classifyText(`next=${encodeURIComponent(encoded)}`, OPTIONS).level).toBe('restricted');
    const tar = gzipSync(tarOf('.ssh/id_ed25519', PRIVATE_KEY)).toString('base64');
    expect(findings(`restore with base64 -d | tar xz: ${tar}`).map((finding) => finding.detector)).toContain('secret.private-key');
  });

  it('gives the inflated text as a decoded view', () => {
    const encoded = gzipSync('hello from inside').toString('base64');
    const decoded = decodeForScan(`a ${encoded} b`);
    expect(decoded?.text).toBe('a hello from inside b');
    expect(decoded?.encodingsIn(2, 7)).toEqual(['gzip-compressed base64']);
    expect(decoded?.originalStart(2)).toBe(2);
    expect(decoded?.originalEnd(7)).toBe(2 + encoded.length);
  });

  it('fails closed on a decompression bomb, unread: restricted, a classifier.error finding naming the bound', () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x41)).toString('base64');
    const result = classifyText(`please decompress ${bomb}`, OPTIONS);
    expect(result).toMatchObject({ level: 'restricted', failedClosed: true });
    expect(result.findings).toEqual([expect.objectContaining({ detector: 'classifier.error', reason: expect.stringMatching(/^gzip-compressed base64 that inflates past \d+ bytes .* treated as restricted$/) })]);
    const problems: DecodeProblem[] = [];
    expect(decodeForScan(`x ${bomb}`, problems)).toBeUndefined();
    expect(problems).toEqual([{ start: 2, end: 2 + bomb.length, reason: expect.stringContaining('inflates past') }]);
  });

  it('reads a repetitive run however small it compressed, and bounds all runs of a text together (4 MiB)', () => {
    // A repetitive log compresses a hundred times and more: still text, read to its secret.
    const repetitive = gzipSync(`${'GET /healthz 200 0.1ms\n'.repeat(40_000)}${PRIVATE_KEY}`).toString('base64');
    const read = classifyText(repetitive, OPTIONS);
    expect(read).toMatchObject({ level: 'restricted', failedClosed: false });
    expect(read.findings.map((finding) => finding.detector)).toContain('secret.private-key');
    // Each run under 4 MiB, together past it.
    const varied = (seed: number): string => Array.from({ length: 40_000 }, (_, index) => `line ${seed}-${index} ok ${(index * 7919 + seed) % 1000}`).join('\n');
    const runs = Array.from({ length: 6 }, (_, seed) => gzipSync(varied(seed)).toString('base64'));
    expect(classifyText(runs[0] as string, OPTIONS).failedClosed).toBe(false);
    expect(classifyText(runs.join('\n\n'), OPTIONS).failedClosed).toBe(true);
  });

  it('fails closed on a gzip stream that does not inflate; one with a wrong checksum or bytes after it is read without them, as a lenient reader reads it', () => {
    const gzip = gzipSync(PRIVATE_KEY);
    const corrupt = Buffer.concat([gzip.subarray(0, 10), Buffer.alloc(40, 0xff)]);
    expect(classifyText(`x ${corrupt.toString('base64')}`, OPTIONS)).toMatchObject({ level: 'restricted', failedClosed: true });
    const wrongChecksum = Buffer.from(gzip);
    wrongChecksum[wrongChecksum.length - 6] = (wrongChecksum[wrongChecksum.length - 6] as number) ^ 1;
    for (const text of [`x ${wrongChecksum.toString('base64')}`, `x ${gzip.toString('base64url')}-- y`]) {
      const result = classifyText(text, OPTIONS);
      expect(result).toMatchObject({ level: 'restricted', failedClosed: false });
      expect(result.findings.map((finding) => finding.detector)).toContain('secret.private-key');
    }
  });

  it('leaves alone what is no compressed text: base64 that starts like zlib by chance, compressed binary data, identifiers', () => {
    for (const text of [
      // A zlib header (`78 9c`) followed by bytes that do not inflate.
      `token eJw${'A'.repeat(10)}QUtJQUlPU0ZPRE5ON0VYQU1QTEU`,
      `blob ${gzipSync(Buffer.from(Array.from({ length: 600 }, (_, index) => (index * 37) % 256))).toString('base64')}`,
      'eJwrSS0uUUjOzytJzSvRUcjMKygtUShILCpRBABJ0Ae5 is not a secret',
      'Hello eFoo eNabler eJumpingOverHurdles H4sIsTheStartOfAWord',
    ]) {
      expect(classifyText(text, OPTIONS)).toMatchObject({ level: 'public', failedClosed: false });
    }
  });
});
