import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { linkTargets } from './link-chain.js';

/** How often a long-running process looks at a file it follows (a `stat`, on a request's path). */
export const FILE_RECHECK_MS = 1000;

/** What a look at a followed file found when it changed: `unusable` says why it cannot be read now. */
export interface FileChange {
  unusable?: string;
}

/** How often to look (default `FILE_RECHECK_MS`), and the clock (tests). */
export interface RecheckOptions {
  recheckMs?: number;
  now?: () => number;
}

/** When a followed file is due for another look: at most once per interval, counted from the last. */
export class RecheckInterval {
  private checkedAt: number;

  constructor(private readonly options: RecheckOptions = {}) {
    this.checkedAt = this.now();
  }

  /** Whether the last look is older than the interval (always with `force`); if so, this one counts as the last. */
  due(force = false): boolean {
    const now = this.now();
    if (!force && now - this.checkedAt < (this.options.recheckMs ?? FILE_RECHECK_MS)) return false;
    this.checkedAt = now;
    return true;
  }

  private now(): number {
    return this.options.now?.() ?? performance.now();
  }
}

/**
 * A file a long-running process follows (the gateway's policy and token): `poll()` stats it at
 * most once per interval and reports a change of its metadata — an edit changes its mtime, size
 * or inode (an editor's rename), a `chmod` or `chown` its ctime — without reading it. The owner
 * and mode of the directory it is in count too (who can replace the file), not its mtime (a
 * file created beside it changes nothing of it).
 */
export class PolledFile {
  private signature: string;
  private readonly recheck: RecheckInterval;

  constructor(
    readonly path: string,
    options: RecheckOptions = {},
  ) {
    this.signature = this.signatureNow().whole;
    this.recheck = new RecheckInterval(options);
  }

  /** Looks at the file when the last look is older than the interval (always with `force`); undefined when nothing changed. */
  poll(force = false): FileChange | undefined {
    if (!this.recheck.due(force)) return undefined;
    const { file, whole } = this.signatureNow();
    if (whole === this.signature) return undefined;
    this.signature = whole;
    if (file === ABSENT) return { unusable: 'was removed' };
    if (file.startsWith(UNREADABLE)) return { unusable: `cannot be read (${file.slice(UNREADABLE.length)})` };
    return {};
  }

  /**
   * The file's own signature (what a change is reported from) and, with its directory's owner and
   * mode — and, when it is a link, each link's target and the owner and mode of its directory —
   * the one compared.
   */
  private signatureNow(): { file: string; whole: string } {
    const file = signatureOf(this.path);
    const links = linkTargets(this.path).map((target) => `|${target}:${ownerAndModeOf(dirname(target))}`);
    return { file, whole: `${file}|${ownerAndModeOf(dirname(this.path))}${links.join('')}` };
  }
}

const ABSENT = 'absent';
const UNREADABLE = 'unreadable:';

function ownerAndModeOf(path: string): string {
  try {
    const stat = statSync(path, { throwIfNoEntry: false });
    return stat === undefined ? ABSENT : `${stat.uid}:${stat.mode}`;
  } catch (error) {
    return `${UNREADABLE}${(error as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}

function signatureOf(path: string): string {
  try {
    const stat = statSync(path, { throwIfNoEntry: false });
    return stat === undefined ? ABSENT : `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
  } catch (error) {
    return `${UNREADABLE}${(error as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}
