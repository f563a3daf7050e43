import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { UsageError } from '../../../src/errors.js';
import {
  abandonedInstalls,
  binaryPackagesFor,
  checkEngineReadiness,
  ENGINE_PACKAGE_NAME,
  EngineBackendError,
  engineBackendFailure,
  engineDirectory,
  EngineInstallError,
  EngineNotInstalledError,
  findEngine,
  GpuBackendUnavailableError,
  gpuBackendMismatch,
  gpuBackendOffPlatform,
  importNodeLlamaCpp,
  installEngine,
  NODE_LLAMA_CPP_VERSION,
} from '../../../src/engines/runtime.js';

function temporaryDirectory(): string {
  return mkdtempSync(join(tmpdir(), 'syndicate-engine-'));
}

/**
 * Lays out what `installEngine` (`npm install node-llama-cpp @node-llama-cpp/<binaries>` in a
 * directory with our package.json) leaves behind, with a loadable entry; `ours: false` leaves
 * out our package.json, as in a project that installed node-llama-cpp itself.
 */
function fakeInstallation(directory: string, binaries: string[], options: { version?: string; ours?: boolean; entry?: string } = {}): void {
  const version = options.version ?? NODE_LLAMA_CPP_VERSION;
  const packageDirectory = join(directory, 'node_modules', 'node-llama-cpp');
  mkdirSync(join(packageDirectory, 'dist'), { recursive: true });
  if (options.ours !== false) writeFileSync(join(directory, 'package.json'), JSON.stringify({ name: ENGINE_PACKAGE_NAME, private: true }));
  const optionalDependencies = Object.fromEntries(['linux-x64', 'linux-x64-cuda', 'linux-x64-cuda-ext', 'linux-x64-vulkan', 'mac-arm64-metal'].map((name) => [`@node-llama-cpp/${name}`, version]));
  writeFileSync(join(packageDirectory, 'package.json'), JSON.stringify({ name: 'node-llama-cpp', version, type: 'module', optionalDependencies }));
  writeFileSync(join(packageDirectory, 'dist', 'index.js'), options.entry ?? 'export async function getLlama(options) { return { gpu: false, options, dispose: async () => undefined }; }\n');
  for (const binary of binaries) {
    mkdirSync(join(directory, 'node_modules', '@node-llama-cpp', binary), { recursive: true });
    writeFileSync(join(directory, 'node_modules', '@node-llama-cpp', binary, 'package.json'), JSON.stringify({ name: `@node-llama-cpp/${binary}`, version }));
  }
}

/** A user's project: a non-empty directory syndicate did not create. */
function userProject(directory: string): void {
  mkdirSync(join(directory, 'src'), { recursive: true });
  writeFileSync(join(directory, 'package.json'), JSON.stringify({ name: 'my-app', version: '1.0.0' }));
  writeFileSync(join(directory, 'src', 'index.js'), 'console.log("mine");\n');
}

function npmCalls(log: string): { cwd: string; args: string[] }[] {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { cwd: string; args: string[] }) : [];
}

/**
 * A stand-in for npm: records its arguments and lays out the packages it was asked for, or fails
 * like npm does (stderr + exit 1) when FAKE_NPM_FAIL is set; FAKE_NPM_SQUAT names a directory it
 * fills with someone else's file while it runs; FAKE_NPM_VANISH removes the directory npm runs in.
 */
