import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';

import { HostCheck } from '../../common/host-check.js';
import { listenFailure } from '../../common/listen.js';
import { checkLoopbackUrl } from '../../common/loopback.js';
import { shellWord } from '../../common/shell-word.js';
import { UsageError } from '../../errors.js';
import type { Deviation } from '../../common/vocabulary.js';
import type { NodeLlamaCppModule } from '../node-llama-cpp.js';
import { gpuBackendOffPlatform, importNodeLlamaCpp } from '../runtime.js';
import type { ProviderRecord } from '../../registry/types.js';
import { requireReadableFile } from '../../validation/input-file.js';
import { embeddedRecordDescription } from './description.js';
import { EmbeddedEngine, type EngineLoadOptions, type LoadedModelInfo } from './engine.js';
import { EngineHttpFace, listen, type ListeningFace } from './http.js';

export { ENGINE_GPU_CHOICES, EmbeddedEngine, EngineBackendError, ModelLoadError, type EngineGpuChoice, type LoadedModelInfo } from './engine.js';
export { EngineHttpFace, LOADING_BODY, type GenerationEngine } from './http.js';
export { EngineBusyError, SlotQueue } from './queue.js';
export { readEngineChatRequest, type EngineChatRequest } from './request.js';

/**
 * The capability deviations `syndicate provider capabilities` measures on this engine, declared
 * by `engine serve --register`: none. Usage is counted with the model's own tokenizer (exact and
 * stable across prompt-cache hits), streams end with `[DONE]`, JSON modes are grammar-constrained,
 * seeds are honoured, tool calls are returned as OpenAI `tool_calls` with JSON-string arguments.
 */
export const EMBEDDED_ENGINE_DEVIATIONS: readonly Deviation[] = [];

/**
 * The provider record `engine serve --register <id>` writes: a `local` provider on the engine's
 * loopback URL with the model it loaded, and in its description the options it was served with
 * (`servedArguments`). Tool calls and JSON answers are grammar-constrained by
 * node-llama-cpp whatever the model, hence the `tools` and `json` tags.
 */
export function embeddedProviderRecord(id: string, baseUrl: string, info: LoadedModelInfo, servedWith: readonly string[] = []): ProviderRecord {
  return {
    apiVersion: 'syndicate/v1',
    kind: 'Provider',
    id,
    class: 'local',
    wire: 'openai',
    baseUrl,
    description: embeddedRecordDescription(info.path, info.backend, servedWith),
    models: [{ id: info.id, contextWindow: info.contextWindow, capabilityClass: 'small', tags: ['tools', 'json'] }],
    deviations: [...EMBEDDED_ENGINE_DEVIATIONS],
    engine: { kind: 'node-llama-cpp' },
  };
}

/** Requests allowed to wait for a sequence before new ones are refused with 503. */
export const DEFAULT_MAX_QUEUED = 64;

/**
 * Default generation threads: 1 on a machine with at most 2 cores, else half the cores. On the
 * shared 2-core machine this project is built on, 2 threads were measured ~15x slower than 1
 * (llama.cpp's threads spin-wait for each other while the other core serves everything else).
 */
export function defaultThreads(cores: number = availableParallelism()): number {
  return cores <= 2 ? 1 : Math.floor(cores / 2);
}

/** How to run `engine serve`. */
export interface EngineServerOptions extends Omit<EngineLoadOptions, 'modelPath'> {
  modelPath: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  maxQueued?: number;
  /** Names besides loopback ones the engine answers to in `Host`, and whose pages may call it (`engine serve --allow-host`). */
  allowedHosts?: readonly string[];
  /** Loads node-llama-cpp (default: the engine directory's, through runtime.ts). */
  runtime?: () => Promise<NodeLlamaCppModule>;
  /** Called once the socket listens, before the model loads (`/health` answers 503 until it has). */
  onListening?: (url: string) => void;
  onInternalError?: (error: unknown) => void;
}

