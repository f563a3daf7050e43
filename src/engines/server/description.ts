import { shellWord } from '../../common/shell-word.js';

/**
 * The description `engine serve --register` writes in its provider record, and what is read back
 * from it: how to serve that record's model again once the engine is down — the model file, and
 * the options it was served with besides `--model`, `--port` (the record's baseUrl holds it) and
 * `--register`, so that the command printed to restart it (`engine status`, `doctor`) answers as
 * the engine did (`--allow-host` a reverse proxy depends on, its `--parallel`, `--context`, ...).
 */
export function embeddedRecordDescription(modelPath: string, backend: string, servedWith: readonly string[] = []): string {
  return `syndicate engine serve: ${modelPath} (node-llama-cpp, ${backend})${servedWith.length === 0 ? '' : `, served with ${servedWith.join(' ')}`}`;
}

/** The options of an `engine serve` that its restart command repeats; each left out is its default. */
export interface ServedOptions {
  host: string;
  gpu: string;
  parallel: number;
  /** Given as `--threads` (its default depends on the machine, so one not given stays so). */
  threads?: number | undefined;
  /** Given as `--context`. */
  contextSize?: number | undefined;
  allowedHosts: readonly string[];
  /** `--drain-timeout`, written as `formatDuration` writes it; undefined for the default. */
  drainTimeout?: string | undefined;
}

/** The `engine serve` options that differ from their defaults, as shell words in the order `--help` lists them. */
export function servedArguments(options: ServedOptions): string[] {
  const words: string[] = [];
  if (options.host !== '127.0.0.1') words.push('--host', shellWord(options.host));
  if (options.threads !== undefined) words.push('--threads', String(options.threads));
  if (options.gpu !== 'auto') words.push('--gpu', shellWord(options.gpu));
  if (options.contextSize !== undefined) words.push('--context', String(options.contextSize));
  if (options.parallel !== 1) words.push('--parallel', String(options.parallel));
  if (options.allowedHosts.length > 0) words.push('--allow-host', ...options.allowedHosts.map(shellWord));
  if (options.drainTimeout !== undefined) words.push('--drain-timeout', shellWord(options.drainTimeout));
  return words;
}

/** How an `engine serve --register` record's model was served: undefined for any other description. */
export function servedEngine(description: string | undefined): { modelPath: string; servedWith: string } | undefined {
  const match = /^syndicate engine serve: (.+) \(node-llama-cpp, [^()]*\)(?:, served with ((?:--[a-z-]+|[A-Za-z0-9._:-]+)(?: (?:--[a-z-]+|[A-Za-z0-9._:-]+))*))?$/.exec(description ?? '');
  if (match === null) return undefined;
  return { modelPath: match[1] as string, servedWith: match[2] ?? '' };
}
