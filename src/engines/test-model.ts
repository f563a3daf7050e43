import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { sha256Hex } from '../common/hash.js';

/**
 * A tiny, valid GGUF v3 model for the `llama` architecture with seeded random F32 weights and a
 * byte-level BPE (`gpt2`) tokenizer. It produces gibberish (printable ASCII that usually ends on
 * `<|im_end|>` after a few dozen sampled tokens; greedy decoding repeats one token), but llama.cpp
 * (`llama-server`, node-llama-cpp) loads and runs it in milliseconds on a CPU, so tests and a fresh machine get
 * real inference without downloading a model. Layout follows ggml's docs/gguf.md and gguf-py's
 * GGUFWriter: header, metadata key/values, tensor infos, padding to `general.alignment` (32),
 * then each tensor's data padded to the alignment.
 */

/** Shape and content options of a generated test model; every field has a small default. */
export interface TestModelOptions {
  /** Seed of the deterministic weight generator; the same options always give the same bytes. */
  seed?: number;
  /** `general.name`. */
  name?: string;
  /** `llama.context_length` (the training context the engine reports, e.g. `/props` n_ctx_train). */
  contextLength?: number;
  /** `llama.embedding_length` (n_embd); must be a multiple of headCount. */
  embeddingLength?: number;
  /** `llama.block_count` (layers). */
  blockCount?: number;
  /** `llama.attention.head_count`. */
  headCount?: number;
  /** `llama.attention.head_count_kv`; must divide headCount. */
  headCountKv?: number;
  /** `llama.feed_forward_length` (n_ff). */
  feedForwardLength?: number;
  /** Number of extra BPE merges added on top of the 256 byte tokens (at most MERGE_PAIRS.length). */
  mergeCount?: number;
  /** `tokenizer.chat_template`; defaults to a ChatML template that renders tools (Hermes / Qwen 2.5 style). */
  chatTemplate?: string;
}

/** What was written: enough for a caller to log it or register it as a provider model. */
export interface TestModelSummary {
  path: string;
  bytes: number;
  sha256: string;
  architecture: 'llama';
  name: string;
  vocabularySize: number;
  contextLength: number;
  embeddingLength: number;
  blockCount: number;
  tensorCount: number;
  metadataCount: number;
  /** Special token texts and ids, for callers that assert on tokenisation. */
  specialTokens: { bos: number; eos: number; imStart: number; imEnd: number };
}

/** GGUF v3 metadata value types (ggml docs/gguf.md, `gguf_metadata_value_type`). */
export const GGUF_VALUE_TYPE = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

/** `ggml_type` of F32 tensors. */
export const GGML_TYPE_F32 = 0;
/** Bytes `GGUF` read as a little-endian uint32. */
export const GGUF_MAGIC = 0x46554747;
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/**
 * ChatML with tools, after Qwen 2.5's template: llama.cpp recognises the `<tool_call>` markup
 * (Hermes 2 Pro format) and parses tool calls from it when run with `--jinja`.
 */
export const TEST_MODEL_CHAT_TEMPLATE = [
  "{%- if tools %}",
  "{{- '<|im_start|>system\\n' }}",
  "{%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}{%- else %}{{- 'You are a helpful assistant.' }}{%- endif %}",
  "{{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}",
  "{%- for tool in tools %}{{- \"\\n\" }}{{- tool | tojson }}{%- endfor %}",
  "{{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, \\\"arguments\\\": <args-json-object>}\\n</tool_call><|im_end|>\\n\" }}",
  "{%- else %}",
  "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- endif %}",
  "{%- endif %}",
  "{%- for message in messages %}",
  "{%- if (message.role == 'user') or (message.role == 'system' and not loop.first) or (message.role == 'assistant' and not message.tool_calls) %}",
  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}",
  "{%- elif message.role == 'assistant' %}",
  "{{- '<|im_start|>' + message.role }}",
  "{%- if message.content %}{{- '\\n' + message.content }}{%- endif %}",
  "{%- for tool_call in message.tool_calls %}",
  "{%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}",
  "{{- '\\n<tool_call>\\n{\"name\": \"' }}{{- tool_call.name }}{{- '\", \"arguments\": ' }}{{- tool_call.arguments | tojson }}{{- '}\\n</tool_call>' }}",
  "{%- endfor %}",
  "{{- '<|im_end|>\\n' }}",
  "{%- elif message.role == 'tool' %}",
  "{%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != 'tool') %}{{- '<|im_start|>user' }}{%- endif %}",
  "{{- '\\n<tool_response>\\n' }}{{- message.content }}{{- '\\n</tool_response>' }}",
  "{%- if loop.last or (messages[loop.index0 + 1].role != 'tool') %}{{- '<|im_end|>\\n' }}{%- endif %}",
  "{%- endif %}",
  "{%- endfor %}",
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}",
].join('\n');

