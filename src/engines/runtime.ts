import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { SyndicateError, ExitCode, UsageError, type SyndicateErrorOptions } from '../errors.js';
import { ENGINE_BACKENDS, type EngineBackend, type EngineGpuChoice } from './backends.js';
import type { Llama, NodeLlamaCppModule } from './node-llama-cpp.js';
import { isProcessAlive } from '../common/process-alive.js';
import { shellWord } from '../common/shell-word.js';
import { userHomeDirectory } from '../common/user-home.js';

/**
 * Where the embedded engine (node-llama-cpp, llama.cpp's prebuilt binaries) comes from.
 *
 * node-llama-cpp is not a dependency of syndicate: installed the ordinary way it brings every
 * platform's binaries (CUDA, Vulkan, ARM — ~725 MB), which most hosts never use. Instead
 * `syndicate engine install` puts node-llama-cpp and exactly one binary package per backend in
 * an engine directory of its own (~85 MB for CPU on linux-x64), with npm's optional
 * dependencies turned off. Loading always passes `build: "never"`, so nothing is compiled or
 * downloaded when a model is served.
 */

/** The node-llama-cpp release syndicate is tested against (the llama.cpp fixtures were captured with it). */
export const NODE_LLAMA_CPP_VERSION = '3.22.1';

export { ENGINE_BACKENDS, type EngineBackend } from './backends.js';

/** Raised when the embedded engine is needed but not installed (exit 1, like a failed check). */
export class EngineNotInstalledError extends SyndicateError {
  constructor(message: string, options?: SyndicateErrorOptions) {
    super('engine_not_installed', ExitCode.checkFailed, message, options);
  }
}

/** Raised when `npm install` of the engine fails (exit 1); nothing is left half-installed. */
export class EngineInstallError extends SyndicateError {
  constructor(message: string, options?: SyndicateErrorOptions) {
    super('engine_install_failed', ExitCode.checkFailed, message, options);
  }
}

/** Raised when llama.cpp's bindings cannot start on the requested backend (exit 1, like a failed check). */
export class EngineBackendError extends SyndicateError {
  constructor(message: string, options?: SyndicateErrorOptions) {
    super('engine_backend_unavailable', ExitCode.checkFailed, message, options);
  }
}

/**
 * Exit 2: `engine serve --gpu cuda|vulkan|metal` on a machine where no prebuilt llama.cpp binary of
 * that backend loads — not installed, or installed with no GPU or driver for it — as `engine install
 * --gpu metal` on Linux is a usage error: the flag asks for what this machine cannot run.
 */
export class GpuBackendUnavailableError extends SyndicateError {
  constructor(message: string, options?: SyndicateErrorOptions) {
    super('gpu_backend_unavailable', ExitCode.usage, message, options);
  }
}

/** The fix for a GPU backend whose binaries are there but find no device or driver to run on. */
function noDeviceHint(gpu: string): string {
  return `use \`--gpu cpu\` (or \`--gpu auto\`, the best backend that loads here), or install the ${gpu} driver for this machine's GPU`;
}

/**
 * node-llama-cpp's `NoBinaryFoundError` (no prebuilt binary for the backend asked loads, and
 * `build: "never"` forbids building one), told by its class's name: its message is only
 * "NoBinaryFoundError", and it sets no `name` of its own.
 */
function isNoBinaryFound(error: unknown): boolean {
  return error instanceof Error && error.constructor.name === 'NoBinaryFoundError';
}

/**
 * The error for a `getLlama` failure on `gpu` (`auto`, `cpu` or a GPU backend), with the fix: for a
 * GPU backend without a binary that loads, a GpuBackendUnavailableError saying whether its binaries
 * are installed (`installed`: the engine's binary packages, default the installed engine's);
 * otherwise an EngineBackendError.
 */
