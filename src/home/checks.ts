import { existsSync, statSync } from 'node:fs';
import { shellWord } from '../common/shell-word.js';
import { countProblems, formatInputProblem, InvalidInputError, SyndicateError } from '../errors.js';
import { loadPermitKey } from '../permits/key.js';
import { loadPolicyWithSource } from '../policy/load.js';
import { storeFilePaths, type StoreModeChange } from '../store/store.js';
import { directoryAccessProblem, formatMode, linkedDirectoryProblem, privateFileAccessProblem, whoCanWrite, type AccessProblem, type PathFacts } from './access.js';
import { readGatewayToken, type HomePaths } from './home.js';

export { currentUserId, directoryAccessProblem, privateFileAccessProblem, type AccessProblem, type PathFacts, type PrivateFileKind } from './access.js';

/*
 * Who may replace or read the files syndicate trusts. A user who can write the data directory
 * can delete permit.key or policy.yaml and plant their own (mode 0600, owned by them), so the
 * directory's mode and every file's owner matter as much as the files' own modes. `doctor`
 * fails on any problem found here; `init` reports what it finds in what it kept. The store's mode
 * is the exception: opening the store sets it (and its -wal and -shm) to 0600, and they report
 * that as a warning.
 */

/** The outcome of checking one directory or file of the data directory. */
export interface HomeCheck {
  /** `data directory`, `config directory`, `permit key`, `gateway token`, `policy file`, `store file permissions`, `store -wal file permissions` or `store -shm file permissions`. */
  name: string;
  path: string;
  status: 'pass' | 'warn' | 'fail';
  detail: string;
  hint?: string;
  /** The warning reports what syndicate itself already changed (the store's mode): nothing is left to fix but what `hint` says. */
  fixed?: boolean;
}

/**
 * The fixes of several failed checks as one hint: the fix alone when every check shares it (a home
 * not yet initialised: `run syndicate init`), else `heading` and a line per fix naming the checks
 * it fixes. Undefined when none has a fix.
 */
export function fixesOf(failed: readonly { name: string; hint?: string | undefined }[], heading: string): string | undefined {
  const namesByHint = new Map<string, string[]>();
  for (const check of failed) if (check.hint !== undefined) namesByHint.set(check.hint, [...(namesByHint.get(check.hint) ?? []), check.name]);
  const hints = [...namesByHint];
  if (hints.length === 0) return undefined;
  if (hints.length === 1 && hints[0]![1].length === failed.length) return hints[0]![0];
  return [heading, ...hints.map(([hint, names]) => `  ${names.join(', ')}: ${hint}`)].join('\n');
}

/** What a path of the data directory must be: the directories themselves, or a file in them. */
type PathKind = 'directory' | 'file';

/** The data or config directory: present, yours, not writable by group or others. */
export function checkDirectory(name: 'data directory' | 'config directory', path: string, userId: number | undefined): HomeCheck {
  return checkAccess(name, path, 'directory', userId, (facts, user) => directoryAccessProblem(path, facts, user), (facts) => ({
    name,
    path,
    status: 'pass',
    detail: `${formatMode(facts.mode)} ${path}`,
  }));
}

/**
 * The permit key: owner and mode, then loaded as `run` and `permit issue` load it (whose refusal of a
 * directory others can write is the directory's own check here).
 */
export function checkPermitKey(path: string, userId: number | undefined): HomeCheck {
  return checkSecretFile('permit key', path, userId, (file) => loadPermitKey(file, { accessChecked: true }));
}

/** The gateway token: owner and mode, then read as `serve` reads it (the directory: as for the permit key). */
export function checkGatewayToken(path: string, userId: number | undefined): HomeCheck {
  return checkSecretFile('gateway token', path, userId, (file) => readGatewayToken(file, { accessChecked: true }));
}

/** A secret file: owner and mode, then `load`, the loader its command uses. */
function checkSecretFile(name: string, path: string, userId: number | undefined, load: (path: string) => unknown): HomeCheck {
  return checkAccess(name, path, 'file', userId, (facts, user) => privateFileAccessProblem(path, facts, user, 'secret'), (facts) =>
    usable(name, path, () => {
      load(path);
      return `${formatMode(facts.mode)} ${path}`;
    }),
  );
}

