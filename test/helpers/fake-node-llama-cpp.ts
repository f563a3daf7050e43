import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { binaryPackagesFor, ENGINE_PACKAGE_NAME, NODE_LLAMA_CPP_VERSION } from '../../src/engines/runtime.js';

/**
 * A stand-in for node-llama-cpp, as an engine directory `$SYNDICATE_ENGINE_DIR` can name: enough
 * of its API for `engine status` and for `engine serve` to load a "model" (any file) and answer
 * every chat with "hi", with no llama.cpp behind it. For CLI tests of what happens around the
 * engine (ports, signals, errors); the real engine is tested in test/engines.
 *
 * `FAKE_LLAMA_FAIL=<message>` in the engine process's environment makes `getLlama` throw it.
 * `FAKE_LLAMA_GPUS=<backend,...>` (default none): the GPU backends the fake machine runs on; a
 * `gpu` asked for that is not among them starts on the CPU, as node-llama-cpp falls back.
 * `FAKE_LLAMA_TOKENS=<n>` (default 1; `Infinity` until aborted) answers "hi" that many times, the
 * first at once and each next one `FAKE_LLAMA_TOKEN_MS` later: a long generation, stopped (as
 * node-llama-cpp's `stopOnAbortSignal` does) at the next token once its signal aborts.
 * `FAKE_LLAMA_LOG=<file>` appends a line to that file for each generation begun: what a test reads
 * to tell that a refused request generated nothing.
 * `FAKE_LLAMA_SIGNAL_EXIT=1` makes `getLlama` add the SIGINT, SIGTERM and SIGHUP listeners the real
 * one leaves behind (signal-exit 3, loaded by the proper-lockfile it locks its binaries with): each
 * does nothing unless it is the signal's only listener, when it sends the signal again.
 */
const FAKE_MODULE = `
import { appendFileSync } from 'node:fs';
const tokens = (text) => Array.from({ length: Math.max(1, Math.ceil(String(text).length / 4)) }, (_, index) => index + 1);
const tokenizer = Object.assign((text) => tokens(text), { detokenize: () => '', isSpecialToken: () => false, isEogToken: () => false });
export async function getLlama(options = {}) {
  if (process.env.FAKE_LLAMA_FAIL) throw new Error(process.env.FAKE_LLAMA_FAIL);
  if (process.env.FAKE_LLAMA_SIGNAL_EXIT) {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      const listener = () => {
        if (process.listeners(signal).length === 1) process.kill(process.pid, signal);
      };
      process.on(signal, listener);
    }
  }
  const gpus = (process.env.FAKE_LLAMA_GPUS ?? '').split(',').filter((name) => name !== '');
  const asked = options.gpu ?? 'auto';
  return {
    gpu: asked === 'auto' ? (gpus[0] ?? false) : gpus.includes(asked) ? asked : false,
    cpuMathCores: 1,
    maxThreads: 1,
    buildType: 'prebuilt',
    llamaCppRelease: { repo: 'fake', release: 'b0' },
    async loadModel({ modelPath }) {
      return {
        tokenizer, filename: modelPath, size: 1, trainContextSize: 512, gpuLayers: 0, typeDescription: 'fake', fileInfo: { metadata: {} },
        tokenize: tokens, detokenize: () => '',
        async createContext({ contextSize }) {
          const sequence = () => ({ contextSize, contextTokens: [], compareContextTokens: () => ({ firstDifferentIndex: 0 }), async clearHistory() {}, async dispose() {} });
          return { contextSize, totalSequences: 1, sequencesLeft: 1, currentThreads: 1, getSequence: sequence, async dispose() {} };
        },
        async dispose() {},
      };
    },
    async createGrammarForJsonSchema() { return { grammar: '' }; },
    async getGrammarFor() { return { grammar: '' }; },
    async dispose() {},
  };
}
export function resolveChatWrapper() {
  return {
    wrapperName: 'Fake',
    settings: { supportsSystemMessages: true, functions: {} },
    generateContextState: ({ chatHistory }) => ({ contextText: { tokenize: () => tokens(JSON.stringify(chatHistory)), toString: () => JSON.stringify(chatHistory) }, stopGenerationTriggers: [] }),
  };
}
export class LlamaChat {
  constructor({ contextSequence, chatWrapper }) { this.sequence = contextSequence; this.chatWrapper = chatWrapper; }
  async generateResponse(history, options) {
    if (process.env.FAKE_LLAMA_LOG) appendFileSync(process.env.FAKE_LLAMA_LOG, 'generation\\n');
    const count = Number(process.env.FAKE_LLAMA_TOKENS ?? 1);
    const delayMs = Number(process.env.FAKE_LLAMA_TOKEN_MS ?? 0);
    let response = '';
    for (let index = 0; index < count; index += 1) {
      if (index > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (options.signal?.aborted) return { response, metadata: { stopReason: 'abort' } };
      options.onResponseChunk?.({ type: undefined, segmentType: undefined, text: 'hi', tokens: [1] });
      options.onTextChunk?.('hi');
      response += 'hi';
    }
    return { response, metadata: { stopReason: 'eogToken' } };
  }
  dispose() {}
}
`;

/**
 * Writes the fake engine into `directory` as `installEngine` lays out node-llama-cpp, with this
 * platform's CPU binary package present, so `syndicate engine install` finds nothing to do.
 */
export function writeFakeNodeLlamaCpp(directory: string, version: string = NODE_LLAMA_CPP_VERSION): void {
  const packageDirectory = join(directory, 'node_modules', 'node-llama-cpp');
  mkdirSync(join(packageDirectory, 'dist'), { recursive: true });
  writeFileSync(join(directory, 'package.json'), JSON.stringify({ name: ENGINE_PACKAGE_NAME, private: true }));
  const binaries = binaryPackagesFor('cpu');
  const optionalDependencies = Object.fromEntries(binaries.map((name) => [`@node-llama-cpp/${name}`, version]));
  writeFileSync(join(packageDirectory, 'package.json'), JSON.stringify({ name: 'node-llama-cpp', version, type: 'module', optionalDependencies }));
  writeFileSync(join(packageDirectory, 'dist', 'index.js'), FAKE_MODULE);
  for (const name of binaries) {
    mkdirSync(join(directory, 'node_modules', '@node-llama-cpp', name), { recursive: true });
    writeFileSync(join(directory, 'node_modules', '@node-llama-cpp', name, 'package.json'), JSON.stringify({ name: `@node-llama-cpp/${name}`, version }));
  }
}
