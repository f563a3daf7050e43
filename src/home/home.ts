import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { writeFileIfAbsent } from '../common/atomic-file.js';
import { shellWord } from '../common/shell-word.js';
import { userHomeDirectory } from '../common/user-home.js';
import { StoreError, UsageError } from '../errors.js';
import { refuseUntrustedFile } from './access.js';

/** The refusal of a gateway token another user can read or replace (exit 4). */
export const GATEWAY_TOKEN_INSECURE = 'gateway_token_insecure';

/** Where syndicate keeps its files. With `--home` or `$SYNDICATE_HOME` both directories are the same. */
export interface HomePaths {
  /** Holds the store, the permit key and the gateway token. */
  dataDir: string;
  /** Holds `policy.yaml`. */
  configDir: string;
  storePath: string;
  policyPath: string;
  permitKeyPath: string;
  gatewayTokenPath: string;
  /** How the location was chosen, for `doctor` and the README. */
  source: 'flag' | 'env' | 'xdg';
  /**
   * XDG variables that were set to a relative path and so ignored, their default used instead: the
   * XDG Base Directory spec makes a relative path invalid. Empty unless `source` is `xdg`.
   */
  ignoredVariables: IgnoredVariable[];
}

/** An environment variable `resolveHome` ignored, with the value it had and the directory used instead. */
export interface IgnoredVariable {
  name: 'XDG_DATA_HOME' | 'XDG_CONFIG_HOME';
  value: string;
  /** The default base directory used in its place (`~/.local/share`, `~/.config`). */
  usedInstead: string;
}

export function resolveHome(options: { home?: string | undefined; env?: NodeJS.ProcessEnv } = {}): HomePaths {
  const env = options.env ?? process.env;
  let dataDir: string;
  let configDir: string;
  let source: HomePaths['source'];
  const ignoredVariables: IgnoredVariable[] = [];
  if (options.home !== undefined && options.home !== '') {
    dataDir = configDir = resolve(options.home);
    source = 'flag';
  } else if (env.SYNDICATE_HOME !== undefined && env.SYNDICATE_HOME.trim() === '') {
    // `SYNDICATE_HOME=$UNSET_VARIABLE` in a script or a unit file: falling back to the default home
    // would run on another store and policy without a word (as an empty --home would; the XDG
    // variables, which the spec says to treat so, are the exception).
    throw new UsageError(`SYNDICATE_HOME is set but empty (${JSON.stringify(env.SYNDICATE_HOME)}): it names no home`, {
      hint: 'set it to a directory, unset it (`unset SYNDICATE_HOME`) to use the XDG directories, or give --home DIR',
    });
  } else if (env.SYNDICATE_HOME !== undefined) {
    // Unlike the XDG variables, a relative $SYNDICATE_HOME is allowed: resolved against the current directory, as --home is.
    dataDir = configDir = resolve(env.SYNDICATE_HOME);
    source = 'env';
  } else {
    // Looked up only for a default a variable does not replace: absolute XDG_DATA_HOME and XDG_CONFIG_HOME need no home directory.
    const userHome = (): string =>
      userHomeDirectory(env, 'give --home DIR or set SYNDICATE_HOME (or HOME, or absolute XDG_DATA_HOME and XDG_CONFIG_HOME)');
    // Unset, empty or relative (invalid by the XDG Base Directory spec, so ignored): the default.
    const base = (name: IgnoredVariable['name'], fallback: () => string): string => {
      const value = env[name];
      if (value !== undefined && isAbsolute(value)) return value;
      const usedInstead = fallback();
      if (value !== undefined && value !== '') ignoredVariables.push({ name, value, usedInstead });
      return usedInstead;
    };
    dataDir = join(base('XDG_DATA_HOME', () => join(userHome(), '.local', 'share')), 'syndicate');
    configDir = join(base('XDG_CONFIG_HOME', () => join(userHome(), '.config')), 'syndicate');
    source = 'xdg';
  }
  return {
    dataDir,
    configDir,
    storePath: join(dataDir, 'syndicate.db'),
    policyPath: join(configDir, 'policy.yaml'),
    permitKeyPath: join(dataDir, 'permit.key'),
    gatewayTokenPath: join(dataDir, 'gateway.token'),
    source,
    ignoredVariables,
  };
}

/**
 * The `syndicate init` that creates this home: with `--home DIR` when the home came from that flag
 * (a bare `syndicate init` would create the default home instead); `$SYNDICATE_HOME` and the XDG
 * directories are found again by a bare one run in the same environment.
 */
export function initCommandFor(home: HomePaths): string {
  return home.source === 'flag' ? `syndicate init --home ${shellWord(home.dataDir)}` : 'syndicate init';
}