function fakeNpm(directory: string): { command: string; log: string } {
  const log = join(directory, 'npm-calls.log');
  const command = join(directory, 'fake-npm.mjs');
  writeFileSync(
    command,
    `#!/usr/bin/env node
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const args = process.argv.slice(2);
appendFileSync(${JSON.stringify(log)}, JSON.stringify({ cwd: process.cwd(), args }) + '\\n');
if (process.env.FAKE_NPM_FAIL) { console.error('npm error code E404'); console.error('npm error 404 Not Found'); process.exit(1); }
if (process.env.FAKE_NPM_VANISH) { rmSync(process.cwd(), { recursive: true, force: true }); process.exit(0); }
if (process.env.FAKE_NPM_SQUAT) { mkdirSync(process.env.FAKE_NPM_SQUAT, { recursive: true }); writeFileSync(join(process.env.FAKE_NPM_SQUAT, 'notes.txt'), 'someone else'); }
for (const spec of args.filter((arg) => !arg.startsWith('--') && arg !== 'install')) {
  const name = spec.slice(0, spec.lastIndexOf('@'));
  const version = spec.slice(spec.lastIndexOf('@') + 1);
  const dir = join(process.cwd(), 'node_modules', name);
  mkdirSync(join(dir, 'dist'), { recursive: true });
  const optionalDependencies = name === 'node-llama-cpp' ? Object.fromEntries(['linux-x64', 'linux-x64-cuda', 'linux-x64-cuda-ext', 'mac-arm64-metal'].map((n) => ['@node-llama-cpp/' + n, version])) : undefined;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version, optionalDependencies }));
  writeFileSync(join(dir, 'dist', 'index.js'), 'export const marker = 1;\\n');
  console.log('added 1 package: ' + name);
}
`,
  );
  chmodSync(command, 0o755);
  return { command, log };
}