export function engineBackendFailure(gpu: string, error: unknown, installed: readonly string[] | undefined = findEngine()?.binaryPackages): SyndicateError {
  const installHint = `install its binaries with \`syndicate engine install --gpu ${gpu}\`, or use \`--gpu cpu\``;
  if (isNoBinaryFound(error) && (ENGINE_BACKENDS as readonly string[]).includes(gpu) && gpu !== 'cpu') {
    const options = { cause: error, details: { gpu, installedBinaries: [...(installed ?? [])] } };
    const unsupported = gpuBackendOffPlatform(gpu as EngineGpuChoice, options);
    if (unsupported !== undefined) return unsupported;
    const wanted = binaryPackagesFor(gpu as EngineBackend);
    const missing = wanted.filter((name) => !(installed ?? []).includes(name));
    if (missing.length > 0) {
      const has = installed === undefined || installed.length === 0 ? '' : ` (it has ${installed.join(', ')})`;
      return new GpuBackendUnavailableError(`no prebuilt llama.cpp binary for the ${gpu} GPU backend on this machine: the embedded engine has none installed for it${has}`, { ...options, hint: installHint });
    }
    return new GpuBackendUnavailableError(
      `no prebuilt llama.cpp binary for the ${gpu} GPU backend loads on this machine: ${wanted.join(', ')} ${wanted.length === 1 ? 'is' : 'are'} installed, but found no ${gpu} GPU or driver to run on`,
      { ...options, hint: noDeviceHint(gpu) },
    );
  }
  const reason = isNoBinaryFound(error) ? 'no prebuilt llama.cpp binary loads on this machine' : error instanceof Error ? error.message : String(error);
  return new EngineBackendError(`llama.cpp cannot start on the ${gpu} backend: ${reason}`, {
    hint: gpu === 'auto' || gpu === 'cpu' ? 'reinstall the engine with `syndicate engine install --force`' : installHint,
    cause: error,
  });
}

/**
 * A GpuBackendUnavailableError when `gpu` names a GPU backend node-llama-cpp has no prebuilt binary
 * of for this platform (metal anywhere but macOS on arm64; cuda or vulkan on a Mac): decided from
 * the platform alone, before anything is loaded. Undefined for `auto`, `cpu` and a backend the
 * platform has binaries for.
 */
export function gpuBackendOffPlatform(
  gpu: EngineGpuChoice,
  options: SyndicateErrorOptions = { details: { gpu } },
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): GpuBackendUnavailableError | undefined {
  if (gpu === 'auto' || gpu === 'cpu') return undefined;
  try {
    binaryPackagesFor(gpu, platform, arch);
    return undefined;
  } catch (unsupported) {
    return new GpuBackendUnavailableError(`no prebuilt llama.cpp binary for the ${gpu} GPU backend on this machine: ${(unsupported as Error).message}`, {
      ...options,
      ...(unsupported instanceof SyndicateError && unsupported.hint !== undefined ? { hint: unsupported.hint } : {}),
    });
  }
}

/**
 * The error for llama.cpp's bindings started on another backend than the GPU one asked for:
 * node-llama-cpp falls back to the CPU (or another GPU) when the requested one has no device or
 * driver to run on, which `--gpu auto` accepts quietly but an explicit `--gpu` must not. Undefined
 * when `requested` is `auto` or `cpu`, or what was loaded.
 */
export function gpuBackendMismatch(requested: EngineGpuChoice, loaded: string | false): GpuBackendUnavailableError | undefined {
  if (requested === 'auto' || requested === 'cpu' || loaded === requested) return undefined;
  const got = loaded === false ? 'the CPU' : `the ${loaded} GPU backend`;
  return new GpuBackendUnavailableError(`llama.cpp started on ${got}, not the requested ${requested} GPU backend: found no ${requested} GPU or driver to run on`, {
    hint: noDeviceHint(requested),
    details: { gpu: requested, loadedBackend: loaded === false ? 'cpu' : loaded },
  });
}

/** `name` of the package.json `installEngine` writes into an engine directory: what marks a directory as ours. */
export const ENGINE_PACKAGE_NAME = 'syndicate-engine';