/** Frequent English byte pairs, in GPT-2's byte-to-unicode spelling (`Ġ` is a space). */
const MERGE_PAIRS: readonly (readonly [string, string])[] = [
  ['Ġ', 't'], ['h', 'e'], ['i', 'n'], ['r', 'e'], ['o', 'n'], ['Ġt', 'he'], ['e', 'r'], ['Ġ', 's'],
  ['a', 't'], ['Ġ', 'w'], ['Ġ', 'o'], ['e', 'n'], ['Ġ', 'c'], ['i', 's'], ['Ġ', 'a'], ['e', 's'],
  ['o', 'r'], ['Ġ', 'b'], ['e', 'd'], ['Ġ', 'f'], ['in', 'g'], ['Ġ', 'p'], ['o', 'u'], ['a', 'n'],
  ['a', 'r'], ['a', 'l'], ['Ġ', 'm'], ['Ġo', 'f'], ['Ġ', 'in'], ['Ġ', 'd'], ['l', 'e'], ['i', 'c'],
  ['Ġ', 'h'], ['n', 'd'], ['Ġa', 'nd'], ['Ġt', 'o'], ['Ġ', 'l'], ['Ġ', 'n'], ['s', 't'], ['i', 't'],
];

const SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

/*
 * Steering random weights towards readable output. Every token embedding holds a large constant
 * in dimension 0 (the carrier) and no layer writes to that dimension, so after the final norm the
 * hidden state always has a large positive component there. Column 0 of each output row then acts
 * as a per-token logit bias: readable ASCII tokens get READABLE_TOKEN, control and non-ASCII byte
 * tokens UNWANTED_TOKEN, and <|im_end|> END_OF_TURN_TOKEN — slightly above the readable tokens, so
 * sampled answers end on their own after a few dozen tokens (finish_reason "stop") while greedy
 * decoding mostly follows the random part of the logits.
 */
const CARRIER_DIMENSION = 0;
const NEWLINE_BYTE = 0x0a;
const CARRIER_VALUE = 32;
const READABLE_TOKEN: number = 1;
const UNWANTED_TOKEN = -1;
const END_OF_TURN_TOKEN = 1.05;
/*
 * `<tool_call>` is as likely as <|im_end|>, so with tools offered the model sometimes opens a tool
 * call and llama.cpp's grammar then forces valid tool-call JSON (real `tool_calls` responses);
 * without tools it is plain text in the content.
 */
const TOOL_CALL_OPEN_TOKEN = 1.1;
/*
 * llama.cpp's tool-call grammar triggers on `<tool_call>\n`, so a second protected dimension marks
 * the position right after `<tool_call>` and makes a newline by far the likeliest next token there.
 */
const TOOL_CALL_MARKER_DIMENSION = 1;
const NEWLINE_AFTER_TOOL_CALL = 3;
const READABLE_BYTES = /^[A-Za-z0-9 .,!?'"{}\[\]:;-]$/;

/** Output rows 0 and 1 of a block's output projections: zero, so the carriers are never changed. */
const keepCarrier = (_column: number, row: number): number | undefined =>
  row === CARRIER_DIMENSION || row === TOOL_CALL_MARKER_DIMENSION ? 0 : undefined;
const TOKEN_TYPE_NORMAL = 1;
const TOKEN_TYPE_CONTROL = 3;
const TOKEN_TYPE_USER_DEFINED = 4;
/** Tool-call markup of the chat template as single user-defined tokens (as Qwen 2.5 has them). */
const TOOL_CALL_TOKENS = ['<tool_call>', '</tool_call>'] as const;

type MetadataValue =
  | { type: 'uint32'; value: number }
  | { type: 'float32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string-array'; value: readonly string[] }
  | { type: 'int32-array'; value: readonly number[] };

interface TensorSpec {
  name: string;
  /** GGUF order: dimension 0 is the fastest-varying (ggml `ne[0]`), e.g. `[n_embd, n_vocab]`. */
  dimensions: readonly number[];
  fill: 'ones' | 'random';
  /** Replaces the filled value at (column = index along dimension 0, row = index along dimension 1). */
  adjust?: (column: number, row: number) => number | undefined;
}

/**
 * Writes a tiny llama-architecture GGUF v3 file to `path` (parent directories are created) and
 * returns what was written. Deterministic: equal options produce identical bytes.
 */
export async function writeTestModel(path: string, options: TestModelOptions = {}): Promise<TestModelSummary> {
  const built = buildTestModel(options);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, built.bytes);
  return { ...built.summary, path, bytes: built.bytes.byteLength, sha256: sha256Hex(built.bytes) };
}