describe('engine runtime: where node-llama-cpp comes from', () => {
  it('picks exactly one binary package per backend and platform', () => {
    expect(binaryPackagesFor('cpu', 'linux', 'x64')).toEqual(['linux-x64']);
    expect(binaryPackagesFor('cpu', 'linux', 'arm')).toEqual(['linux-armv7l']);
    expect(binaryPackagesFor('cpu', 'darwin', 'arm64')).toEqual(['mac-arm64-metal']);
    expect(binaryPackagesFor('cuda', 'linux', 'x64')).toEqual(['linux-x64-cuda', 'linux-x64-cuda-ext']);
    expect(binaryPackagesFor('vulkan', 'win32', 'x64')).toEqual(['win-x64-vulkan']);
    expect(binaryPackagesFor('metal', 'darwin', 'arm64')).toEqual(['mac-arm64-metal']);
    expect(() => binaryPackagesFor('metal', 'linux', 'x64')).toThrow(UsageError);
    expect(() => binaryPackagesFor('cuda', 'darwin', 'arm64')).toThrow(/no prebuilt cuda binary for darwin-arm64/);
    expect(() => binaryPackagesFor('cpu', 'freebsd', 'x64')).toThrow(UsageError);
  });

  it('keeps the engine in $SYNDICATE_ENGINE_DIR, else in the user cache keyed by version', () => {
    expect(engineDirectory({ SYNDICATE_ENGINE_DIR: '/srv/engine' })).toBe('/srv/engine');
    expect(engineDirectory({ XDG_CACHE_HOME: '/c', HOME: '/h' })).toBe(`/c/syndicate/engine/node-llama-cpp-${NODE_LLAMA_CPP_VERSION}`);
    expect(engineDirectory({ HOME: '/h' })).toBe(`/h/.cache/syndicate/engine/node-llama-cpp-${NODE_LLAMA_CPP_VERSION}`);
    // Relative XDG values are invalid (XDG Base Directory spec) and ignored, like the data and config homes'.
    expect(engineDirectory({ XDG_CACHE_HOME: 'cache', HOME: '/h' })).toBe(`/h/.cache/syndicate/engine/node-llama-cpp-${NODE_LLAMA_CPP_VERSION}`);
  });

  it('finds an installation and the binaries actually present, and loads its entry', async () => {
    const directory = temporaryDirectory();
    fakeInstallation(directory, ['linux-x64', 'linux-x64-vulkan']);
    const found = findEngine({ SYNDICATE_ENGINE_DIR: directory });
    expect(found).toMatchObject({ directory, source: 'env', version: NODE_LLAMA_CPP_VERSION, binaryPackages: ['linux-x64', 'linux-x64-vulkan'] });
    const module = await importNodeLlamaCpp({ SYNDICATE_ENGINE_DIR: directory });
    await expect(module.getLlama({ build: 'never' })).resolves.toMatchObject({ gpu: false, options: { build: 'never' } });
  });

  it('names the install command when the engine is absent', async () => {
    const directory = temporaryDirectory();
    await expect(importNodeLlamaCpp({ SYNDICATE_ENGINE_DIR: directory })).rejects.toThrow(EngineNotInstalledError);
    await expect(importNodeLlamaCpp({ SYNDICATE_ENGINE_DIR: directory })).rejects.toMatchObject({
      exitCode: 1,
      hint: expect.stringContaining('syndicate engine install') as unknown,
    });
  });

  it('refuses a node-llama-cpp of another release (e.g. a project\'s own, found walking up) with the install command', async () => {
    const directory = temporaryDirectory();
    fakeInstallation(directory, ['linux-x64'], { version: '3.0.0', ours: false });
    expect(findEngine({ SYNDICATE_ENGINE_DIR: directory })?.version).toBe('3.0.0');
    const refused = importNodeLlamaCpp({ SYNDICATE_ENGINE_DIR: directory });
    await expect(refused).rejects.toThrow(EngineNotInstalledError);
    await expect(importNodeLlamaCpp({ SYNDICATE_ENGINE_DIR: directory })).rejects.toMatchObject({
      message: expect.stringContaining(`node-llama-cpp 3.0.0 in ${directory} is not the release syndicate uses (${NODE_LLAMA_CPP_VERSION})`) as unknown,
      hint: expect.stringContaining('syndicate engine install') as unknown,
    });
  });

  it('counts only binary packages of node-llama-cpp\'s own release', () => {
    const directory = temporaryDirectory();
    fakeInstallation(directory, ['linux-x64', 'linux-x64-vulkan']);
    writeFileSync(join(directory, 'node_modules', '@node-llama-cpp', 'linux-x64-vulkan', 'package.json'), JSON.stringify({ name: '@node-llama-cpp/linux-x64-vulkan', version: '3.0.0' }));
    expect(findEngine({ SYNDICATE_ENGINE_DIR: directory })?.binaryPackages).toEqual(['linux-x64']);
  });

  it('engine status: reports the backend the bindings load, and a binding failure as EngineBackendError with the fix', async () => {
    const working = temporaryDirectory();
    fakeInstallation(working, ['linux-x64']);
    await expect(checkEngineReadiness({ SYNDICATE_ENGINE_DIR: working })).resolves.toMatchObject({ backend: 'cpu', installation: { directory: working } });

    const broken = temporaryDirectory();
    fakeInstallation(broken, ['linux-x64'], { entry: 'export async function getLlama() { throw new Error("no prebuilt binary found"); }\n' });
    const failure = checkEngineReadiness({ SYNDICATE_ENGINE_DIR: broken });
    await expect(failure).rejects.toThrow(EngineBackendError);
    await expect(checkEngineReadiness({ SYNDICATE_ENGINE_DIR: broken })).rejects.toMatchObject({
      code: 'engine_backend_unavailable',
      exitCode: 1,
      message: 'llama.cpp cannot start on the auto backend: no prebuilt binary found',
      hint: expect.stringContaining('syndicate engine install --force') as unknown,
    });
  });
});

/** node-llama-cpp's own error class, as `getLlama` throws it with `build: "never"`: its message is its name, and it sets no `name`. */
class NoBinaryFoundError extends Error {
  constructor(message = 'NoBinaryFoundError') {
    super(message);
  }
}