/** A serving engine. */
export interface RunningEngineServer {
  /** `http://host:port` (the engine root, llama-server style). */
  url: string;
  /** `url` + `/v1`: the base URL an OpenAI client and a provider record use. */
  baseUrl: string;
  port: number;
  info: LoadedModelInfo;
  /** Requests running or waiting. */
  readonly pending: number;
  /**
   * Graceful stop: refuse new and waiting requests, let running generations finish, close the
   * socket, then free the model.
   */
  close(): Promise<void>;
  /**
   * Stops the chat requests in flight (the drain's bound passed): each client gets an error naming
   * `reason` — a stream ends with an error event, never `[DONE]` — so a pending `close()` finishes
   * as soon as their generations have stopped. Returns how many it stopped.
   */
  cancelInFlight(reason: Error): number;
  /**
   * Closes every connection now (a second Ctrl-C): generations in flight stop as their clients
   * are cut off, so a pending `close()` finishes promptly.
   */
  forceClose(): void;
}

/**
 * Checks the options, listens on loopback, loads the model (the socket answers 503 "Loading
 * model" meanwhile), and serves it. Throws InvalidInputError for a missing or unreadable file (exit 3), UsageError for a non-loopback host or a
 * port that cannot be bound (in use, privileged), ModelLoadError for a file llama.cpp rejects,
 * EngineNotInstalledError when node-llama-cpp is absent, GpuBackendUnavailableError for a `--gpu`
 * backend other than `auto` or `cpu` that llama.cpp does not start on.
 */
export async function startEngineServer(options: EngineServerOptions): Promise<RunningEngineServer> {
  const modelPath = resolve(options.modelPath);
  requireReadableFile(modelPath, modelPath, `pass the .gguf file inside it (\`ls ${shellWord(modelPath)}/*.gguf\`)`);
  if (!statSync(modelPath).isFile()) throw new UsageError(`--model ${modelPath} is not a regular file`, { hint: 'pass a .gguf file' });
  const verdict = await checkLoopbackUrl(`http://${options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host}:1/`);
  if (!verdict.loopback) {
    throw new UsageError(`--host ${options.host} is not a loopback address: ${verdict.reason}`, {
      hint: 'the embedded engine serves prompts without authentication, so it only binds to loopback (127.0.0.1, ::1, localhost)',
    });
  }
  // A GPU backend this platform has no binaries of (metal on Linux) is refused before node-llama-cpp loads.
  const offPlatform = gpuBackendOffPlatform(options.gpu);
  if (offPlatform !== undefined) throw offPlatform;
  const loadRuntime = options.runtime ?? importNodeLlamaCpp;
  const runtime = await loadRuntime();

  const face = new EngineHttpFace({
    maxQueued: options.maxQueued ?? DEFAULT_MAX_QUEUED,
    hostCheck: new HostCheck(options.allowedHosts),
    ...(options.onInternalError === undefined ? {} : { onInternalError: options.onInternalError }),
  });
  let listening: ListeningFace;
  try {
    listening = await listen(face, options.host, options.port);
  } catch (error) {
    throw listenFailure(error, options.host, options.port);
  }
  options.onListening?.(listening.url);
  let engine: EmbeddedEngine;
  try {
    engine = await EmbeddedEngine.load(runtime, { ...options, modelPath });
  } catch (error) {
    listening.server.closeAllConnections();
    await new Promise<void>((resolvePromise) => listening.server.close(() => resolvePromise()));
    throw error;
  }
  face.attach(engine);

  let closing: Promise<void> | undefined;
  return {
    url: listening.url,
    baseUrl: `${listening.url}/v1`,
    port: listening.port,
    info: engine.info,
    get pending() {
      return face.pending;
    },
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolvePromise) => listening.server.close(() => resolvePromise()));
        await face.drain();
        listening.server.closeAllConnections();
        await closed;
        await engine.dispose();
      })();
      return closing;
    },
    cancelInFlight(reason) {
      return face.cancelInFlight(reason);
    },
    forceClose() {
      listening.server.closeAllConnections();
    },
  };
}