/** A backquoted span of a hint, and a `syndicate` that starts a command in one (`syndicate …`, `$(syndicate …)`, `… && syndicate …`). */
const BACKQUOTED_SPAN = /`([^`]*)`/g;
const COMMAND_START = /(^|\$\(|&& |; )syndicate (?=\S)/g;
const CARRIES_HOME = /(^|\s)--home(\s|=)/;
/**
 * Commands that read nothing of a home, so `--home` would only mislead: the engine's binaries and a
 * generated test model are per machine (~/.cache/syndicate, `--out`), completion scripts per shell.
 */
const IGNORES_HOME = /^(?:engine install|engine make-test-model|completion)(?:\s|$)/;

/**
 * `text` (a hint) with every backquoted `syndicate …` command made to work as typed for this home:
 * `--home DIR` inserted after `syndicate` when the home came from that flag; a command that
 * already names a home, or reads none (`engine install`), is left as it is. Under
 * `$SYNDICATE_HOME` or XDG a bare command finds the same home, so the text is returned unchanged.
 */
export function commandsForHome(text: string, home: HomePaths): string {
  if (home.source !== 'flag') return text;
  const homeFlag = `--home ${shellWord(home.dataDir)}`;
  return text.replace(BACKQUOTED_SPAN, (span, command: string) =>
    CARRIES_HOME.test(command)
      ? span
      : `\`${command.replace(COMMAND_START, (start: string, before: string, offset: number) =>
          IGNORES_HOME.test(command.slice(offset + start.length)) ? start : `${before}syndicate ${homeFlag} `,
        )}\``,
  );
}

/**
 * `value` (a command's JSON document or an error's details) with every string property named
 * `hint`, at any depth, passed through `commandsForHome`: the per-check, per-problem and
 * per-warning hints of `init`, `doctor` and invalid input files name the home as the top hint does.
 */
export function hintsForHome<T>(value: T, home: HomePaths): T {
  if (home.source !== 'flag') return value;
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node === null || typeof node !== 'object' || Object.getPrototypeOf(node) !== Object.prototype) return node;
    return Object.fromEntries(
      Object.entries(node).map(([key, child]) => [key, key === 'hint' && typeof child === 'string' ? commandsForHome(child, home) : rewrite(child)]),
    );
  };
  return rewrite(value) as T;
}

/** What to do about a file where the data directory (or a directory above it) should be. */
export const FILE_IN_THE_WAY_HINT = 'point --home or $SYNDICATE_HOME at a directory (it is created when missing), or move the file out of the way';

/** Creates `path` and its missing parents (0700). Returns the first directory it created, undefined when `path` existed. */
export function ensureDirectory(path: string): string | undefined {
  try {
    return mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const inTheWay = code === 'EEXIST' || code === 'ENOTDIR' ? firstNonDirectory(path) : undefined;
    if (inTheWay !== undefined) {
      throw new StoreError(`cannot create directory ${path}: ${inTheWay} is a file, not a directory`, {
        hint: FILE_IN_THE_WAY_HINT,
        cause: error,
      });
    }
    throw new StoreError(`cannot create directory ${path}: ${(error as Error).message}`, {
      hint: 'choose a writable location with --home or $SYNDICATE_HOME',
      cause: error,
    });
  }
}

/** The first of `path` and its ancestors that exists and is not a directory, if any. */
export function firstNonDirectory(path: string): string | undefined {
  const chain: string[] = [];
  for (let current = resolve(path); ; current = dirname(current)) {
    chain.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const candidate of chain) {
    try {
      if (!statSync(candidate).isDirectory()) return candidate;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Creates a file whole with the given mode (a private temporary file beside it, hard-linked into
 * place), so a crash never leaves a half-written key or policy behind, and of processes creating
 * it at once (parallel `init`s of a new home) exactly one does: the others keep its file rather
 * than replacing it, so a permit signed or a token read after the first finished stays valid.
 * Returns false when the file already existed (or another process made it first) and was kept.
 */
export function writeFileOnce(path: string, content: string | Uint8Array, mode: number): boolean {
  if (existsSync(path)) return false;
  ensureDirectory(dirname(path));
  try {
    return writeFileIfAbsent(path, content, mode);
  } catch (error) {
    // A directory this user cannot write is not a bug in syndicate.
    throw new StoreError(`cannot write ${path}: ${(error as Error).message}`, {
      hint: `make ${shellWord(dirname(path))} writable by this user, or choose another location with --home or $SYNDICATE_HOME`,
      cause: error,
    });
  }
}

export function readSecretFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new StoreError(`cannot read the ${what} at ${path}`, {
      hint: 'run `syndicate init` to create it',
      cause: error,
    });
  }
}

/** The bearer token `syndicate init` wrote (trimmed); a missing or empty file is a store error with the fix. */
export function readGatewayToken(path: string, options: { accessChecked?: boolean } = {}): string {
  // Another user who can read it can call the gateway; one who can replace it, choose its token.
  // `accessChecked`: `doctor`, which reports the token's and its directory's owner and mode as checks of their own.
  if (options.accessChecked !== true) refuseUntrustedFile(path, 'secret', 'gateway token', GATEWAY_TOKEN_INSECURE);
  const token = readSecretFile(path, 'gateway token').toString('utf8').trim();
  if (token === '') {
    throw new StoreError(`the gateway token file ${path} is empty`, {
      hint: 'delete it and run `syndicate init` to create a new token',
    });
  }
  return token;
}
