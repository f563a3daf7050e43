import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { linkTargets } from '../common/link-chain.js';
import { shellWord } from '../common/shell-word.js';
import { PolicyRefusalError } from '../errors.js';

/*
 * The rules of who may replace or read the files syndicate trusts (see src/home/checks.ts, where
 * `init` and `doctor` report them), and the refusal every command that uses such a file applies:
 * a policy, permit key or gateway token another user can change is not used.
 */

/** What `stat` says about a path that the rules below read. */
export interface PathFacts {
  /** Permission bits (`mode & 0o777`). */
  mode: number;
  uid: number;
}

/** What is wrong with who may use a path: `fail` lets another user replace or read a secret, `warn` exposes nothing secret. */
export interface AccessProblem {
  status: 'warn' | 'fail';
  detail: string;
  hint: string;
  /** Set when the problem is only your own access (a directory you cannot enter): it lets no other user change anything. */
  ownAccess?: true;
}

/**
 * The user syndicate runs as, or undefined where files have no POSIX owner and mode (Windows),
 * where the owner and mode rules are skipped.
 */
export function currentUserId(): number | undefined {
  return process.platform === 'win32' ? undefined : process.getuid?.();
}

/**
 * A directory syndicate keeps its files in must belong to `userId`, be usable by them (rwx) and
 * not be writable by group or others (who could delete and replace the files in it).
 */
export function directoryAccessProblem(path: string, facts: PathFacts, userId: number): AccessProblem | undefined {
  const mode = formatMode(facts.mode);
  const word = shellWord(path);
  if (facts.uid !== userId) {
    return {
      status: 'fail',
      detail: `${path} belongs to uid ${facts.uid}, not to you (uid ${userId}): its owner can replace the permit key, policy and store in it`,
      hint: `use a directory of your own (--home or $SYNDICATE_HOME), or have an administrator \`chown ${userId} ${word}\``,
    };
  }
  if ((facts.mode & 0o022) !== 0) {
    return {
      status: 'fail',
      detail: `${path} has mode ${mode}: ${whoCanWrite(facts.mode)} can delete and replace the permit key, policy and store in it`,
      hint: `\`chmod 700 ${word}\``,
    };
  }
  if ((facts.mode & 0o700) !== 0o700) {
    return { status: 'fail', detail: `${path} has mode ${mode}: you cannot read, write and enter it`, hint: `\`chmod 700 ${word}\``, ownAccess: true };
  }
  return undefined;
}

/** A secret (permit key, gateway token), the policy or the store. */
export type PrivateFileKind = 'secret' | 'policy' | 'store';

/**
 * A file syndicate trusts must belong to `userId` and not be writable by group or others; a
 * secret or the store (prompts and responses) must not be readable by them either. The policy
 * holds no secret: readable by others is a warning.
 */
export function privateFileAccessProblem(path: string, facts: PathFacts, userId: number, kind: PrivateFileKind): AccessProblem | undefined {
  const mode = formatMode(facts.mode);
  const word = shellWord(path);
  if (facts.uid !== userId) {
    const hint =
      kind === 'secret'
        ? `delete ${word} and run \`syndicate init\` to create a new one`
        : kind === 'policy'
          ? `check its content; keep it as a copy of your own (\`cp ${word} ${word}.new && mv ${word}.new ${word} && chmod 600 ${word}\`) or delete it and run \`syndicate init\` for the default policy`
          : `have an administrator \`chown ${userId} ${word}\`; do not delete it, it holds the evidence chain`;
    return { status: 'fail', detail: `${path} belongs to uid ${facts.uid}, not to you (uid ${userId}): another user may have replaced it`, hint };
  }
  if ((facts.mode & 0o022) !== 0) {
    const hint =
      kind === 'secret'
        ? `\`chmod 600 ${word}\`; others could have replaced it: delete ${word} and run \`syndicate init\` to create a new one`
        : kind === 'policy'
          ? `\`chmod 600 ${word}\`, then check its content (\`syndicate policy show\`)`
          : `\`chmod 600 ${word}\``;
    return { status: 'fail', detail: `${path} has mode ${mode}: ${whoCanWrite(facts.mode)} can change it`, hint };
  }
  if ((facts.mode & 0o044) !== 0) {
    const detail = `${path} has mode ${mode}: readable by group or others`;
    if (kind === 'policy') return { status: 'warn', detail, hint: `\`chmod 600 ${word}\`` };
    const hint =
      kind === 'secret' ? `\`chmod 600 ${word}\`; if others may have read it, delete ${word} and run \`syndicate init\` to create a new one` : `\`chmod 600 ${word}\``;
    return { status: 'fail', detail, hint };
  }
  return undefined;
}


