import { PolledFile, type FileChange } from '../common/polled-file.js';
import { countProblems, InvalidInputError } from '../errors.js';
import { loadPolicyWithSource, untrustedPolicyRefusal } from './load.js';
import type { Policy } from './types.js';

/** The policy a request is planned with, and why it must stay local if the file could not be used. */
export interface CurrentPolicy {
  policy: Policy;
  /** Set while the policy file is invalid: the last valid policy applies, to local providers only. */
  failure?: string;
}

/** What a re-read found, for the operator. */
export type PolicyChange =
  | { kind: 'reloaded'; source: 'file'; path: string }
  | { kind: 'invalid'; path: string; error: InvalidInputError | Error };

/**
 * The policy of a long-running process (the gateway): the operator edits `policy.yaml` and new
 * requests follow it within `FILE_RECHECK_MS`, or at once after `checkNow` (SIGHUP). A file
 * that changed and no longer validates fails closed: the last valid policy stays, restricted to
 * local providers, and every plan says why, until the file is fixed. So does a file that
 * disappears or cannot be read while the process runs (at the next start, no file means the
 * built-in defaults, as for the CLI). So does a file another user can change (`loadPolicy` refuses
 * it at start), until `chmod` or `chown` fixes it.
 */
export class LivePolicy {
  private state: CurrentPolicy;
  private readonly file: PolledFile;

  constructor(
    private readonly path: string,
    initial: Policy,
    private readonly options: { onChange?: (change: PolicyChange) => void; recheckMs?: number; now?: () => number } = {},
  ) {
    this.state = { policy: initial };
    this.file = new PolledFile(path, options);
  }

  /** The policy for the next request; looks at the file when the last look is older than the recheck interval. */
  current(): CurrentPolicy {
    const change = this.file.poll();
    if (change !== undefined) this.apply(change);
    return this.state;
  }

  /** Looks at the file now and re-reads it if it changed. */
  checkNow(): void {
    const change = this.file.poll(true);
    if (change !== undefined) this.apply(change);
  }

  private apply(change: FileChange): void {
    if (change.unusable !== undefined) {
      // Gone or unreadable while running (an editor that deletes before it writes, a permissions
      // change): nothing says the operator wants the permissive defaults, so fail closed.
      this.failClosed(`${this.path} ${change.unusable}; until it is back the last valid policy applies, to local providers only`, new Error(`${this.path} ${change.unusable}`));
      return;
    }
    // Another user can change it (its mode or owner, or its directory's): what it says cannot be trusted.
    const refusal = untrustedPolicyRefusal(this.path);
    if (refusal !== undefined) {
      this.failClosed(`${refusal.message}; until that is fixed (${refusal.hint ?? ''}) the last valid policy applies, to local providers only`, refusal);
      return;
    }
    try {
      // mustExist: a file removed between the stat and the read fails closed too, never to the defaults.
      const loaded = loadPolicyWithSource(this.path, { mustExist: true });
      this.state = { policy: loaded.policy };
      this.options.onChange?.({ kind: 'reloaded', source: 'file', path: this.path });
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.failClosed(`${this.path} changed and is not a valid policy (${whatIsWrong(failure)}); until it is fixed the last valid policy applies, to local providers only`, failure);
    }
  }

  /** Keeps the last valid policy, restricted to local providers, with `reason` in every plan. */
  private failClosed(reason: string, error: Error): void {
    this.state = { policy: this.state.policy, failure: reason };
    this.options.onChange?.({ kind: 'invalid', path: this.path, error });
  }
}

/** The first problem and how many more, or the error itself when the file could not be read. */
function whatIsWrong(error: Error): string {
  if (!(error instanceof InvalidInputError)) return error.message;
  const [first, ...rest] = error.problems;
  if (first === undefined) return error.message;
  const where = first.pointer === '' ? '' : `${first.pointer} `;
  const more = countProblems(rest);
  return `${where}${first.message}${more > 0 ? ` and ${more} more` : ''}`;
}