describe('engineBackendFailure: what a getLlama failure on a backend says', () => {
  const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';

  it.runIf(onLinuxX64)('--gpu cuda without its binaries (NoBinaryFoundError): says so in words, exit 2, with the install hint', () => {
    const failure = engineBackendFailure('cuda', new NoBinaryFoundError(), ['linux-x64']);
    expect(failure).toBeInstanceOf(GpuBackendUnavailableError);
    expect(failure.toJSON()).toEqual({
      code: 'gpu_backend_unavailable',
      message: 'no prebuilt llama.cpp binary for the cuda GPU backend on this machine: the embedded engine has none installed for it (it has linux-x64)',
      hint: 'install its binaries with `syndicate engine install --gpu cuda`, or use `--gpu cpu`',
      details: { gpu: 'cuda', installedBinaries: ['linux-x64'] },
    });
    expect(failure.exitCode).toBe(2);
    expect(failure.message).not.toContain('NoBinaryFoundError');
    // Half of CUDA's two packages is none installed.
    expect(engineBackendFailure('cuda', new NoBinaryFoundError(), ['linux-x64', 'linux-x64-cuda']).message).toMatch(/has none installed for it \(it has linux-x64, linux-x64-cuda\)$/);
    expect(engineBackendFailure('vulkan', new NoBinaryFoundError(), []).message).toBe('no prebuilt llama.cpp binary for the vulkan GPU backend on this machine: the embedded engine has none installed for it');
  });

  it.runIf(onLinuxX64)('--gpu cuda with its binaries installed that do not load (no GPU or driver): says that, and installing them again is not the hint', () => {
    const failure = engineBackendFailure('cuda', new NoBinaryFoundError(), ['linux-x64', 'linux-x64-cuda', 'linux-x64-cuda-ext']);
    expect(failure).toMatchObject({
      code: 'gpu_backend_unavailable',
      exitCode: 2,
      message: 'no prebuilt llama.cpp binary for the cuda GPU backend loads on this machine: linux-x64-cuda, linux-x64-cuda-ext are installed, but found no cuda GPU or driver to run on',
      hint: 'use `--gpu cpu` (or `--gpu auto`, the best backend that loads here), or install the cuda driver for this machine\'s GPU',
    });
  });

  it.runIf(process.platform !== 'darwin')('--gpu metal off macOS: no prebuilt binary exists for this platform, said as engine install --gpu metal says it', () => {
    const failure = engineBackendFailure('metal', new NoBinaryFoundError(), ['linux-x64']);
    expect(failure).toMatchObject({ code: 'gpu_backend_unavailable', exitCode: 2, hint: 'use `--gpu cpu`, or build llama.cpp for this machine and register it as a provider' });
    expect(failure.message).toBe(`no prebuilt llama.cpp binary for the metal GPU backend on this machine: node-llama-cpp has no prebuilt metal binary for ${process.platform}-${process.arch}`);
  });

  it('auto or cpu without a binary that loads, or any other failure: EngineBackendError, exit 1, as before — NoBinaryFoundError said in words', () => {
    expect(engineBackendFailure('auto', new NoBinaryFoundError(), ['linux-x64'])).toMatchObject({
      code: 'engine_backend_unavailable',
      exitCode: 1,
      message: 'llama.cpp cannot start on the auto backend: no prebuilt llama.cpp binary loads on this machine',
      hint: 'reinstall the engine with `syndicate engine install --force`',
    });
    const other = engineBackendFailure('cuda', new Error('CUDA error: out of memory'), ['linux-x64', 'linux-x64-cuda', 'linux-x64-cuda-ext']);
    expect(other).toBeInstanceOf(EngineBackendError);
    expect(other).toMatchObject({ exitCode: 1, message: 'llama.cpp cannot start on the cuda backend: CUDA error: out of memory', hint: 'install its binaries with `syndicate engine install --gpu cuda`, or use `--gpu cpu`' });
  });
});