/** An engine directory that holds node-llama-cpp. */
export interface EngineInstallation {
  /** The directory whose `node_modules` holds node-llama-cpp. */
  directory: string;
  /** How it was found: `$SYNDICATE_ENGINE_DIR`, the per-user engine directory, or next to syndicate itself. */
  source: 'env' | 'user' | 'project';
  version: string;
  /** The `@node-llama-cpp/*` binary packages present, e.g. `linux-x64`, `linux-x64-cuda`. */
  binaryPackages: string[];
  /** The file `import()` loads. */
  entryPath: string;
}

type Environment = Readonly<Record<string, string | undefined>>;

/** The per-user engine directory: `$SYNDICATE_ENGINE_DIR`, else `$XDG_CACHE_HOME/syndicate/engine/node-llama-cpp-<version>`. */
export function engineDirectory(env: Environment = process.env): string {
  const override = env['SYNDICATE_ENGINE_DIR'];
  if (override !== undefined && override !== '') return resolve(override);
  // The XDG spec makes a relative value invalid: it is ignored, as for the data and config homes.
  const xdgCache = env['XDG_CACHE_HOME'];
  const cacheRoot =
    xdgCache !== undefined && isAbsolute(xdgCache) ? xdgCache : join(userHomeDirectory(env, 'set SYNDICATE_ENGINE_DIR to the embedded engine\'s directory (or HOME, or an absolute XDG_CACHE_HOME)'), '.cache');
  return join(cacheRoot, 'syndicate', 'engine', `node-llama-cpp-${NODE_LLAMA_CPP_VERSION}`);
}

/**
 * The `@node-llama-cpp/<name>` binary packages a backend needs on this platform, in node-llama-cpp's
 * naming (`linux-x64`, `linux-x64-cuda` + `-cuda-ext`, `mac-arm64-metal`, ...). Throws a usage error
 * for a backend the platform has no prebuilt binary for.
 */