/**
 * What lets another user change `path` (or read it, for a secret): the directory it is in (its
 * owner, or its group's or others' write) or the file itself, exactly as `doctor` fails them.
 * Undefined when nothing does; when the file or its directory is absent or cannot be inspected
 * (its loader says what is wrong); and where files have no POSIX owner and mode (Windows).
 * `known`: what the caller's own stat of `path` said (`pathFacts`), so the file is not stat'ed again.
 */
export function untrustedFileProblem(path: string, kind: PrivateFileKind, userId: number | undefined = currentUserId(), known?: PathFacts): AccessProblem | undefined {
  if (userId === undefined) return undefined;
  const directory = dirname(path);
  const directoryFacts = pathFacts(directory);
  const directoryProblem = directoryFacts === undefined ? undefined : directoryAccessProblem(directory, directoryFacts, userId);
  if (directoryProblem?.status === 'fail' && directoryProblem.ownAccess !== true) return directoryProblem;
  const linkedProblem = linkedDirectoryProblem(path, userId);
  if (linkedProblem !== undefined) return linkedProblem;
  const fileFacts = known ?? pathFacts(path);
  const fileProblem = fileFacts === undefined ? undefined : privateFileAccessProblem(path, fileFacts, userId, kind);
  return fileProblem?.status === 'fail' ? fileProblem : undefined;
}

/**
 * When `path` is a symbolic link (or a chain of them), what lets another user change the file it
 * leads to through a directory on the way: each link's target lies in a directory that must be as
 * safe as the data directory (`directoryAccessProblem`), or whoever can write it can replace the
 * file between the owner check and the read. Undefined when `path` is no link, or no directory on
 * its chain lets another user in.
 */
export function linkedDirectoryProblem(path: string, userId: number): AccessProblem | undefined {
  for (const target of linkTargets(path)) {
    const directory = dirname(target);
    const facts = pathFacts(directory);
    const problem = facts === undefined ? undefined : directoryAccessProblem(directory, facts, userId);
    if (problem?.status === 'fail' && problem.ownAccess !== true) {
      const copy = shellWord(`${path}.new`);
      return {
        status: 'fail',
        detail: `${path} is a link to ${target}, and ${problem.detail}`,
        hint: `keep the file in a directory only you can write: replace the link with a copy of the file (\`cp ${shellWord(target)} ${copy} && mv ${copy} ${shellWord(path)}\`), or ${problem.hint}`,
      };
    }
  }
  return undefined;
}

/**
 * Refuses (exit 4, `code`) to use the `what` at `path` when another user can change it, or read
 * it when it is a secret (`untrustedFileProblem`): the message names the file and who can, the
 * hint the fix. A policy someone else may have loosened must not decide where data goes.
 */
export function refuseUntrustedFile(path: string, kind: PrivateFileKind, what: string, code: string, known?: PathFacts): void {
  const refusal = untrustedFileRefusal(path, kind, what, code, known);
  if (refusal !== undefined) throw refusal;
}

/** The refusal `refuseUntrustedFile` throws, or undefined: for a long-running process that fails closed instead. */
export function untrustedFileRefusal(path: string, kind: PrivateFileKind, what: string, code: string, known?: PathFacts): PolicyRefusalError | undefined {
  const problem = untrustedFileProblem(path, kind, currentUserId(), known);
  if (problem === undefined) return undefined;
  return new PolicyRefusalError(code, `refusing to use the ${what} at ${path}: ${problem.detail}`, { hint: problem.hint });
}

/** What one `stat` of `path` says (its mode and owner); undefined when it is absent or cannot be inspected. */
export function pathFacts(path: string): PathFacts | undefined {
  try {
    const stats = statSync(path);
    return { mode: stats.mode & 0o777, uid: stats.uid };
  } catch {
    return undefined;
  }
}

/** Permission bits as `chmod` takes them: `0644`. */
export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/** Who besides the owner can write a path of mode `mode`: `its group`, `others`, or `group and others`. */
export function whoCanWrite(mode: number): string {
  const group = (mode & 0o020) !== 0;
  const others = (mode & 0o002) !== 0;
  return group && others ? 'group and others' : group ? 'its group' : 'others';
}