/** The GGUF bytes of a test model, without touching the file system. */
export function buildTestModel(options: TestModelOptions = {}): {
  bytes: Uint8Array;
  summary: Omit<TestModelSummary, 'path' | 'bytes' | 'sha256'>;
} {
  const seed = options.seed ?? 1234;
  const name = options.name ?? 'syndicate-tiny-test';
  const contextLength = options.contextLength ?? 2048;
  const embeddingLength = options.embeddingLength ?? 64;
  const blockCount = options.blockCount ?? 2;
  const headCount = options.headCount ?? 4;
  const headCountKv = options.headCountKv ?? headCount;
  const feedForwardLength = options.feedForwardLength ?? 128;
  const mergeCount = Math.min(options.mergeCount ?? MERGE_PAIRS.length, MERGE_PAIRS.length);
  const chatTemplate = options.chatTemplate ?? TEST_MODEL_CHAT_TEMPLATE;

  for (const [label, value] of Object.entries({ contextLength, embeddingLength, blockCount, headCount, headCountKv, feedForwardLength })) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`test model: ${label} must be a positive integer, got ${value}`);
  }
  if (embeddingLength % headCount !== 0) {
    throw new RangeError(`test model: embeddingLength ${embeddingLength} is not a multiple of headCount ${headCount}`);
  }
  if (headCount % headCountKv !== 0) {
    throw new RangeError(`test model: headCountKv ${headCountKv} does not divide headCount ${headCount}`);
  }
  const headDimension = embeddingLength / headCount;
  if (headDimension % 2 !== 0) throw new RangeError(`test model: head dimension ${headDimension} must be even for RoPE`);

  const vocabulary = buildVocabulary(mergeCount);
  const vocabularySize = vocabulary.tokens.length;
  const keyValueLength = headDimension * headCountKv;

  const metadata: [string, MetadataValue][] = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: name }],
    ['general.alignment', { type: 'uint32', value: GGUF_DEFAULT_ALIGNMENT }],
    ['general.file_type', { type: 'uint32', value: 0 }], // ALL_F32
    ['llama.vocab_size', { type: 'uint32', value: vocabularySize }],
    ['llama.context_length', { type: 'uint32', value: contextLength }],
    ['llama.embedding_length', { type: 'uint32', value: embeddingLength }],
    ['llama.block_count', { type: 'uint32', value: blockCount }],
    ['llama.feed_forward_length', { type: 'uint32', value: feedForwardLength }],
    ['llama.attention.head_count', { type: 'uint32', value: headCount }],
    ['llama.attention.head_count_kv', { type: 'uint32', value: headCountKv }],
    ['llama.rope.dimension_count', { type: 'uint32', value: headDimension }],
    ['llama.rope.freq_base', { type: 'float32', value: 10000 }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'float32', value: 1e-5 }],
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: 'default' }],
    ['tokenizer.ggml.tokens', { type: 'string-array', value: vocabulary.tokens }],
    ['tokenizer.ggml.token_type', { type: 'int32-array', value: vocabulary.tokenTypes }],
    ['tokenizer.ggml.merges', { type: 'string-array', value: vocabulary.merges }],
    ['tokenizer.ggml.bos_token_id', { type: 'uint32', value: vocabulary.special.bos }],
    ['tokenizer.ggml.eos_token_id', { type: 'uint32', value: vocabulary.special.eos }],
    ['tokenizer.ggml.padding_token_id', { type: 'uint32', value: vocabulary.special.bos }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
    ['tokenizer.chat_template', { type: 'string', value: chatTemplate }],
  ];

  const tensors: TensorSpec[] = [
    {
      name: 'token_embd.weight',
      dimensions: [embeddingLength, vocabularySize],
      fill: 'random',
      adjust: (column, row) => {
        if (column === CARRIER_DIMENSION) return CARRIER_VALUE;
        if (column === TOOL_CALL_MARKER_DIMENSION) return row === vocabulary.toolCallOpen ? CARRIER_VALUE : 0;
        return undefined;
      },
    },
    { name: 'output_norm.weight', dimensions: [embeddingLength], fill: 'ones' },
    {
      name: 'output.weight',
      dimensions: [embeddingLength, vocabularySize],
      fill: 'random',
      adjust: (column, row) => {
        if (column === CARRIER_DIMENSION) return vocabulary.preference[row] ?? UNWANTED_TOKEN;
        if (column === TOOL_CALL_MARKER_DIMENSION) return row === NEWLINE_BYTE ? NEWLINE_AFTER_TOOL_CALL : 0;
        return undefined;
      },
    },
  ];
  for (let block = 0; block < blockCount; block++) {
    const prefix = `blk.${block}`;
    tensors.push(
      { name: `${prefix}.attn_norm.weight`, dimensions: [embeddingLength], fill: 'ones' },
      { name: `${prefix}.attn_q.weight`, dimensions: [embeddingLength, embeddingLength], fill: 'random' },
      { name: `${prefix}.attn_k.weight`, dimensions: [embeddingLength, keyValueLength], fill: 'random' },
      { name: `${prefix}.attn_v.weight`, dimensions: [embeddingLength, keyValueLength], fill: 'random' },
      { name: `${prefix}.attn_output.weight`, dimensions: [embeddingLength, embeddingLength], fill: 'random', adjust: keepCarrier },
      { name: `${prefix}.ffn_norm.weight`, dimensions: [embeddingLength], fill: 'ones' },
      { name: `${prefix}.ffn_gate.weight`, dimensions: [embeddingLength, feedForwardLength], fill: 'random' },
      { name: `${prefix}.ffn_up.weight`, dimensions: [embeddingLength, feedForwardLength], fill: 'random' },
      { name: `${prefix}.ffn_down.weight`, dimensions: [feedForwardLength, embeddingLength], fill: 'random', adjust: keepCarrier },
    );
  }

  const bytes = encodeGguf(metadata, tensors, seed);
  return {
    bytes,
    summary: {
      architecture: 'llama',
      name,
      vocabularySize,
      contextLength,
      embeddingLength,
      blockCount,
      tensorCount: tensors.length,
      metadataCount: metadata.length,
      specialTokens: vocabulary.special,
    },
  };
}

