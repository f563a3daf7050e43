import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { encode } from 'gpt-tokenizer/encoding/cl100k_base';
import { afterAll, describe, expect, it } from 'vitest';

import { buildTestModel, writeTestModel } from '../../../src/engines/test-model.js';
import { UsageError } from '../../../src/errors.js';

/** An independent GGUF v3 reader (from ggml docs/gguf.md), so the writer is not checked against itself. */
interface ParsedGguf {
  magic: string;
  version: number;
  tensorCount: bigint;
  metadataCount: bigint;
  metadata: Map<string, { type: number; value: unknown }>;
  tensors: { name: string; dimensions: bigint[]; type: number; offset: bigint }[];
  dataStart: number;
}

function parseGguf(bytes: Uint8Array): ParsedGguf {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let position = 0;
  const u8 = () => view.getUint8(position++);
  const u32 = () => {
    const value = view.getUint32(position, true);
    position += 4;
    return value;
  };
  const u64 = () => {
    const value = view.getBigUint64(position, true);
    position += 8;
    return value;
  };
  const text = () => {
    const length = Number(u64());
    const value = decoder.decode(bytes.subarray(position, position + length));
    position += length;
    return value;
  };
  const scalar = (type: number): unknown => {
    switch (type) {
      case 0: return u8();
      case 4: return u32();
      case 5: {
        const value = view.getInt32(position, true);
        position += 4;
        return value;
      }
      case 6: {
        const value = view.getFloat32(position, true);
        position += 4;
        return value;
      }
      case 7: return u8() !== 0;
      case 8: return text();
      case 10: return u64();
      default: throw new Error(`unsupported GGUF value type ${type} at byte ${position}`);
    }
  };

  const magic = decoder.decode(bytes.subarray(0, 4));
  position = 4;
  const version = u32();
  const tensorCount = u64();
  const metadataCount = u64();
  const metadata = new Map<string, { type: number; value: unknown }>();
  for (let index = 0n; index < metadataCount; index++) {
    const key = text();
    const type = u32();
    if (type === 9) {
      const elementType = u32();
      const length = Number(u64());
      const values: unknown[] = [];
      for (let element = 0; element < length; element++) values.push(scalar(elementType));
      metadata.set(key, { type: elementType + 100, value: values });
    } else {
      metadata.set(key, { type, value: scalar(type) });
    }
  }
  const tensors: ParsedGguf['tensors'] = [];
  for (let index = 0n; index < tensorCount; index++) {
    const name = text();
    const dimensionCount = u32();
    const dimensions: bigint[] = [];
    for (let dimension = 0; dimension < dimensionCount; dimension++) dimensions.push(u64());
    tensors.push({ name, dimensions, type: u32(), offset: u64() });
  }
  const alignment = Number(metadata.get('general.alignment')?.value ?? 32);
  return { magic, version, tensorCount, metadataCount, metadata, tensors, dataStart: Math.ceil(position / alignment) * alignment };
}

const directories: string[] = [];
afterAll(async () => {
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

/** GPT-2's bytes_to_unicode, written out independently of the generator. */
function unicodeToByte(): Map<string, number> {
  const printable = [...range(0x21, 0x7e), ...range(0xa1, 0xac), ...range(0xae, 0xff)];
  const map = new Map<string, number>();
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    map.set(String.fromCodePoint(printable.includes(byte) ? byte : 256 + shifted++), byte);
  }
  return map;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_unused, index) => from + index);
}

/**
 * Merge-rank BPE the way llama.cpp runs a `gpt2` vocabulary with the `llama-bpe` pre-tokenizer:
 * tiktoken's cl100k split regex, a piece found whole in the vocabulary is one token
 * (ignore_merges), otherwise adjacent symbols merge lowest merge index first.
 */