/**
 * The policy: owner and mode, then validated. An invalid policy makes every command refuse to
 * run (and a running gateway fail closed).
 */
export function checkPolicyFile(path: string, userId: number | undefined): HomeCheck {
  const name = 'policy file';
  return checkAccess(name, path, 'file', userId, (facts, user) => privateFileAccessProblem(path, facts, user, 'policy'), () => {
    try {
      // Content only: the owner and mode were checked above, as `doctor` reports them.
      loadPolicyWithSource(path, { mustExist: true });
    } catch (error) {
      if (!(error instanceof SyndicateError)) throw error;
      const problems = error instanceof InvalidInputError ? error.problems : [];
      const first = problems[0];
      const others = countProblems(problems) - 1;
      const detail = first === undefined ? error.message : `${formatInputProblem(first)}${others > 0 ? ` (and ${others} more)` : ''}`;
      // The file named: a bare `policy check` reads the default home's policy, not one under --home.
      return { name, path, status: 'fail', detail, hint: `run \`syndicate policy check ${shellWord(path)}\` to list every problem` };
    }
    return { name, path, status: 'pass', detail: `${path} (valid)` };
  });
}

/**
 * The store file's owner and mode (its content is checked by opening it). Opening it sets its mode
 * to 0600 (see `openStore`): `modeChangedFrom`, the mode it had until then, makes the check a
 * warning saying what was found and done.
 */
export function checkStoreFile(path: string, userId: number | undefined, modeChangedFrom?: number): HomeCheck {
  return checkStoreFileAs('store file permissions', path, userId, modeChangedFrom);
}

/**
 * The store's `-wal` and `-shm` (see `storeFilePaths`), checked like the store file when they
 * exist — SQLite removes them when its last connection closes, so they are there while another
 * process (a gateway) has the store open, or after a crash. `modeChanges`: what opening the store
 * (or `doctor`) set to 0600; a companion changed and gone since is still reported, as changed.
 */
export function checkStoreCompanionFiles(storePath: string, userId: number | undefined, modeChanges: readonly StoreModeChange[]): HomeCheck[] {
  const [, ...companions] = storeFilePaths(storePath);
  return companions.flatMap((path): HomeCheck[] => {
    const name = `store ${path.slice(storePath.length)} file permissions`;
    const modeChangedFrom = modeChanges.find((change) => change.path === path)?.previousMode;
    const check = checkStoreFileAs(name, path, userId, modeChangedFrom);
    // Absent (never there, or removed since by its last connection's close): nothing to check but what was changed.
    // Found missing is absent even when it is back by now: another process's open made a new one.
    const absent = check.status === 'fail' && (check.detail === missingDetail(path) || !existsSync(path));
    if (!absent) return [check];
    return modeChangedFrom === undefined ? [] : [{ name, path, status: 'warn', ...storeModeChange(path, modeChangedFrom), fixed: true }];
  });
}

function checkStoreFileAs(name: string, path: string, userId: number | undefined, modeChangedFrom: number | undefined): HomeCheck {
  return checkAccess(name, path, 'file', userId, (facts, user) => privateFileAccessProblem(path, facts, user, 'store'), (facts) =>
    modeChangedFrom === undefined
      ? { name, path, status: 'pass', detail: `${formatMode(facts.mode)} ${path}` }
      : { name, path, status: 'warn', ...storeModeChange(path, modeChangedFrom), fixed: true },
  );
}

/**
 * What to tell the operator when opening the store found one of its files (the database, its
 * `-wal` or `-shm`) with another mode than 0600 and set it to 0600: every command that opens it
 * says so once (on stderr), `init` and `doctor` as a warning.
 */