describe('an explicit --gpu backend the engine does not get', () => {
  it('gpuBackendOffPlatform: from the platform alone, metal anywhere but macOS/arm64, cuda and vulkan on a Mac; never auto or cpu', () => {
    expect(gpuBackendOffPlatform('metal', undefined, 'linux', 'x64')?.toJSON()).toEqual({
      code: 'gpu_backend_unavailable',
      message: 'no prebuilt llama.cpp binary for the metal GPU backend on this machine: node-llama-cpp has no prebuilt metal binary for linux-x64',
      hint: 'use `--gpu cpu`, or build llama.cpp for this machine and register it as a provider',
      details: { gpu: 'metal' },
    });
    expect(gpuBackendOffPlatform('metal', undefined, 'linux', 'x64')?.exitCode).toBe(2);
    expect(gpuBackendOffPlatform('vulkan', undefined, 'darwin', 'arm64')?.message).toBe('no prebuilt llama.cpp binary for the vulkan GPU backend on this machine: node-llama-cpp has no prebuilt vulkan binary for darwin-arm64');
    expect(gpuBackendOffPlatform('metal', undefined, 'darwin', 'arm64')).toBeUndefined();
    for (const gpu of ['cuda', 'vulkan'] as const) expect(gpuBackendOffPlatform(gpu, undefined, 'linux', 'x64')).toBeUndefined();
    for (const gpu of ['auto', 'cpu'] as const) expect(gpuBackendOffPlatform(gpu, undefined, 'freebsd', 'x64')).toBeUndefined();
  });

  it('gpuBackendMismatch: a GPU backend asked for and another one (or the CPU) got is exit 2; auto and cpu take what they get', () => {
    expect(gpuBackendMismatch('vulkan', false)?.toJSON()).toEqual({
      code: 'gpu_backend_unavailable',
      message: 'llama.cpp started on the CPU, not the requested vulkan GPU backend: found no vulkan GPU or driver to run on',
      hint: "use `--gpu cpu` (or `--gpu auto`, the best backend that loads here), or install the vulkan driver for this machine's GPU",
      details: { gpu: 'vulkan', loadedBackend: 'cpu' },
    });
    expect(gpuBackendMismatch('cuda', 'vulkan')?.message).toBe('llama.cpp started on the vulkan GPU backend, not the requested cuda GPU backend: found no cuda GPU or driver to run on');
    expect(gpuBackendMismatch('metal', false)).toBeInstanceOf(GpuBackendUnavailableError);
    expect(gpuBackendMismatch('vulkan', 'vulkan')).toBeUndefined();
    expect(gpuBackendMismatch('auto', false)).toBeUndefined();
    expect(gpuBackendMismatch('auto', 'cuda')).toBeUndefined();
    expect(gpuBackendMismatch('cpu', false)).toBeUndefined();
  });
});

