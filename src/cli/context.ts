import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { shellWord } from '../common/shell-word.js';
import { initCommandFor, resolveHome, type HomePaths } from '../home/home.js';
import type { Store } from '../store/store.js';
import { Output, type GlobalOptions } from './output.js';

/** XDG variables already warned about in this process: a command that builds a second context says it once. */
const warnedVariables = new Set<string>();

/**
 * What every command action gets: the output, the resolved home, and the store opened on
 * first use (so commands that do not need it, like `--help`, never touch the disk).
 */
export class CommandContext {
  readonly output: Output;
  readonly home: HomePaths;
  private openedStore: Store | undefined;

  constructor(globals: GlobalOptions) {
    // `--home "$UNSET_VARIABLE"` would otherwise fall back to the default home without a word.
    if (globals.home !== undefined && globals.home.trim() === '') {
      throw new UsageError('--home must name a directory, got an empty value', { hint: 'give a path, or leave --home out to use $SYNDICATE_HOME or the XDG directories' });
    }
    this.home = resolveHome({ home: globals.home });
    this.output = new Output({ json: globals.json === true, home: this.home });
    for (const ignored of this.home.ignoredVariables) {
      if (warnedVariables.has(ignored.name)) continue;
      warnedVariables.add(ignored.name);
      this.output.warn(
        `ignoring ${ignored.name}=${JSON.stringify(ignored.value)}: the XDG Base Directory spec allows only an absolute path; using ${ignored.usedInstead} instead ` +
          '(set an absolute path, or --home / $SYNDICATE_HOME, which may be relative to the current directory)',
      );
    }
  }

  /**
   * The store, created on first use. `existing`: commands that only read (list, show, export,
   * verify, metrics, route) refuse a home without one (exit 6, `syndicate init`) instead of
   * leaving a new empty store behind a mistyped `--home`. `startedBy`: the program that started
   * this one in an environment of its own (`syndicate mcp`: the MCP client), whose home the hint
   * then names (see `missingStoreHint`).
   */
  async store(options: { existing?: boolean; startedBy?: string } = {}): Promise<Store> {
    if (this.openedStore === undefined) {
      const { openStore } = await import('../store/store.js');
      const { storeUpgradeReporter } = await import('./store-upgrade.js');
      this.openedStore = openStore(this.home.storePath, {
        mustExist: options.existing === true,
        missingStoreHint: missingStoreHint(this.home, options.startedBy),
        onUpgrade: storeUpgradeReporter(this.output),
      });
      const { modeChanges } = this.openedStore;
      if (modeChanges.length > 0) {
        const { storeModeChange } = await import('../home/checks.js');
        for (const { path, previousMode } of modeChanges) {
          const change = storeModeChange(path, previousMode);
          this.output.warn(change.hint === undefined ? change.detail : `${change.detail} — ${change.hint}`);
        }
      }
      // Rows left pending by a process that died become `interrupted` (bytes kept, chained) —
      // unless another process holds the write lock: then the next command recovers them.
      const { recoverInterrupted, RECOVERY_LOCK_WAIT_MS } = await import('../evidence/attempts.js');
      recoverInterrupted(this.openedStore, { lockWaitMs: RECOVERY_LOCK_WAIT_MS });
    }
    return this.openedStore;
  }

  close(): void {
    this.openedStore?.close();
    this.openedStore = undefined;
  }
}

/**
 * A home without a store is most often a mistyped `--home`: say which home was meant, and how to
 * create one there. A process another program started (`startedBy`: an MCP client) runs in that
 * program's environment — the `env` of its configuration, or none of the shell's XDG variables —
 * where a bare `syndicate init` typed in a shell would create another home: the hint names this one.
 */
function missingStoreHint(home: HomePaths, startedBy?: string): string {
  if (home.source === 'flag') return `check the --home path; to create a home there, run \`${initCommandFor(home)}\``;
  if (startedBy === undefined) return 'run `syndicate init` first';
  const chosen = home.source === 'env' ? `${startedBy} set SYNDICATE_HOME to ${home.dataDir}` : `in ${startedBy}'s environment (no SYNDICATE_HOME) the home is ${home.dataDir}`;
  return `${chosen}, which init never created: create it with \`syndicate init --home ${shellWord(home.dataDir)}\`, or set SYNDICATE_HOME in ${startedBy}'s configuration (its \`env\`) to the home \`syndicate init\` created`;
}

/** The context for an action, built from the options of the command and its ancestors. */
export function contextFor(command: Command): CommandContext {
  return new CommandContext(command.optsWithGlobals<GlobalOptions>());
}