export function storeModeChange(path: string, previousMode: number): { detail: string; hint?: string } {
  const done = `${path} had mode ${formatMode(previousMode)}`;
  if ((previousMode & 0o022) !== 0) {
    return {
      detail: `${done}: ${whoCanWrite(previousMode)} could change it; syndicate set it to 0600`,
      hint: 'the evidence could have been edited meanwhile: `syndicate evidence verify --from <a head kept off this machine>` shows whether it was',
    };
  }
  if ((previousMode & 0o044) !== 0) {
    // The -shm holds the WAL's index (page numbers), not the pages: the database and the WAL hold the bytes.
    const exposed = path.endsWith('-shm') ? 'group or others could read it' : 'group or others could read the prompts and responses in it';
    return { detail: `${done}: ${exposed}; syndicate set it to 0600` };
  }
  return { detail: `${done}; syndicate set it to 0600` };
}

/** The data and config directories (one when they are the same), as `init` and `doctor` check them. */
export function checkDirectories(home: HomePaths, userId: number | undefined): HomeCheck[] {
  const checks = [checkDirectory('data directory', home.dataDir, userId)];
  if (home.configDir !== home.dataDir) checks.push(checkDirectory('config directory', home.configDir, userId));
  return checks;
}

function checkAccess(
  name: string,
  path: string,
  kind: PathKind,
  userId: number | undefined,
  problemOf: (facts: PathFacts, userId: number) => AccessProblem | undefined,
  then: (facts: PathFacts) => HomeCheck,
): HomeCheck {
  let facts: PathFacts;
  try {
    const stats = statSync(path);
    // A file where the data directory should be, or a directory where the store should be: its
    // mode is not what is wrong with it, and `chmod` would not fix it.
    const wrongKind = kind === 'directory' ? !stats.isDirectory() : !stats.isFile();
    if (wrongKind) {
      const found = stats.isDirectory() ? 'is a directory' : stats.isFile() ? 'is a file' : 'is neither a file nor a directory';
      return wrongKindCheck(name, path, kind, `${path} ${found}, not ${kind === 'directory' ? 'a directory' : 'a file'}`);
    }
    facts = { mode: stats.mode & 0o777, uid: stats.uid };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { name, path, status: 'fail', detail: missingDetail(path), hint: 'run `syndicate init`' };
    if (code === 'ENOTDIR') return wrongKindCheck(name, path, 'directory', `${path}: a directory on its path is a file`);
    return { name, path, status: 'fail', detail: `cannot inspect ${path}: ${(error as Error).message}`, hint: 'check the owner and mode of the data directory' };
  }
  // A file reached through a link: the directories the link leads through are checked as the data directory is.
  const problem = userId === undefined ? undefined : ((kind === 'file' ? linkedDirectoryProblem(path, userId) : undefined) ?? problemOf(facts, userId));
  if (problem?.status === 'fail') return { name, path, status: 'fail', detail: problem.detail, hint: problem.hint };
  const result = then(facts);
  // A warning about who may read the file still lets its content be checked; a content failure wins.
  if (problem === undefined || result.status === 'fail') return result;
  return { name, path, status: 'warn', detail: `${problem.detail}; ${result.detail}`, hint: problem.hint };
}

function missingDetail(path: string): string {
  return `missing: ${path}`;
}

/** `kind`: what is missing where `detail` says something else is (the directory, or the file). */
function wrongKindCheck(name: string, path: string, kind: PathKind, detail: string): HomeCheck {
  return {
    name,
    path,
    status: 'fail',
    detail,
    hint:
      kind === 'directory'
        ? 'point --home or $SYNDICATE_HOME at a directory (it is created when missing), or move the file in the way'
        : `move ${shellWord(path)} out of the way; \`syndicate init\` creates what is missing`,
  };
}

/** Runs the loader a command uses; its refusal (message and hint) is the check's failure. */
function usable(name: string, path: string, load: () => string): HomeCheck {
  try {
    return { name, path, status: 'pass', detail: load() };
  } catch (error) {
    if (!(error instanceof SyndicateError)) throw error;
    const detail = error.message.includes(path) ? error.message : `${error.message} (${path})`;
    return { name, path, status: 'fail', detail, ...(error.hint === undefined ? {} : { hint: error.hint }) };
  }
}