export function binaryPackagesFor(backend: EngineBackend, platform: NodeJS.Platform = process.platform, arch: string = process.arch): string[] {
  const os = platform === 'darwin' ? 'mac' : platform === 'win32' ? 'win' : platform === 'linux' ? 'linux' : undefined;
  const unsupported = (): never => {
    throw new UsageError(`node-llama-cpp has no prebuilt ${backend} binary for ${platform}-${arch}`, {
      hint: backend === 'cpu' ? 'run a separate engine (llama-server, Ollama) and register it with `syndicate provider add`' : 'use `--gpu cpu`, or build llama.cpp for this machine and register it as a provider',
    });
  };
  if (os === undefined) return unsupported();
  const base = `${os}-${arch}`;
  switch (backend) {
    case 'cpu':
      if (os === 'mac') return arch === 'arm64' ? ['mac-arm64-metal'] : arch === 'x64' ? ['mac-x64'] : unsupported();
      if (os === 'linux' && ['x64', 'arm64', 'arm'].includes(arch)) return [arch === 'arm' ? 'linux-armv7l' : base];
      if (os === 'win' && ['x64', 'arm64'].includes(arch)) return [base];
      return unsupported();
    case 'cuda':
      return (os === 'linux' || os === 'win') && arch === 'x64' ? [`${base}-cuda`, `${base}-cuda-ext`] : unsupported();
    case 'vulkan':
      return (os === 'linux' || os === 'win') && arch === 'x64' ? [`${base}-vulkan`] : unsupported();
    case 'metal':
      return os === 'mac' && arch === 'arm64' ? ['mac-arm64-metal'] : unsupported();
  }
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function inspectDirectory(directory: string, source: EngineInstallation['source']): EngineInstallation | undefined {
  const packageDirectory = join(directory, 'node_modules', 'node-llama-cpp');
  const manifest = readJson(join(packageDirectory, 'package.json'));
  const version = manifest?.['version'];
  if (manifest === undefined || typeof version !== 'string') return undefined;
  const entryPath = join(packageDirectory, 'dist', 'index.js');
  if (!existsSync(entryPath)) return undefined;
  const scopeDirectory = join(directory, 'node_modules', '@node-llama-cpp');
  // A binary package counts only at node-llama-cpp's own version: one left from an older release is not loadable with it.
  const binaryPackages = existsSync(scopeDirectory)
    ? Object.keys((manifest['optionalDependencies'] as Record<string, string> | undefined) ?? {})
        .map((name) => name.replace('@node-llama-cpp/', ''))
        .filter((name) => readJson(join(scopeDirectory, name, 'package.json'))?.['version'] === version)
    : [];
  return { directory, source, version, binaryPackages, entryPath };
}

/** Finds node-llama-cpp without loading it: `$SYNDICATE_ENGINE_DIR`, the per-user engine directory, then next to syndicate. */
export function findEngine(env: Environment = process.env): EngineInstallation | undefined {
  const override = env['SYNDICATE_ENGINE_DIR'];
  if (override !== undefined && override !== '') return inspectDirectory(resolve(override), 'env');
  const user = inspectDirectory(engineDirectory(env), 'user');
  if (user !== undefined) return user;
  // Installed beside syndicate (e.g. `npm install node-llama-cpp` in the same prefix): walk up from this file.
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const found = inspectDirectory(directory, 'project');
    if (found !== undefined) return found;
    const parent = dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}

function notInstalled(env: Environment): EngineNotInstalledError {
  const override = env['SYNDICATE_ENGINE_DIR'];
  const where = override !== undefined && override !== '' ? `in $SYNDICATE_ENGINE_DIR (${resolve(override)})` : `in ${engineDirectory(env)}`;
  return new EngineNotInstalledError(`the embedded engine (node-llama-cpp) is not installed ${where}`, {
    hint: 'run `syndicate engine install` (CPU, ~85 MB from the npm registry; add `--gpu cuda|vulkan|metal` for a GPU build)',
  });
}

/**
 * Loads node-llama-cpp from the engine directory; throws EngineNotInstalledError with the fix when
 * it is absent or is another release than NODE_LLAMA_CPP_VERSION (the walk up from syndicate can
 * find a project's own node-llama-cpp, whose API and binaries syndicate was not tested with).
 */
export async function importNodeLlamaCpp(env: Environment = process.env): Promise<NodeLlamaCppModule> {
  const installation = findEngine(env);
  if (installation === undefined) throw notInstalled(env);
  if (installation.version !== NODE_LLAMA_CPP_VERSION) {
    throw new EngineNotInstalledError(`node-llama-cpp ${installation.version} in ${installation.directory} is not the release syndicate uses (${NODE_LLAMA_CPP_VERSION})`, {
      hint: `run \`syndicate engine install\` to install node-llama-cpp ${NODE_LLAMA_CPP_VERSION} into syndicate's engine directory`,
      details: { directory: installation.directory, found: installation.version, expected: NODE_LLAMA_CPP_VERSION },
    });
  }
  try {
    return (await import(pathToFileURL(installation.entryPath).href)) as NodeLlamaCppModule;
  } catch (error) {
    throw new EngineNotInstalledError(`node-llama-cpp in ${installation.directory} cannot be loaded: ${(error as Error).message}`, {
      hint: 'reinstall it with `syndicate engine install --force`',
      cause: error,
    });
  }
}

/** What `installEngine` did. */
export interface EngineInstallResult {
  installation: EngineInstallation;
  /** False when everything asked for was already present. */
  changed: boolean;
  /** The packages handed to npm (empty when nothing changed). */
  packages: string[];
  durationMs: number;
  /** Scratch directories of earlier installs that were killed before they finished, removed first (see `abandonedInstalls`). */
  removedAbandoned: string[];
}

export interface EngineInstallOptions {
  backend?: EngineBackend;
  /** Reinstall from scratch even when present. */
  force?: boolean;
  env?: Environment;
  /** npm's output, line by line, for a progress display. */
  onProgress?: (line: string) => void;
  /** The npm executable (tests point it at a fake). */
  npmCommand?: string;
  /** Aborted (Ctrl-C, SIGTERM): npm is stopped, the scratch directory of a fresh install removed, and the install rejects with the reason. */
  signal?: AbortSignal;
}

/** What is in the engine directory before an install, and so what the install may do there. */
type DirectoryState =
  /** Nothing there, or an empty directory: a fresh install may take its place. */
  | { kind: 'vacant' }
  /** A directory `installEngine` created (its package.json is ours): it may be updated or replaced. */
  | { kind: 'ours'; installation: EngineInstallation | undefined }
  /** Anything else (a project, a file): never written to, never deleted. */
  | { kind: 'foreign'; reason: string };

function directoryState(directory: string, source: EngineInstallation['source']): DirectoryState {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(directory).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'vacant' };
    return { kind: 'foreign', reason: `it cannot be read (${(error as Error).message})` };
  }
  if (!isDirectory) return { kind: 'foreign', reason: 'it is not a directory' };
  if (readJson(join(directory, 'package.json'))?.['name'] === ENGINE_PACKAGE_NAME) return { kind: 'ours', installation: inspectDirectory(directory, source) };
  let entries: string[];
  try {
    entries = readdirSync(directory);
  } catch (error) {
    return { kind: 'foreign', reason: `it cannot be read (${(error as Error).message})` };
  }
  return entries.length === 0 ? { kind: 'vacant' } : { kind: 'foreign', reason: `it is not empty and its package.json is not the "${ENGINE_PACKAGE_NAME}" one \`syndicate engine install\` writes` };
}

