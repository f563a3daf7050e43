import { statSync } from 'node:fs';
import { RecheckInterval, type RecheckOptions } from '../common/polled-file.js';
import { StoreError } from '../errors.js';
import { shellWord } from '../common/shell-word.js';

/**
 * The store file a long-running process (the gateway, `syndicate mcp`) holds open, followed by its
 * path: once the file is removed or replaced there (`rm syndicate.db*`, a restore copied over it),
 * that process's connection still writes — to a file no other process and no later command ever
 * reads, so every permit and evidence row it records from then on is lost, while its answers go
 * on. `check()` stats the path (at most once per second, as the policy and token files are
 * followed) and throws a StoreError while the file there is not the one that was opened.
 */
export class StoreFileWatch {
  private readonly identity: string | undefined;
  private readonly recheck: RecheckInterval;
  private problem: string | undefined;

  constructor(
    readonly path: string,
    options: RecheckOptions = {},
  ) {
    this.identity = identityOf(path);
    this.recheck = new RecheckInterval(options);
  }

  /** Why the file at the path is no longer the store this process opened; undefined while it is. */
  current(): string | undefined {
    if (this.path === ':memory:') return undefined;
    if (!this.recheck.due()) return this.problem;
    const identity = identityOf(this.path);
    this.problem = identity === this.identity ? undefined : identity === undefined ? 'was removed' : 'was replaced by another file';
    return this.problem;
  }

  /** Throws while `current()` finds a problem: nothing this process writes to its store would be kept. */
  check(): void {
    const problem = this.current();
    if (problem === undefined) return;
    throw new StoreError(`the store ${this.path} ${problem} while this process had it open: nothing it records now would be kept, so nothing is sent`, {
      hint: `put the store file back at ${shellWord(this.path)} if it was moved, or restart this process to open the store there now (\`syndicate init\` first when there is none)`,
    });
  }
}

function identityOf(path: string): string | undefined {
  try {
    const stat = statSync(path, { throwIfNoEntry: false });
    return stat === undefined ? undefined : `${stat.dev}:${stat.ino}`;
  } catch {
    return undefined;
  }
}