describe('engine install', () => {
  it('installs node-llama-cpp and only the wanted binaries, with optional dependencies and scripts off', async () => {
    const root = temporaryDirectory();
    const npm = fakeNpm(root);
    const directory = join(root, 'engine');
    const lines: string[] = [];
    const result = await installEngine({ env: { SYNDICATE_ENGINE_DIR: directory }, npmCommand: npm.command, onProgress: (line) => lines.push(line) });
    expect(result.changed).toBe(true);
    const calls = readFileSync(npm.log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { cwd: string; args: string[] });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args).toEqual(expect.arrayContaining(['install', '--omit=optional', '--ignore-scripts', `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`]));
    // the platform's CPU package and nothing else
    const binaries = calls[0]?.args.filter((arg) => arg.startsWith('@node-llama-cpp/')) ?? [];
    expect(binaries).toEqual([`@node-llama-cpp/${binaryPackagesFor('cpu')[0] ?? ''}@${NODE_LLAMA_CPP_VERSION}`]);
    // npm ran in a scratch directory that was renamed into place
    expect(calls[0]?.cwd).not.toBe(directory);
    expect(result.installation.directory).toBe(directory);
    expect(lines.some((line) => line.startsWith('added 1 package'))).toBe(true);

    const again = await installEngine({ env: { SYNDICATE_ENGINE_DIR: directory }, npmCommand: npm.command });
    expect(again.changed).toBe(false);
    expect(readFileSync(npm.log, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it.runIf(process.platform === 'linux' && process.arch === 'x64')('adds a GPU backend in place without reinstalling the CPU build', async () => {
    const root = temporaryDirectory();
    const npm = fakeNpm(root);
    const directory = join(root, 'engine');
    fakeInstallation(directory, ['linux-x64']);
    const result = await installEngine({ backend: 'cuda', env: { SYNDICATE_ENGINE_DIR: directory }, npmCommand: npm.command });
    expect(result.packages).toEqual([`node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`, `@node-llama-cpp/linux-x64-cuda@${NODE_LLAMA_CPP_VERSION}`, `@node-llama-cpp/linux-x64-cuda-ext@${NODE_LLAMA_CPP_VERSION}`]);
    expect(result.installation.binaryPackages).toEqual(['linux-x64', 'linux-x64-cuda', 'linux-x64-cuda-ext']);
  });

  it('leaves nothing behind when npm fails, and quotes npm', async () => {
    const root = temporaryDirectory();
    const npm = fakeNpm(root);
    const directory = join(root, 'engine');
    process.env['FAKE_NPM_FAIL'] = '1';
    try {
      const attempt = installEngine({ env: { SYNDICATE_ENGINE_DIR: directory }, npmCommand: npm.command });
      await expect(attempt).rejects.toThrow(EngineInstallError);
      await expect(installEngine({ env: { SYNDICATE_ENGINE_DIR: directory }, npmCommand: npm.command })).rejects.toThrow(/exit 1\): .*E404/);
    } finally {
      delete process.env['FAKE_NPM_FAIL'];
    }
    expect(existsSync(directory)).toBe(false);
    expect(readdirSync(root).filter((name) => name.startsWith('engine'))).toEqual([]);
  });

  it('refuses to --force over a directory it did not create: nothing deleted, nothing downloaded', async () => {
    const root = temporaryDirectory();
    const npm = fakeNpm(root);
    const project = join(root, 'my-app');
    userProject(project);
    const attempt = installEngine({ force: true, env: { SYNDICATE_ENGINE_DIR: project }, npmCommand: npm.command });
    await expect(attempt).rejects.toThrow(UsageError);
    await expect(installEngine({ force: true, env: { SYNDICATE_ENGINE_DIR: project }, npmCommand: npm.command })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining(`refusing to install the engine into ${project}: it is not empty`) as unknown,
      hint: expect.stringContaining('$SYNDICATE_ENGINE_DIR') as unknown,
    });
    expect(readFileSync(join(project, 'src', 'index.js'), 'utf8')).toContain('mine');
    expect(npmCalls(npm.log)).toEqual([]);
    expect(readdirSync(root).filter((name) => name.includes('.installing-'))).toEqual([]);
  });

  it('refuses a non-empty directory without an engine before downloading (no ENOTEMPTY at rename)', async () => {
    const root = temporaryDirectory();
    const npm = fakeNpm(root);
    const project = join(root, 'my-app');
    userProject(project);
    await expect(installEngine({ env: { SYNDICATE_ENGINE_DIR: project }, npmCommand: npm.command })).rejects.toMatchObject({ exitCode: 2, code: 'usage' });
    expect(npmCalls(npm.log)).toEqual([]);

    // A project with its own node-llama-cpp is not written to either, even to add a backend.
    const withEngine = join(root, 'with-engine');
    fakeInstallation(withEngine, [], { ours: false });
    await expect(installEngine({ env: { SYNDICATE_ENGINE_DIR: withEngine }, npmCommand: npm.command })).rejects.toThrow(UsageError);
    expect(npmCalls(npm.log)).toEqual([]);

    // A file is refused too.
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    await expect(installEngine({ env: { SYNDICATE_ENGINE_DIR: file }, npmCommand: npm.command })).rejects.toThrow(/it is not a directory/);
  });

  it('installs into an empty directory, and --force replaces a directory it created', async () => {
    const root = temporaryDirectory();
    const npm = fakeNpm(root);
    const directory = join(root, 'engine');
    mkdirSync(directory);
    const first = await installEngine({ env: { SYNDICATE_ENGINE_DIR: directory }, npmCommand: npm.command });
    expect(first.changed).toBe(true);
    expect(JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8'))).toMatchObject({ name: ENGINE_PACKAGE_NAME });
    writeFileSync(join(directory, 'stale.txt'), 'left by an older install');

    const forced = await installEngine({ force: true, env: { SYNDICATE_ENGINE_DIR: directory }, npmCommand: npm.command });
    expect(forced.changed).toBe(true);
    expect(existsSync(join(directory, 'stale.txt'))).toBe(false);
    expect(forced.installation.version).toBe(NODE_LLAMA_CPP_VERSION);
    expect(npmCalls(npm.log)).toHaveLength(2);
  });

  it('reinstalls every wanted package when the engine directory holds another release', async () => {
    const root = temporaryDirectory();
    const npm = fakeNpm(root);
    const directory = join(root, 'engine');
    fakeInstallation(directory, binaryPackagesFor('cpu'), { version: '3.0.0' });
    const result = await installEngine({ env: { SYNDICATE_ENGINE_DIR: directory }, npmCommand: npm.command });
    expect(result.packages).toEqual([`node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`, ...binaryPackagesFor('cpu').map((name) => `@node-llama-cpp/${name}@${NODE_LLAMA_CPP_VERSION}`)]);
    expect(result.installation).toMatchObject({ version: NODE_LLAMA_CPP_VERSION, binaryPackages: binaryPackagesFor('cpu') });
    // updated in place: the directory is ours
    expect(npmCalls(npm.log)[0]?.cwd).toBe(directory);
  });

  it('fails with EngineInstallError, touching nothing, when the directory was filled by someone else while npm ran', async () => {
    const root = temporaryDirectory();
    const npm = fakeNpm(root);
    const directory = join(root, 'engine');
    process.env['FAKE_NPM_SQUAT'] = directory;
    try {
      await expect(installEngine({ env: { SYNDICATE_ENGINE_DIR: directory }, npmCommand: npm.command })).rejects.toMatchObject({
        code: 'engine_install_failed',
        exitCode: 1,
        hint: expect.stringContaining('$SYNDICATE_ENGINE_DIR') as unknown,
      });
    } finally {
      delete process.env['FAKE_NPM_SQUAT'];
    }
    expect(readdirSync(directory)).toEqual(['notes.txt']);
    expect(readdirSync(root).filter((name) => name.includes('.installing-'))).toEqual([]);
  });

  it('wraps a failure to move the finished install into place as EngineInstallError with a hint', async () => {
    const root = temporaryDirectory();
    const npm = fakeNpm(root);
    const directory = join(root, 'engine');
    process.env['FAKE_NPM_VANISH'] = '1';
    try {
      await expect(installEngine({ env: { SYNDICATE_ENGINE_DIR: directory }, npmCommand: npm.command })).rejects.toMatchObject({
        code: 'engine_install_failed',
        message: expect.stringContaining(`cannot move the engine into ${directory}: ENOENT`) as unknown,
        hint: expect.stringContaining('syndicate engine install') as unknown,
      });
    } finally {
      delete process.env['FAKE_NPM_VANISH'];
    }
    expect(existsSync(directory)).toBe(false);
  });

  describe('scratch directories of installs that were killed (SIGKILL, a power loss)', () => {
    /** A pid no process has now: a child that has already exited. */
    const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid;

    /** What a fresh install leaves when killed mid-download: our package.json, a partial package and, unless `installer` is null, the installer file. */
    function scratchDirectory(path: string, installer: { pid: number; host: string } | null): string {
      mkdirSync(join(path, 'node_modules', 'node-llama-cpp'), { recursive: true });
      writeFileSync(join(path, 'package.json'), JSON.stringify({ name: ENGINE_PACKAGE_NAME, private: true }));
      writeFileSync(join(path, 'node_modules', 'node-llama-cpp', 'partial.tgz'), 'half a package');
      if (installer !== null) writeFileSync(join(path, '.syndicate-installer.json'), JSON.stringify(installer));
      return path;
    }

    it('the next install removes those whose process is gone, and keeps a running install\'s', async () => {
      const root = temporaryDirectory();
      const npm = fakeNpm(root);
      const directory = join(root, 'engine');
      const dead = deadPid();
      // A process that is running, as a concurrent `engine install` would be.
      const running = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      try {
        const livePid = running.pid!;
        const killed = scratchDirectory(`${directory}.installing-${dead}`, { pid: dead, host: hostname() });
        const concurrent = scratchDirectory(`${directory}.installing-${livePid}`, { pid: livePid, host: hostname() });
        // Another host sharing the directory (a mounted volume): its pids mean nothing here.
        const otherHost = scratchDirectory(`${directory}.installing-${deadPid()}`, { pid: dead, host: `not-${hostname()}` });
        // From a syndicate that wrote no installer file: gone after an hour unchanged, kept before.
        const oldUnrecorded = scratchDirectory(`${directory}.installing-${deadPid()}`, null);
        const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
        utimesSync(oldUnrecorded, twoHoursAgo, twoHoursAgo);
        const recentUnrecorded = scratchDirectory(`${directory}.installing-${deadPid()}`, null);
        // Not ours: no installer file and not our package.json.
        const foreign = join(root, `engine.installing-${deadPid()}`);
        mkdirSync(foreign);
        writeFileSync(join(foreign, 'notes.txt'), 'mine');
        utimesSync(foreign, twoHoursAgo, twoHoursAgo);

        const result = await installEngine({ env: { SYNDICATE_ENGINE_DIR: directory }, npmCommand: npm.command });
        expect(result.changed).toBe(true);
        expect(result.removedAbandoned).toEqual([killed, oldUnrecorded].sort());
        expect([killed, oldUnrecorded].filter((path) => existsSync(path))).toEqual([]);
        for (const kept of [concurrent, otherHost, recentUnrecorded]) expect(readFileSync(join(kept, 'node_modules', 'node-llama-cpp', 'partial.tgz'), 'utf8'), kept).toBe('half a package');
        expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine');
        // The install itself left no scratch directory of its own.
        expect(readdirSync(root).filter((name) => name.includes('.installing-')).sort()).toEqual([concurrent, otherHost, recentUnrecorded, foreign].map((path) => path.slice(root.length + 1)).sort());

        // Once the concurrent install's process is gone, the next install (with nothing to download) removes its directory too.
        running.kill('SIGKILL');
        await new Promise((resolve) => running.once('exit', resolve));
        const again = await installEngine({ env: { SYNDICATE_ENGINE_DIR: directory }, npmCommand: npm.command });
        expect(again.changed).toBe(false);
        expect(again.removedAbandoned).toEqual([concurrent]);
      } finally {
        running.kill('SIGKILL');
      }
    });

    it('abandonedInstalls judges by the installer file: this host and a pid that is gone', () => {
      const root = temporaryDirectory();
      const directory = join(root, 'engine');
      const mine = scratchDirectory(`${directory}.installing-100`, { pid: 100, host: 'here' });
      scratchDirectory(`${directory}.installing-101`, { pid: 101, host: 'elsewhere' });
      // Another engine directory's scratch directory is not this one's to judge.
      scratchDirectory(`${directory}-other.installing-102`, { pid: 102, host: 'here' });
      expect(abandonedInstalls(directory, { host: 'here', isAlive: () => false })).toEqual([mine]);
      expect(abandonedInstalls(directory, { host: 'here', isAlive: () => true })).toEqual([]);
      expect(abandonedInstalls(join(root, 'missing', 'engine'))).toEqual([]);
    });
  });
});
