/**
 * Typed errors. Deep code throws these; only `src/cli/main.ts` turns them into exit codes,
 * the gateway into HTTP statuses and the MCP server into `isError` results.
 */

/** Exit codes, fixed by STYLE.md and listed in the README. */
export const ExitCode = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  invalidInput: 3,
  refused: 4,
  upstream: 5,
  store: 6,
  internal: 70,
  hangup: 129,
  interrupted: 130,
  outputClosed: 141,
  terminated: 143,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface SyndicateErrorOptions {
  /** How to fix it, in one sentence the operator can act on. */
  hint?: string;
  /** Structured details safe to print (never secrets). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** Base class of every error syndicate reports on purpose. */
export class SyndicateError extends Error {
  /** Stable machine-readable code, e.g. `invalid_input`. */
  readonly code: string;
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, exitCode: ExitCodeValue, message: string, options: SyndicateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.hint = options.hint;
    this.details = options.details;
  }

  /**
   * Adds context learnt while the error travels up (the pipeline adds the attempts it made
   * before a fatal one). The one place an error's details change after it was thrown.
   */
  withDetails(extra: Record<string, unknown>): this {
    (this as { details: Record<string, unknown> | undefined }).details = { ...this.details, ...extra };
    return this;
  }

  toJSON(): { code: string; message: string; hint?: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** Exit 1: a check ran and found a problem (probe deviation, evidence mismatch, doctor failure). */
export class CheckFailedError extends SyndicateError {
  constructor(message: string, options?: SyndicateErrorOptions) {
    super('check_failed', ExitCode.checkFailed, message, options);
  }
}

/** Exit 2: unknown command, bad flag or bad argument. */
export class UsageError extends SyndicateError {
  /** `code` is for subclasses that name one kind of usage error (`ModelKindError`). */
  constructor(message: string, options?: SyndicateErrorOptions, code = 'usage') {
    super(code, ExitCode.usage, message, options);
  }
}

/**
 * Exit 2 (the gateway's 400 on `param: model`), code `model_kind`: the request named a model of the
 * other kind — a chat model for embeddings, an embedding model for a chat request. The request's to
 * fix, whatever its data, not the policy's refusal; the same code as the Ollama face's own 400 for a
 * model without the completion capability.
 */
export class ModelKindError extends UsageError {
  constructor(message: string, options?: SyndicateErrorOptions) {
    super(message, options, 'model_kind');
  }
}

/**
 * Exit 2: an engine cannot do what was asked — load a second model into a single-model server,
 * stop an engine syndicate did not start. The hint names what does the job.
 */
export class EngineOperationError extends SyndicateError {
  constructor(code: string, message: string, options?: SyndicateErrorOptions) {
    super(code, ExitCode.usage, message, options);
  }
}

/**
 * Exit 2: the request names a model no registered provider serves (an HTTP client gets 404, as
 * from OpenAI or Anthropic). A client error, not a policy decision: nothing is recorded.
 */
export class UnknownModelError extends SyndicateError {
  constructor(message: string, options?: SyndicateErrorOptions) {
    super('model_not_found', ExitCode.usage, message, options);
  }
}

/**
 * Exit 2: nothing is registered that could take any request (no provider, or none active with a
 * model), or none of the kind it needs (no embedding model for an embeddings request, no chat model
 * for a chat request): the host's setup is missing, not a policy decision about this request's data — a
 * `route_denied` with nothing excluded read as one. An HTTP client gets 503 with
 * `x-should-retry: false` (the gateway's operator must register a provider; sending again cannot help).
 */
export class NoProvidersError extends SyndicateError {
  constructor(message: string, options?: SyndicateErrorOptions) {
    super('no_providers', ExitCode.usage, message, options);
  }
}

/** One problem found in an input file, located as precisely as we can. */
export interface InputProblem {
  file: string;
  /** JSON pointer into the document, `''` for the whole document. */
  pointer: string;
  line?: number;
  column?: number;
  message: string;
  hint?: string;
  /**
   * Set on the entry that ends a capped list (see `capProblems`): it stands for this many more
   * problems of `file` that are not listed, and its message says so.
   */
  omitted?: number;
}

export function formatInputProblem(problem: InputProblem): string {
  const hint = problem.hint === undefined ? '' : ` (hint: ${problem.hint})`;
  if (problem.omitted !== undefined) return `${problem.file}: ${problem.message}${hint}`;
  const position = problem.line === undefined ? '' : `:${problem.line}:${problem.column ?? 1}`;
  const pointer = problem.pointer === '' ? '/' : problem.pointer;
  return `${problem.file}${position} ${pointer} ${problem.message}${hint}`;
}

/** How many problems a list reports, counting those a capped list leaves out. */
export function countProblems(problems: readonly InputProblem[]): number {
  return problems.reduce((count, problem) => count + (problem.omitted ?? 1), 0);
}

/** Exit 3: an input file failed schema or semantic validation. Carries every problem found. */
export class InvalidInputError extends SyndicateError {
  readonly problems: InputProblem[];

  constructor(message: string, problems: InputProblem[], options?: SyndicateErrorOptions) {
    super('invalid_input', ExitCode.invalidInput, message, {
      ...options,
      details: { ...options?.details, problems },
    });
    this.problems = problems;
  }
}

/** Exit 4: refused by policy — denied route, refused permit, envelope checkpoint required. */
export class PolicyRefusalError extends SyndicateError {
  constructor(code: string, message: string, options?: SyndicateErrorOptions) {
    super(code, ExitCode.refused, message, options);
  }
}

/**
 * Exit 2, as for an evidence id the store never held: the id names an envelope `evidence prune`
 * deleted (its creation time, which every evidence id begins with, is before a prune's cut-off).
 */
export class EvidencePrunedError extends SyndicateError {
  constructor(message: string, options?: SyndicateErrorOptions) {
    super('evidence_pruned', ExitCode.usage, message, options);
  }
}

/** Exit 2: `session show|approve`, `provider switch --session` or `run --session` name no stored session. */
export class SessionNotFoundError extends SyndicateError {
  constructor(session: string, options?: SyndicateErrorOptions) {
    super('session_not_found', ExitCode.usage, `no session ${JSON.stringify(session)}`, {
      hint: 'list the sessions with `syndicate session list`, or start one with `syndicate session start`',
      ...options,
    });
  }
}

/**
 * Exit 4: the session's capability envelope does not cover its model — a switch went above the
 * approved maximum (`session_envelope_invalidated`), or the model's class is above it
 * (`session_envelope_exceeded`). Invocations are refused until `session approve` checkpoints it.
 */
export class SessionEnvelopeError extends PolicyRefusalError {
  constructor(code: 'session_envelope_invalidated' | 'session_envelope_exceeded', sessionId: string, message: string, options?: SyndicateErrorOptions) {
    super(code, message, { hint: `approve the envelope with \`syndicate session approve ${sessionId}\``, ...options });
  }
}

/**
 * Exit 1 (403 through the gateway): a stored session fails its hash chain (a message, switch,
 * checkpoint, the system prompt or the active model edited, or links deleted, outside syndicate).
 * Nothing in the session is sent to any model, switched, compacted or approved; `evidence verify`
 * reports the same break.
 */
export class SessionChainBrokenError extends SyndicateError {
  constructor(message: string, options?: SyndicateErrorOptions) {
    super('session_chain_broken', ExitCode.checkFailed, message, options);
  }
}

/**
 * Exit 2: a switch to a model whose context window cannot hold the session's newest turn (with
 * the system prompt and room for an answer) even after every older turn is dropped.
 */
export class SessionContextTooLongError extends SyndicateError {
  constructor(message: string, options?: SyndicateErrorOptions) {
    super('session_context_too_long', ExitCode.usage, message, options);
  }
}

/**
 * What an upstream's error answer says it is about, when it says (`upstreamConditionOf` in
 * src/wire/error-scope.ts): the model asked for alone — its rate limit (`model_rate_limited`), its
 * capacity (`model_overloaded`), its absence (`model_not_found`), an engine that serves no embeddings
 * (`embeddings_not_enabled`: llama-server started without `--embeddings`), a process that could not
 * be started for it (`model_start_failed`: llama-swap's 502 `unable to start process`) — or the whole account
 * (`account_limited`: credit, spend or plan exhausted) — or the request alone: an input longer than
 * the model takes (`input_too_long`), the caller's to split or shorten, nothing wrong with the provider;
 * tools the engine does not take (`tools_not_supported`: llama-server without `--jinja`, an Ollama
 * model without tool support) or images it does not take (`images_not_supported`: llama-server
 * without `--mmproj`), the operator's to fix in the engine or the record's tags.
 */
export type UpstreamCondition =
  | 'model_rate_limited'
  | 'model_overloaded'
  | 'model_not_found'
  | 'embeddings_not_enabled'
  | 'model_start_failed'
  | 'account_limited'
  | 'input_too_long'
  | 'tools_not_supported'
  | 'images_not_supported'
  /** Every call the request made ran out of its time (connect, first byte, idle or total): a gateway timeout. */
  | 'timed_out';

/**
 * Exit 5: the upstream failed — unreachable, timeout, non-2xx after fallback. An input the engine
 * refused as longer than its model takes (`input_too_long`) is no failure of the upstream but a
 * refusal of the request: exit 4, as the router's own refusal of a prompt too long for every model
 * (both `context_length_exceeded`); so are tools the engine refused (`tools_not_supported`, as the
 * router's refusal of a model whose engine refused them earlier) and images it refused
 * (`images_not_supported`, as the router's refusal of a model not tagged `vision`).
 */
export class UpstreamError extends SyndicateError {
  /** HTTP status when the upstream answered, undefined when it never did. */
  readonly status: number | undefined;
  readonly isRetryable: boolean;
  /** How long the upstream asked to wait before retrying (its Retry-After), when it said. */
  readonly retryAfterSeconds: number | undefined;
  /** What the upstream's error answer says it concerns, when it says; undefined: nothing recognised. */
  readonly condition: UpstreamCondition | undefined;

  constructor(
    message: string,
    options: SyndicateErrorOptions & { status?: number; isRetryable?: boolean; code?: string; retryAfterSeconds?: number; condition?: UpstreamCondition } = {},
  ) {
    super(options.code ?? 'upstream_failure', options.condition === 'input_too_long' || options.condition === 'tools_not_supported' || options.condition === 'images_not_supported' ? ExitCode.refused : ExitCode.upstream, message, options);
    this.status = options.status;
    this.isRetryable = options.isRetryable ?? (options.status === undefined || isRetryableStatus(options.status));
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.condition = options.condition;
  }

  /**
   * As every error's, with the wait a caller should let pass before retrying — the gateway's
   * `Retry-After`, in whole seconds — as `details.retryAfterSeconds`, when it is known.
   */
  override toJSON(): ReturnType<SyndicateError['toJSON']> {
    const json = super.toJSON();
    if (this.retryAfterSeconds === undefined) return json;
    return { ...json, details: { ...json.details, retryAfterSeconds: Math.ceil(this.retryAfterSeconds) } };
  }
}

/**
 * Why a SQLite or file-system operation on the store failed, as far as its error code tells.
 * Each reason has its own fix: a store this user cannot write (`access`) is not a damaged one.
 */
export type StoreFailureReason = 'access' | 'busy' | 'damaged' | 'full' | 'other';

/** Exit 6: the local store could not be opened, migrated, read or written. */
export class StoreError extends SyndicateError {
  /** Set when the failure came from SQLite or the file system; undefined for syndicate's own refusals. */
  readonly reason: StoreFailureReason | undefined;

  constructor(message: string, options?: SyndicateErrorOptions & { reason?: StoreFailureReason }) {
    super('store_failure', ExitCode.store, message, options);
    this.reason = options?.reason;
  }
}

/**
 * Exit 130: the operator interrupted the command (143 when it was told to stop with SIGTERM, 129
 * when its terminal or session closed (SIGHUP), 141 when the reader of its output went away).
 */
export class InterruptedError extends SyndicateError {
  constructor(
    message = 'interrupted',
    options?: SyndicateErrorOptions & { exitCode?: typeof ExitCode.hangup | typeof ExitCode.interrupted | typeof ExitCode.outputClosed | typeof ExitCode.terminated },
  ) {
    super('interrupted', options?.exitCode ?? ExitCode.interrupted, message, options);
  }
}

/** Statuses a caller may retry or fall back on: 408, 409, 429 and every 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Anything thrown that is not a SyndicateError is a bug: exit 70. */
export function toSyndicateError(error: unknown): SyndicateError {
  if (error instanceof SyndicateError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SyndicateError('internal', ExitCode.internal, `internal error: ${message}`, {
    hint: 'this is a bug in syndicate; please report it with the command you ran',
    cause: error,
  });
}

/**
 * A copy of `error` of the same class with its own properties (message, stack, code, details …):
 * one reason that cancels several requests, each of which adds its own ids to it (`withDetails`).
 */
export function ownCopyOf<E extends Error>(error: E): E {
  return Object.defineProperties(Object.create(Object.getPrototypeOf(error) as object) as E, Object.getOwnPropertyDescriptors(error));
}