/**
 * Installs node-llama-cpp and the binary package(s) of one backend into the engine directory
 * with `npm install --omit=optional --ignore-scripts` (node-llama-cpp's post-install step would
 * otherwise try to download or build llama.cpp). A fresh install goes to a scratch directory that
 * is renamed into place only when npm succeeded, so a failed install leaves nothing behind; adding
 * a backend to an existing directory is npm's own (atomic per package) install.
 *
 * Only a directory this function created (marked by its package.json, name `syndicate-engine`)
 * or an empty one is ever written to or replaced: anything else `$SYNDICATE_ENGINE_DIR` names is
 * refused with a UsageError before anything is downloaded, `--force` included.
 */
export async function installEngine(options: EngineInstallOptions = {}): Promise<EngineInstallResult> {
  const env = options.env ?? process.env;
  const backend = options.backend ?? 'cpu';
  const directory = engineDirectory(env);
  const source: EngineInstallation['source'] = env['SYNDICATE_ENGINE_DIR'] ? 'env' : 'user';
  const started = Date.now();
  const wanted = [...new Set([...binaryPackagesFor('cpu'), ...binaryPackagesFor(backend)])];
  const removedAbandoned = removeAbandonedInstalls(directory);
  const state = directoryState(directory, source);
  if (state.kind === 'foreign') {
    throw new UsageError(`refusing to install the engine into ${directory}: ${state.reason}`, {
      hint: 'point $SYNDICATE_ENGINE_DIR at a new or empty directory (or unset it to use the per-user engine directory); syndicate never writes into or deletes a directory it did not create',
      details: { directory },
    });
  }
  const existing = state.kind === 'ours' && options.force !== true ? state.installation : undefined;
  // Binary packages of another node-llama-cpp release do not count as present: every wanted one is installed again.
  const present = existing?.version === NODE_LLAMA_CPP_VERSION ? existing.binaryPackages : [];
  const missing = wanted.filter((name) => !present.includes(name));
  if (existing !== undefined && existing.version === NODE_LLAMA_CPP_VERSION && missing.length === 0) {
    return { installation: existing, changed: false, packages: [], durationMs: Date.now() - started, removedAbandoned };
  }
  const packages = [`node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`, ...missing.map((name) => `@node-llama-cpp/${name}@${NODE_LLAMA_CPP_VERSION}`)];
  const fresh = existing === undefined;
  const target = fresh ? `${directory}${SCRATCH_INFIX}${process.pid}` : directory;
  try {
    if (fresh) {
      rmSync(target, { recursive: true, force: true });
      mkdirSync(target, { recursive: true });
      const installer: InstallerRecord = { pid: process.pid, host: hostname() };
      writeFileSync(join(target, INSTALLER_FILE), `${JSON.stringify(installer)}\n`);
      writeFileSync(join(target, 'package.json'), `${JSON.stringify({ name: ENGINE_PACKAGE_NAME, private: true, description: 'node-llama-cpp for `syndicate engine serve`; managed by `syndicate engine install`' }, null, 2)}\n`);
    }
    await runNpm(options.npmCommand ?? 'npm', ['install', '--no-audit', '--no-fund', '--omit=optional', '--ignore-scripts', '--save-exact', ...packages], target, options);
    if (fresh) moveIntoPlace(target, directory, source);
  } catch (error) {
    if (fresh) rmSync(target, { recursive: true, force: true });
    throw error;
  }
  const installation = inspectDirectory(directory, source);
  if (installation === undefined) throw new EngineInstallError(`npm finished but node-llama-cpp is missing from ${directory}`, { hint: 'run `syndicate engine install --force`' });
  return { installation, changed: true, packages, durationMs: Date.now() - started, removedAbandoned };
}

