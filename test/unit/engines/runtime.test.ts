import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { UsageError } from '../../../src/errors.js';
import {
  binaryPackagesFor,
  engineDirectory,
  EngineInstallError,
  EngineNotInstalledError,
  findEngine,
  importNodeLlamaCpp,
  installEngine,
  NODE_LLAMA_CPP_VERSION,
} from '../../../src/engines/runtime.js';

function temporaryDirectory(): string {
  return mkdtempSync(join(tmpdir(), 'syndicate-engine-'));
}

/** Lays out what `npm install node-llama-cpp @node-llama-cpp/<binaries>` leaves behind, with a loadable entry. */
function fakeInstallation(directory: string, binaries: string[], version = NODE_LLAMA_CPP_VERSION): void {
  const packageDirectory = join(directory, 'node_modules', 'node-llama-cpp');
  mkdirSync(join(packageDirectory, 'dist'), { recursive: true });
  const optionalDependencies = Object.fromEntries(['linux-x64', 'linux-x64-cuda', 'linux-x64-cuda-ext', 'linux-x64-vulkan', 'mac-arm64-metal'].map((name) => [`@node-llama-cpp/${name}`, version]));
  writeFileSync(join(packageDirectory, 'package.json'), JSON.stringify({ name: 'node-llama-cpp', version, type: 'module', optionalDependencies }));
  writeFileSync(join(packageDirectory, 'dist', 'index.js'), 'export async function getLlama(options) { return { gpu: false, options }; }\n');
  for (const binary of binaries) {
    mkdirSync(join(directory, 'node_modules', '@node-llama-cpp', binary), { recursive: true });
    writeFileSync(join(directory, 'node_modules', '@node-llama-cpp', binary, 'package.json'), '{}');
  }
}

/**
 * A stand-in for npm: records its arguments and lays out the packages it was asked for, or fails
 * like npm does (stderr + exit 1) when FAKE_NPM_FAIL is set.
 */
function fakeNpm(directory: string): { command: string; log: string } {
  const log = join(directory, 'npm-calls.log');
  const command = join(directory, 'fake-npm.mjs');
  writeFileSync(
    command,
    `#!/usr/bin/env node
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const args = process.argv.slice(2);
appendFileSync(${JSON.stringify(log)}, JSON.stringify({ cwd: process.cwd(), args }) + '\\n');
if (process.env.FAKE_NPM_FAIL) { console.error('npm error code E404'); console.error('npm error 404 Not Found'); process.exit(1); }
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
});