/**
 * 256 byte tokens in GPT-2's byte-to-unicode spelling, the merged tokens, then the control
 * tokens. Merges reference only tokens that exist, in rank order.
 */
function buildVocabulary(mergeCount: number): {
  tokens: string[];
  tokenTypes: number[];
  merges: string[];
  /** Logit bias per token id (see CARRIER_DIMENSION). */
  preference: number[];
  toolCallOpen: number;
  special: TestModelSummary['specialTokens'];
} {
  const tokens = byteLevelAlphabet();
  const preference = tokens.map((_token, byte) => (READABLE_BYTES.test(String.fromCharCode(byte)) ? READABLE_TOKEN : UNWANTED_TOKEN));
  const tokenTypes = tokens.map(() => TOKEN_TYPE_NORMAL);
  const known = new Set(tokens);
  const merges: string[] = [];
  for (const [left, right] of MERGE_PAIRS.slice(0, mergeCount)) {
    if (!known.has(left) || !known.has(right)) throw new Error(`test model: merge ${left} ${right} uses an unknown token`);
    merges.push(`${left} ${right}`);
    const merged = left + right;
    if (!known.has(merged)) {
      known.add(merged);
      tokens.push(merged);
      tokenTypes.push(TOKEN_TYPE_NORMAL);
      preference.push(READABLE_TOKEN);
    }
  }
  const toolCallOpen = tokens.length;
  for (const markup of TOOL_CALL_TOKENS) {
    tokens.push(markup);
    tokenTypes.push(TOKEN_TYPE_USER_DEFINED);
    preference.push(markup === '<tool_call>' ? TOOL_CALL_OPEN_TOKEN : UNWANTED_TOKEN);
  }
  const specialIds: number[] = [];
  for (const special of SPECIAL_TOKENS) {
    specialIds.push(tokens.length);
    tokens.push(special);
    tokenTypes.push(TOKEN_TYPE_CONTROL);
    preference.push(special === '<|im_end|>' ? END_OF_TURN_TOKEN : UNWANTED_TOKEN);
  }
  const [endOfText, imStart, imEnd] = specialIds as [number, number, number];
  return { tokens, tokenTypes, merges, preference, toolCallOpen, special: { bos: endOfText, eos: imEnd, imStart, imEnd } };
}

/** GPT-2's `bytes_to_unicode`: printable bytes map to themselves, the rest to U+0100 onwards. */
function byteLevelAlphabet(): string[] {
  const alphabet: string[] = [];
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    alphabet.push(String.fromCodePoint(printable ? byte : 256 + shifted++));
  }
  return alphabet;
}