/** A fresh install downloads into `<engine directory>.installing-<pid>`, renamed into place when npm is done. */
const SCRATCH_INFIX = '.installing-';

/** The file in a scratch directory naming the install writing into it: its process and host. */
const INSTALLER_FILE = '.syndicate-installer.json';

interface InstallerRecord {
  pid: number;
  host: string;
}

/**
 * How old a scratch directory without an installer file (left by a syndicate from before the file
 * was written) must be before it counts as abandoned when its pid is gone: its host is unknown.
 */
const UNRECORDED_SCRATCH_AGE_MS = 60 * 60 * 1000;

/** What `abandonedInstalls` may be told instead of asking the system (tests). */
export interface AbandonedInstallOptions {
  isAlive?: (pid: number) => boolean;
  host?: string;
  now?: number;
}

/**
 * The scratch directories of fresh installs into `directory` that are no longer running: an
 * install killed with SIGKILL (or a power loss) never removed its own, as a stopped one does. A
 * scratch directory counts as abandoned only when its installer file names a process on this host
 * that no longer exists. A concurrent install's directory is therefore never taken: its process
 * is alive, and one on another host sharing the directory (a mounted volume) is never judged from
 * here. A reused pid keeps a dead install's directory until that process is gone too — kept too
 * long, never removed too soon. A directory without the file (from a syndicate that did not write
 * it) counts only when it holds the package.json installs write, the pid in its name is gone and
 * it has not changed for an hour.
 */
export function abandonedInstalls(directory: string, options: AbandonedInstallOptions = {}): string[] {
  const isAlive = options.isAlive ?? isProcessAlive;
  const host = options.host ?? hostname();
  const now = options.now ?? Date.now();
  const parent = dirname(directory);
  const prefix = `${basename(directory)}${SCRATCH_INFIX}`;
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return [];
  }
  const abandoned: string[] = [];
  for (const entry of entries) {
    const namedPid = entry.startsWith(prefix) ? entry.slice(prefix.length) : '';
    if (!/^[1-9]\d*$/.test(namedPid)) continue;
    const scratch = join(parent, entry);
    let modifiedMs: number;
    try {
      const stats = statSync(scratch);
      if (!stats.isDirectory()) continue;
      modifiedMs = stats.mtimeMs;
    } catch {
      continue;
    }
    const installer = readJson(join(scratch, INSTALLER_FILE));
    if (installer !== undefined) {
      const { pid } = installer;
      if (installer['host'] === host && typeof pid === 'number' && pid !== process.pid && !isAlive(pid)) abandoned.push(scratch);
      continue;
    }
    const pid = Number(namedPid);
    if (pid === process.pid || isAlive(pid) || readJson(join(scratch, 'package.json'))?.['name'] !== ENGINE_PACKAGE_NAME) continue;
    if (now - modifiedMs > UNRECORDED_SCRATCH_AGE_MS) abandoned.push(scratch);
  }
  return abandoned.sort();
}

