import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { buildTestModel, writeTestModel } from '../../../src/engines/test-model.js';

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

describe('writeTestModel', () => {
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
    expect(summary).toMatchObject({ path, bytes: bytes.byteLength, tensorCount: 21, metadataCount: parsed.metadata.size });
    expect(summary.sha256).toMatch(/^[0-9a-f]{64}$/);

    const value = (key: string) => parsed.metadata.get(key)?.value;
    expect(value('general.architecture')).toBe('llama');
    expect(value('general.name')).toBe('syndicate-tiny-test');
    expect(value('llama.context_length')).toBe(2048);
    expect(value('llama.embedding_length')).toBe(64);
    expect(value('llama.block_count')).toBe(2);
    expect(value('llama.feed_forward_length')).toBe(128);
    expect(value('llama.attention.head_count')).toBe(4);
    expect(value('llama.attention.head_count_kv')).toBe(4);
    expect(value('llama.rope.dimension_count')).toBe(16);
    expect(value('llama.attention.layer_norm_rms_epsilon')).toBeCloseTo(1e-5, 9);
    expect(value('tokenizer.ggml.model')).toBe('gpt2');
    expect(value('tokenizer.ggml.pre')).toBe('default');
    expect(String(value('tokenizer.chat_template'))).toContain('<|im_start|>assistant\\n');
    expect(String(value('tokenizer.chat_template'))).toContain('<tool_call>');
  });

  it('has a consistent byte-level vocabulary: 256 bytes, merged tokens, control tokens last', () => {
    const { bytes, summary } = buildTestModel();
    const parsed = parseGguf(bytes);
    const tokens = parsed.metadata.get('tokenizer.ggml.tokens')?.value as string[];
    const tokenTypes = parsed.metadata.get('tokenizer.ggml.token_type')?.value as number[];
    const merges = parsed.metadata.get('tokenizer.ggml.merges')?.value as string[];

    expect(tokens).toHaveLength(summary.vocabularySize);
    expect(tokenTypes).toHaveLength(tokens.length);
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(tokens[32]).toBe('Ġ'); // space in GPT-2's byte-to-unicode spelling
    expect(tokens[10]).toBe('Ċ'); // newline
    expect(tokens[65]).toBe('A');
    for (const merge of merges) {
      const [left, right, extra] = merge.split(' ');
      expect(extra).toBeUndefined();
      expect(tokens).toContain(left);
      expect(tokens).toContain(right);
      expect(tokens).toContain(`${left}${right}`);
    }
    expect(tokens.slice(-3)).toEqual(['<|endoftext|>', '<|im_start|>', '<|im_end|>']);
    expect(tokenTypes.slice(-3)).toEqual([3, 3, 3]);
    expect(tokens.slice(-5, -3)).toEqual(['<tool_call>', '</tool_call>']);
    expect(tokenTypes.slice(-5, -3)).toEqual([4, 4]);
    expect(tokenTypes.slice(0, -5).every((type) => type === 1)).toBe(true);
    expect(parsed.metadata.get('tokenizer.ggml.eos_token_id')?.value).toBe(tokens.indexOf('<|im_end|>'));
    expect(parsed.metadata.get('tokenizer.ggml.bos_token_id')?.value).toBe(tokens.indexOf('<|endoftext|>'));
    expect(summary.specialTokens).toEqual({
      bos: tokens.indexOf('<|endoftext|>'),
      eos: tokens.indexOf('<|im_end|>'),
      imStart: tokens.indexOf('<|im_start|>'),
      imEnd: tokens.indexOf('<|im_end|>'),
    });
  });

  it('lays out F32 tensors in GGUF dimension order, 32-byte aligned, filling the file exactly', () => {
    const { bytes, summary } = buildTestModel();
    const parsed = parseGguf(bytes);
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
    const norm = byName.get('output_norm.weight');
    expect(view.getFloat32(parsed.dataStart + Number(norm?.offset), true)).toBe(1);
    const at = (name: string, element: number) => view.getFloat32(parsed.dataStart + Number(byName.get(name)?.offset) + element * 4, true);
    const randomWeights = [1, 2, 3, 4].map((element) => at('token_embd.weight', element));
    expect(new Set(randomWeights).size).toBe(4);
    for (const weight of randomWeights) expect(Math.abs(weight)).toBeLessThanOrEqual(Math.sqrt(3) / 8);

    // The readable-output steering: a constant carrier in dimension 0 of every embedding, never
    // written by a block, read by column 0 of each output row as that token's bias.
    for (const token of [0, 65, summary.specialTokens.eos]) expect(at('token_embd.weight', token * 64)).toBe(32);
    for (const block of [0, 1]) {
      for (const input of [0, 5, 63]) expect(at(`blk.${block}.attn_output.weight`, input)).toBe(0);
      for (const input of [0, 5, 127]) expect(at(`blk.${block}.ffn_down.weight`, input)).toBe(0);
      expect(at(`blk.${block}.ffn_down.weight`, 128)).toBe(0); // row 1: the tool-call marker
      expect(at(`blk.${block}.ffn_down.weight`, 256)).not.toBe(0);
    }
    const bias = (token: number) => at('output.weight', token * 64);
    expect(bias('A'.charCodeAt(0))).toBe(1);
    expect(bias(' '.charCodeAt(0))).toBe(1);
    expect(bias('\n'.charCodeAt(0))).toBe(-1);
    expect(bias(0xe9)).toBe(-1);
    expect(bias(summary.specialTokens.imStart)).toBe(-1);
    expect(bias(summary.specialTokens.eos)).toBeCloseTo(1.05, 6);
    // Dimension 1 marks "just after <tool_call>" and pushes a newline there (llama.cpp's trigger).
    const toolCallOpen = summary.specialTokens.bos - 2;
    expect(at('token_embd.weight', toolCallOpen * 64 + 1)).toBe(32);
    expect(at('token_embd.weight', 65 * 64 + 1)).toBe(0);
    expect(at('output.weight', 10 * 64 + 1)).toBe(3);
    expect(at('output.weight', 65 * 64 + 1)).toBe(0);
    for (const block of [0, 1]) expect(at(`blk.${block}.attn_output.weight`, 64 + 7)).toBe(0);
  });

  it('is deterministic per seed and follows the shape options', () => {
    const first = buildTestModel({ seed: 7 });
    const again = buildTestModel({ seed: 7 });
    const other = buildTestModel({ seed: 8 });
    expect(Buffer.from(first.bytes).equals(Buffer.from(again.bytes))).toBe(true);
    expect(Buffer.from(first.bytes).equals(Buffer.from(other.bytes))).toBe(false);
    expect(first.bytes.byteLength).toBe(other.bytes.byteLength);

    const grouped = parseGguf(buildTestModel({ embeddingLength: 32, headCount: 4, headCountKv: 2, blockCount: 1, contextLength: 512 }).bytes);
    expect(grouped.tensorCount).toBe(3n + 9n);
    expect(grouped.metadata.get('llama.context_length')?.value).toBe(512);
    expect(grouped.metadata.get('llama.rope.dimension_count')?.value).toBe(8);
    expect(grouped.tensors.find((tensor) => tensor.name === 'blk.0.attn_k.weight')?.dimensions).toEqual([32n, 16n]);
  });

  it('rejects shapes llama.cpp could not load', () => {
    expect(() => buildTestModel({ embeddingLength: 66, headCount: 4 })).toThrow(/not a multiple of headCount/);
    expect(() => buildTestModel({ headCount: 4, headCountKv: 3 })).toThrow(/does not divide/);
    expect(() => buildTestModel({ blockCount: 0 })).toThrow(/blockCount must be a positive integer/);
  });
});