function encodeGguf(metadata: readonly [string, MetadataValue][], tensors: readonly TensorSpec[], seed: number): Uint8Array {
  const header = new ByteWriter();
  header.uint32(GGUF_MAGIC);
  header.uint32(GGUF_VERSION);
  header.uint64(tensors.length);
  header.uint64(metadata.length);
  for (const [key, value] of metadata) {
    header.string(key);
    writeMetadataValue(header, value);
  }

  let dataOffset = 0;
  const offsets: number[] = [];
  for (const tensor of tensors) {
    header.string(tensor.name);
    header.uint32(tensor.dimensions.length);
    for (const dimension of tensor.dimensions) header.uint64(dimension);
    header.uint32(GGML_TYPE_F32);
    header.uint64(dataOffset);
    offsets.push(dataOffset);
    dataOffset = alignUp(dataOffset + elementCount(tensor) * 4, GGUF_DEFAULT_ALIGNMENT);
  }

  const headerBytes = header.bytes();
  const dataStart = alignUp(headerBytes.byteLength, GGUF_DEFAULT_ALIGNMENT);
  const output = new Uint8Array(dataStart + dataOffset);
  output.set(headerBytes, 0);
  const view = new DataView(output.buffer);
  const random = mulberry32(seed);
  tensors.forEach((tensor, index) => {
    const count = elementCount(tensor);
    // Scale like a normal init (≈ 1/sqrt(fan_in)) so activations stay finite through the layers.
    const scale = tensor.fill === 'random' ? 1 / Math.sqrt(tensor.dimensions[0] ?? 1) : 0;
    const columns = tensor.dimensions[0] ?? 1;
    let position = dataStart + (offsets[index] ?? 0);
    for (let element = 0; element < count; element++) {
      const filled = tensor.fill === 'ones' ? 1 : (random() * 2 - 1) * scale * Math.sqrt(3);
      const value = tensor.adjust?.(element % columns, Math.floor(element / columns)) ?? filled;
      view.setFloat32(position, value, true);
      position += 4;
    }
  });
  return output;
}

function writeMetadataValue(writer: ByteWriter, value: MetadataValue): void {
  switch (value.type) {
    case 'uint32':
      writer.uint32(GGUF_VALUE_TYPE.uint32);
      writer.uint32(value.value);
      return;
    case 'float32':
      writer.uint32(GGUF_VALUE_TYPE.float32);
      writer.float32(value.value);
      return;
    case 'bool':
      writer.uint32(GGUF_VALUE_TYPE.bool);
      writer.uint8(value.value ? 1 : 0);
      return;
    case 'string':
      writer.uint32(GGUF_VALUE_TYPE.string);
      writer.string(value.value);
      return;
    case 'string-array':
      writer.uint32(GGUF_VALUE_TYPE.array);
      writer.uint32(GGUF_VALUE_TYPE.string);
      writer.uint64(value.value.length);
      for (const item of value.value) writer.string(item);
      return;
    case 'int32-array':
      writer.uint32(GGUF_VALUE_TYPE.array);
      writer.uint32(GGUF_VALUE_TYPE.int32);
      writer.uint64(value.value.length);
      for (const item of value.value) writer.int32(item);
      return;
  }
}

function elementCount(tensor: TensorSpec): number {
  return tensor.dimensions.reduce((product, dimension) => product * dimension, 1);
}

function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}

/** Small, fast, seedable PRNG (Tommy Ettinger's mulberry32); returns floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** Little-endian append-only byte buffer. */
class ByteWriter {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  private length = 0;
  private readonly encoder = new TextEncoder();

  uint8(value: number): void {
    this.reserve(1).setUint8(this.length - 1, value);
  }

  uint32(value: number): void {
    this.reserve(4).setUint32(this.length - 4, value, true);
  }

  int32(value: number): void {
    this.reserve(4).setInt32(this.length - 4, value, true);
  }

  float32(value: number): void {
    this.reserve(4).setFloat32(this.length - 4, value, true);
  }

  uint64(value: number): void {
    this.reserve(8).setBigUint64(this.length - 8, BigInt(value), true);
  }

  /** GGUF string: uint64 byte length, then UTF-8 bytes without a terminator. */
  string(value: string): void {
    const encoded = this.encoder.encode(value);
    this.uint64(encoded.byteLength);
    this.reserve(encoded.byteLength);
    this.buffer.set(encoded, this.length - encoded.byteLength);
  }

  bytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  /** Grows the buffer for `count` more bytes and advances the length; returns the (new) view. */
  private reserve(count: number): DataView {
    const needed = this.length + count;
    if (needed > this.buffer.byteLength) {
      let capacity = this.buffer.byteLength;
      while (capacity < needed) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length = needed;
    return this.view;
  }
}