function tokenizeWithMerges(text: string, tokens: readonly string[], merges: readonly string[]): number[] {
  const split = /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;
  const byteToUnicode = new Map([...unicodeToByte()].map(([character, byte]) => [byte, character]));
  const idOf = new Map(tokens.map((token, id) => [token, id]));
  const mergeRank = new Map(merges.map((merge, rank) => [merge, rank]));
  const ids: number[] = [];
  for (const piece of text.match(split) ?? []) {
    const spelled = Array.from(new TextEncoder().encode(piece), (byte) => byteToUnicode.get(byte) ?? '?');
    const whole = idOf.get(spelled.join(''));
    if (whole !== undefined) {
      ids.push(whole);
      continue;
    }
    const symbols = [...spelled];
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let index = 0; index < symbols.length - 1; index++) {
        const rank = mergeRank.get(`${symbols[index]} ${symbols[index + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = index;
        }
      }
      if (best < 0) break;
      symbols.splice(best, 2, `${symbols[best]}${symbols[best + 1]}`);
    }
    for (const symbol of symbols) ids.push(idOf.get(symbol) ?? -1);
  }
  return ids;
}

/** Ordinary English whose cl100k_base tokens all have ranks below 4000. */
const SIMPLE_ENGLISH = 'The first time we were in the city, it was not good: we had no money and all of our work was done. He said he would be back in one day, but she did not know if it would be the last.';

const defaultModel = buildTestModel();
const defaultParsed = parseGguf(defaultModel.bytes);

describe('writeTestModel', () => {
  it('reports a path it cannot write as a UsageError with a hint, not an internal error', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'syndicate-gguf-'));
    directories.push(directory);
    await writeFile(join(directory, 'a-file'), 'x');
    await mkdir(join(directory, 'a-directory'));

    const underFile = writeTestModel(join(directory, 'a-file', 'tiny.gguf'));
    await expect(underFile).rejects.toThrow(UsageError);
    await expect(writeTestModel(join(directory, 'a-file', 'tiny.gguf'))).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining(`cannot write the test model to ${join(directory, 'a-file', 'tiny.gguf')}`) as unknown,
      hint: expect.stringContaining('--out') as unknown,
      details: { code: expect.stringMatching(/^(ENOTDIR|EEXIST)$/) as unknown },
    });
    await expect(writeTestModel(join(directory, 'a-directory'))).rejects.toMatchObject({ exitCode: 2, details: { code: 'EISDIR' } });
  });

  it('writes a GGUF v3 file whose header, metadata and tensor table parse back', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'syndicate-gguf-'));
    directories.push(directory);
    const path = join(directory, 'nested', 'tiny.gguf');

    const summary = await writeTestModel(path);
    const bytes = new Uint8Array(await readFile(path));
    const parsed = parseGguf(bytes);

    expect(parsed.magic).toBe('GGUF');
    expect(parsed.version).toBe(3);
    expect(parsed.tensorCount).toBe(3n + 2n * 9n);
    expect(parsed.metadataCount).toBe(BigInt(parsed.metadata.size));
    expect(summary).toMatchObject({ path, bytes: bytes.byteLength, tensorCount: 21, metadataCount: parsed.metadata.size, vocabularySize: 8192, cl100kTokenCount: 8187 });
    expect(summary.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.from(bytes).equals(Buffer.from(defaultModel.bytes))).toBe(true);
    // "A few MB": two 8192 x 64 F32 matrices plus the vocabulary.
    expect(bytes.byteLength).toBeGreaterThan(4_000_000);
    expect(bytes.byteLength).toBeLessThan(6_000_000);

    const value = (key: string) => parsed.metadata.get(key)?.value;
    expect(value('general.architecture')).toBe('llama');
    expect(value('general.name')).toBe('syndicate-tiny-test');
    expect(value('llama.vocab_size')).toBe(8192);
    expect(value('llama.context_length')).toBe(2048);
    expect(value('llama.embedding_length')).toBe(64);
    expect(value('llama.block_count')).toBe(2);
    expect(value('llama.feed_forward_length')).toBe(128);
    expect(value('llama.attention.head_count')).toBe(4);
    expect(value('llama.attention.head_count_kv')).toBe(4);
    expect(value('llama.rope.dimension_count')).toBe(16);
    expect(value('llama.attention.layer_norm_rms_epsilon')).toBeCloseTo(1e-5, 9);
    expect(value('tokenizer.ggml.model')).toBe('gpt2');
    expect(value('tokenizer.ggml.pre')).toBe('llama-bpe');
    expect(value('tokenizer.ggml.add_bos_token')).toBe(false);
    expect(String(value('tokenizer.chat_template'))).toContain('<|im_start|>assistant\\n');
    expect(String(value('tokenizer.chat_template'))).toContain('<tool_call>');
  });

  it('takes its vocabulary from cl100k_base: ids are cl100k ranks, then tool-call and control tokens', () => {
    const { summary } = defaultModel;
    const tokens = defaultParsed.metadata.get('tokenizer.ggml.tokens')?.value as string[];
    const tokenTypes = defaultParsed.metadata.get('tokenizer.ggml.token_type')?.value as number[];

    expect(tokens).toHaveLength(summary.vocabularySize);
    expect(tokenTypes).toHaveLength(tokens.length);
    expect(new Set(tokens).size).toBe(tokens.length);
    // cl100k ranks: '!' is 0, 'A' 32, '\n' 198, ' ' 220, ' the' 279, 'The' 791.
    expect(tokens[0]).toBe('!');
    expect(tokens[32]).toBe('A');
    expect(tokens[198]).toBe('Ċ');
    expect(tokens[220]).toBe('Ġ');
    expect(tokens[279]).toBe('Ġthe');
    expect(tokens[791]).toBe('The');
    const bytesOf = unicodeToByte();
    for (const id of [0, 100, 200, 255, 256, 279, 1000, 4000, 8186]) {
      const bytes = Buffer.from(Array.from(tokens[id] ?? '', (character) => bytesOf.get(character) ?? -1));
      expect(bytes.toString('latin1')).toBe(decodeCl100k(id));
    }
    expect(tokens.slice(-3)).toEqual(['<|endoftext|>', '<|im_start|>', '<|im_end|>']);
    expect(tokenTypes.slice(-3)).toEqual([3, 3, 3]);
    expect(tokens.slice(-5, -3)).toEqual(['<tool_call>', '</tool_call>']);
    expect(tokenTypes.slice(-5, -3)).toEqual([4, 4]);
    expect(tokenTypes.slice(0, -5).every((type) => type === 1)).toBe(true);
    expect(defaultParsed.metadata.get('tokenizer.ggml.eos_token_id')?.value).toBe(tokens.indexOf('<|im_end|>'));
    expect(defaultParsed.metadata.get('tokenizer.ggml.bos_token_id')?.value).toBe(tokens.indexOf('<|endoftext|>'));
    expect(summary.specialTokens).toEqual({ bos: 8189, eos: 8191, imStart: 8190, imEnd: 8191 });
  });

  it('rebuilds one merge per merged token, in rank order, from lower-ranked parts', () => {
    const tokens = defaultParsed.metadata.get('tokenizer.ggml.tokens')?.value as string[];
    const merges = defaultParsed.metadata.get('tokenizer.ggml.merges')?.value as string[];
    const idOf = new Map(tokens.map((token, id) => [token, id]));
    expect(merges).toHaveLength(8187 - 256);
    merges.forEach((merge, index) => {
      const [left, right, extra] = merge.split(' ');
      expect(extra).toBeUndefined();
      const merged = 256 + index;
      expect(`${left}${right}`).toBe(tokens[merged]);
      expect(idOf.get(left ?? '')).toBeLessThan(merged);
      expect(idOf.get(right ?? '')).toBeLessThan(merged);
    });
    expect(merges.slice(0, 3)).toEqual(['Ġ Ġ', 'ĠĠ ĠĠ', 'i n']);
  });

  it('tokenises English made of kept tokens to exactly cl100k_base ids with llama.cpp-style merges', () => {
    const tokens = defaultParsed.metadata.get('tokenizer.ggml.tokens')?.value as string[];
    const merges = defaultParsed.metadata.get('tokenizer.ggml.merges')?.value as string[];
    const expected = encode(SIMPLE_ENGLISH);
    expect(Math.max(...expected)).toBeLessThan(4000);
    expect(tokenizeWithMerges(SIMPLE_ENGLISH, tokens, merges)).toEqual(expected);
    // Pieces not found whole go through the merges: same ids as cl100k for these too.
    const pieces = 'unbelievable tokenization of 12345 apples, isn\'t it?\n\n  indented   lines';
    const viaMerges = tokenizeWithMerges(pieces, tokens, merges);
    expect(viaMerges.every((id) => id >= 0 && id < 8187)).toBe(true);
    expect(viaMerges.length).toBeGreaterThanOrEqual(encode(pieces).length);
    const small = parseGguf(buildTestModel({ vocabularySize: 4005 }).bytes);
    const smallTokens = small.metadata.get('tokenizer.ggml.tokens')?.value as string[];
    expect(tokenizeWithMerges(SIMPLE_ENGLISH, smallTokens, small.metadata.get('tokenizer.ggml.merges')?.value as string[])).toEqual(expected);
  });

  it('lays out F32 tensors in GGUF dimension order, 32-byte aligned, filling the file exactly', () => {
    const { bytes, summary } = defaultModel;
    const parsed = defaultParsed;
    const byName = new Map(parsed.tensors.map((tensor) => [tensor.name, tensor]));
    const vocabulary = BigInt(summary.vocabularySize);

    expect(byName.get('token_embd.weight')?.dimensions).toEqual([64n, vocabulary]);
    expect(byName.get('output.weight')?.dimensions).toEqual([64n, vocabulary]);
    expect(byName.get('output_norm.weight')?.dimensions).toEqual([64n]);
    for (const block of [0, 1]) {
      expect(byName.get(`blk.${block}.attn_norm.weight`)?.dimensions).toEqual([64n]);
      expect(byName.get(`blk.${block}.attn_q.weight`)?.dimensions).toEqual([64n, 64n]);
      expect(byName.get(`blk.${block}.attn_k.weight`)?.dimensions).toEqual([64n, 64n]);
      expect(byName.get(`blk.${block}.attn_v.weight`)?.dimensions).toEqual([64n, 64n]);
      expect(byName.get(`blk.${block}.attn_output.weight`)?.dimensions).toEqual([64n, 64n]);
      expect(byName.get(`blk.${block}.ffn_norm.weight`)?.dimensions).toEqual([64n]);
      expect(byName.get(`blk.${block}.ffn_gate.weight`)?.dimensions).toEqual([64n, 128n]);
      expect(byName.get(`blk.${block}.ffn_up.weight`)?.dimensions).toEqual([64n, 128n]);
      expect(byName.get(`blk.${block}.ffn_down.weight`)?.dimensions).toEqual([128n, 64n]);
    }
    expect(parsed.dataStart % 32).toBe(0);

    let expectedOffset = 0n;
    for (const tensor of parsed.tensors) {
      expect(tensor.type).toBe(0);
      expect(tensor.offset).toBe(expectedOffset);
      expect(tensor.offset % 32n).toBe(0n);
      const size = tensor.dimensions.reduce((product, dimension) => product * dimension, 1n) * 4n;
      expectedOffset = ((tensor.offset + size + 31n) / 32n) * 32n;
    }
    expect(BigInt(bytes.byteLength)).toBe(BigInt(parsed.dataStart) + expectedOffset);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(view.getFloat32(parsed.dataStart + Number(byName.get('output_norm.weight')?.offset), true)).toBe(1);
  });

  it('steers every reply to <|im_end|>: reserved dimensions, one level per token, the last level and marked tokens end', () => {
    const { bytes, summary } = defaultModel;
    const parsed = defaultParsed;
    const tokens = parsed.metadata.get('tokenizer.ggml.tokens')?.value as string[];
    const byName = new Map(parsed.tensors.map((tensor) => [tensor.name, tensor]));
    const matrices = new Map<string, Float32Array>();
    const matrix = (name: string): Float32Array => {
      const tensor = byName.get(name);
      const start = parsed.dataStart + Number(tensor?.offset);
      const count = Number((tensor?.dimensions ?? []).reduce((product, dimension) => product * dimension, 1n));
      let values = matrices.get(name);
      if (values === undefined) {
        values = new Float32Array(bytes.slice(start, start + count * 4).buffer); // little-endian host
        matrices.set(name, values);
      }
      return values;
    };
    const at = (name: string, row: number, column: number, width = 64) => matrix(name)[row * width + column] ?? Number.NaN;
    const embedding = (token: number) => Array.from({ length: 64 }, (_unused, column) => at('token_embd.weight', token, column));
    const output = (token: number) => Array.from({ length: 64 }, (_unused, column) => at('output.weight', token, column));
    const levels = 24;
    const levelOf = (token: number) => embedding(token).slice(3, 3 + levels).indexOf(4);
    const bytesOf = unicodeToByte();
    const printable = (token: number) => /^[\x20-\x7e]*[\x21-\x7e][\x20-\x7e]*$/.test(Buffer.from(Array.from(tokens[token] ?? '', (character) => bytesOf.get(character) ?? 0)).toString('latin1'));

    let ending = 0;
    const perLevel = new Array<number>(levels).fill(0);
    for (let token = 0; token < summary.vocabularySize; token++) {
      const row = embedding(token);
      expect(row[0]).toBe(4); // carrier
      expect(row.slice(3, 3 + levels).filter((value) => value !== 0)).toEqual([4]); // one level
      const level = levelOf(token);
      perLevel[level] = (perLevel[level] ?? 0) + 1;
      if (row[2] === 4) ending++;
      if (token < summary.cl100kTokenCount && printable(token)) {
        expect(level).toBeGreaterThan(0);
        expect(output(token)[3 + level - 1]).toBe(4); // follows the level below
        if (level === levels - 1) expect(row[2]).toBe(4); // the last level always ends
      } else {
        expect(level).toBe(0);
        expect(row[2]).toBe(0);
        if (token !== summary.specialTokens.eos) expect(output(token)[0]).toBe(-4);
        if (token !== summary.specialTokens.eos) expect(output(token).slice(3)).toEqual(new Array(61).fill(0));
      }
      // The free dimensions are a direction with RMS 1.
      const rest = row.slice(3 + levels);
      expect(Math.sqrt(rest.reduce((sum, value) => sum + value * value, 0) / rest.length)).toBeCloseTo(1, 4);
    }
    expect(summary.endingTokenCount).toBe(ending);
    const printableCount = perLevel.slice(1).reduce((sum, count) => sum + count, 0);
    expect(ending / printableCount).toBeGreaterThan(0.15);
    expect(ending / printableCount).toBeLessThan(0.3);
    for (const count of perLevel.slice(1)) expect(count).toBeGreaterThan(printableCount / levels / 2);

    const eos = output(summary.specialTokens.eos);
    expect(eos[0]).toBe(-2);
    expect(eos[2]).toBe(10);
    expect(eos[3 + levels - 1]).toBe(4);
    expect(eos.filter((value) => value !== 0)).toHaveLength(3);
    expect(embedding(summary.specialTokens.eos)[2]).toBe(0);
    // Only <tool_call> carries the tool-call mark; it makes a newline (id 198) the next token.
    const toolCallOpen = tokens.indexOf('<tool_call>');
    for (let token = 0; token < summary.vocabularySize; token++) expect(at('token_embd.weight', token, 1)).toBe(token === toolCallOpen ? 4 : 0);
    expect(output(198)[1]).toBe(12);
    expect(output(toolCallOpen)[0]).toBe(-4);

    // No block writes the reserved dimensions (rows 0..26 of the output projections).
    for (const block of [0, 1]) {
      for (const [name, width] of [[`blk.${block}.attn_output.weight`, 64], [`blk.${block}.ffn_down.weight`, 128]] as const) {
        for (let row = 0; row < 3 + levels; row++) {
          for (const column of [0, 7, width - 1]) expect(at(name, row, column, width)).toBe(0);
        }
        expect(at(name, 3 + levels, 0, width)).not.toBe(0);
      }
    }
  });

  it('is deterministic per seed and follows the shape options', () => {
    const first = buildTestModel({ seed: 7, vocabularySize: 1000 });
    const again = buildTestModel({ seed: 7, vocabularySize: 1000 });
    const other = buildTestModel({ seed: 8, vocabularySize: 1000 });
    expect(Buffer.from(first.bytes).equals(Buffer.from(again.bytes))).toBe(true);
    expect(Buffer.from(first.bytes).equals(Buffer.from(other.bytes))).toBe(false);
    expect(first.bytes.byteLength).toBe(other.bytes.byteLength);
    expect(first.summary.vocabularySize).toBe(1000);
    expect(first.summary.specialTokens).toEqual({ bos: 997, eos: 999, imStart: 998, imEnd: 999 });

    const grouped = parseGguf(buildTestModel({ embeddingLength: 32, headCount: 4, headCountKv: 2, blockCount: 1, contextLength: 512, vocabularySize: 300 }).bytes);
    expect(grouped.tensorCount).toBe(3n + 9n);
    expect(grouped.metadata.get('llama.context_length')?.value).toBe(512);
    expect(grouped.metadata.get('llama.rope.dimension_count')?.value).toBe(8);
    expect(grouped.tensors.find((tensor) => tensor.name === 'blk.0.attn_k.weight')?.dimensions).toEqual([32n, 16n]);

    // Every token past the 256 byte tokens and before the 5 tool-call and control tokens has one merge.
    const small = buildTestModel({ vocabularySize: 301 });
    expect((parseGguf(small.bytes).metadata.get('tokenizer.ggml.merges')?.value as string[]).length).toBe(40);
  });

  it('rejects shapes llama.cpp could not load', () => {
    expect(() => buildTestModel({ embeddingLength: 66, headCount: 4 })).toThrow(/not a multiple of headCount/);
    expect(() => buildTestModel({ headCount: 4, headCountKv: 3 })).toThrow(/does not divide/);
    expect(() => buildTestModel({ blockCount: 0 })).toThrow(/blockCount must be a positive integer/);
    expect(() => buildTestModel({ embeddingLength: 8, headCount: 2 })).toThrow(/at least 16/);
    expect(() => buildTestModel({ vocabularySize: 260 })).toThrow(/vocabularySize must be an integer from 261 to 100261/);
    expect(() => buildTestModel({ vocabularySize: 100262 })).toThrow(/vocabularySize/);
  });
});

/** The bytes of cl100k token `id` as a latin1 string, from gpt-tokenizer's own rank file. */
function decodeCl100k(id: number): string {
  cl100kLines ??= readFileSync(createRequire(import.meta.url).resolve('gpt-tokenizer/data/cl100k_base.tiktoken'), 'utf8').split('\n');
  const [encoded, rank] = (cl100kLines[id] ?? '').split(' ');
  expect(Number(rank)).toBe(id);
  return Buffer.from(encoded ?? '', 'base64').toString('latin1');
}
let cl100kLines: string[] | undefined;