/** Removes `abandonedInstalls(directory)`; returns those removed (one that cannot be removed is left for `doctor` to report). */
function removeAbandonedInstalls(directory: string): string[] {
  const removed: string[] = [];
  for (const scratch of abandonedInstalls(directory)) {
    try {
      rmSync(scratch, { recursive: true, force: true });
      removed.push(scratch);
    } catch {
      // Not ours to remove after all (permissions): doctor names it.
    }
  }
  return removed;
}

/**
 * Replaces `directory` with the finished scratch install. The directory is checked again first (it
 * may have changed during the download): only an empty one or one of ours is removed.
 */
function moveIntoPlace(scratch: string, directory: string, source: EngineInstallation['source']): void {
  const state = directoryState(directory, source);
  if (state.kind === 'foreign') {
    throw new EngineInstallError(`cannot put the engine in ${directory}: ${state.reason} (it changed while npm ran)`, {
      hint: 'point $SYNDICATE_ENGINE_DIR at a new or empty directory, then run `syndicate engine install` again',
    });
  }
  try {
    if (existsSync(directory)) rmSync(directory, { recursive: true, force: true });
    mkdirSync(dirname(directory), { recursive: true });
    renameSync(scratch, directory);
  } catch (error) {
    throw new EngineInstallError(`cannot move the engine into ${directory}: ${(error as Error).message}`, {
      hint: `check that ${shellWord(dirname(directory))} is writable and nothing else is using ${shellWord(directory)}, then run \`syndicate engine install\` again`,
      cause: error,
    });
  }
}

/**
 * Runs npm in `cwd`. An aborted `signal` stops npm (SIGTERM) and, once it has exited, rejects with
 * the signal's reason: the caller then removes its scratch directory, and no npm is left writing
 * into it.
 */
async function runNpm(command: string, args: string[], cwd: string, { onProgress, signal }: Pick<EngineInstallOptions, 'onProgress' | 'signal'>): Promise<void> {
  signal?.throwIfAborted();
  const tail: string[] = [];
  const stopNpm = new AbortController();
  const exitCode = await new Promise<number | null>((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
    signal?.addEventListener('abort', () => child.kill('SIGTERM'), { once: true, signal: stopNpm.signal });
    const forward = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        const trimmed = line.trim();
        if (trimmed === '') continue;
        tail.push(trimmed);
        if (tail.length > 20) tail.shift();
        onProgress?.(trimmed);
      }
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('error', reject);
    child.on('close', resolvePromise);
  })
    .catch((error: unknown) => {
      throw new EngineInstallError(`cannot run ${command}: ${(error as Error).message}`, { hint: 'install Node.js with npm, or put npm on PATH', cause: error });
    })
    .finally(() => stopNpm.abort());
  signal?.throwIfAborted();
  if (exitCode !== 0) {
    throw new EngineInstallError(`npm install of the engine failed (exit ${String(exitCode)}): ${tail.slice(-5).join(' | ')}`, {
      hint: 'check that the npm registry is reachable (`npm ping`), then run `syndicate engine install` again',
    });
  }
}

/** How the engine can run here, for `doctor`: which backend node-llama-cpp picks and whether it loads. */
export interface EngineReadiness {
  installation: EngineInstallation;
  /** `cpu` or the GPU API node-llama-cpp selected (`cuda`, `vulkan`, `metal`). */
  backend: string;
  loadMs: number;
}

/** Loads llama.cpp's bindings (no model) with `build: "never"` and reports the backend in use. */
export async function checkEngineReadiness(env: Environment = process.env): Promise<EngineReadiness> {
  const installation = findEngine(env);
  if (installation === undefined) throw notInstalled(env);
  const started = Date.now();
  const module = await importNodeLlamaCpp(env);
  let llama: Llama;
  try {
    llama = await module.getLlama({ build: 'never', gpu: 'auto', logLevel: 'error', progressLogs: false, skipDownload: true });
  } catch (error) {
    throw engineBackendFailure('auto', error);
  }
  const backend = llama.gpu === false ? 'cpu' : llama.gpu;
  await llama.dispose();
  return { installation, backend, loadMs: Date.now() - started };
}
