/**
 * syndicate as a user gets it: `npm pack` of a checkout as git holds it (no dist/), installed
 * globally into a prefix whose path has spaces, run through the bin npm links, from a directory
 * that is not the package's. One pack and one install serve every test of the file.
 */
import { execa } from 'execa';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseJsonDocument, REPO_ROOT } from '../helpers/cli.js';

interface PackedFile {
  path: string;
  mode: number;
}

const repoPackage = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

let scratch = '';
let packed: PackedFile[] = [];
let packedPackage: { scripts?: Record<string, string>; bin?: Record<string, string> } = {};
/** The global prefix, `…/a prefix with spaces`. */
let prefix = '';
let installedPackage = '';
let elsewhere = '';
let home = '';

/**
 * A copy of the installed prefix whose files are hard links to the prefix's (`cp -al`: symlinks
 * kept as they are): a test may delete from it (uninstall, a driver's build) and leave the prefix
 * whole, without writing the ~100 MB of the install again.
 */
async function linkedCopyOfPrefix(name: string): Promise<string> {
  const copy = join(scratch, name);
  await execa('cp', ['-al', prefix, copy]);
  return copy;
}

/** The installed program, by the link npm put in `<prefix>/bin`, as a user's PATH finds it. */
async function installed(args: string[], cwd = elsewhere): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const result = await execa('syndicate', args, {
    cwd,
    reject: false,
    stdin: 'ignore',
    env: { PATH: `${join(prefix, 'bin')}${delimiter}${process.env['PATH'] ?? ''}`, SYNDICATE_HOME: home, NO_COLOR: '1' },
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'syndicate-package-'));
  // The checkout as git holds it: tracked and new files, without dist/ (ignored), node_modules shared.
  const checkout = join(scratch, 'checkout');
  const listed = await execa('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT });
  for (const file of listed.stdout.split('\0')) {
    if (file === '' || !existsSync(join(REPO_ROOT, file))) continue;
    mkdirSync(dirname(join(checkout, file)), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(checkout, file));
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(checkout, 'node_modules'));
  const pack = await execa('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: checkout });
  const [report] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string; files: PackedFile[] }[];
  if (report === undefined) throw new Error(`npm pack reported nothing: ${pack.stdout}`);
  packed = report.files;
  const tarball = join(scratch, report.filename);
  const unpacked = join(scratch, 'unpacked');
  mkdirSync(unpacked);
  await execa('tar', ['-xzf', tarball, '-C', unpacked]);
  packedPackage = JSON.parse(readFileSync(join(unpacked, 'package', 'package.json'), 'utf8')) as typeof packedPackage;

  prefix = join(scratch, 'a prefix with spaces');
  // Install scripts skipped: better-sqlite3's build (minutes) is reused from this checkout's
  // node_modules when the versions agree, else run as npm would run it.
  await execa('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: scratch });
  installedPackage = join(prefix, 'lib', 'node_modules', repoPackage.name);
  const driver = (root: string): string => join(root, 'node_modules', 'better-sqlite3');
  const version = (root: string): string => (JSON.parse(readFileSync(join(driver(root), 'package.json'), 'utf8')) as { version: string }).version;
  if (version(installedPackage) === version(REPO_ROOT)) cpSync(join(driver(REPO_ROOT), 'build'), join(driver(installedPackage), 'build'), { recursive: true });
  else await execa('npm', ['rebuild', '--global', '--prefix', prefix, 'better-sqlite3'], { cwd: scratch });

  elsewhere = join(scratch, 'some project');
  home = join(scratch, 'data home');
  mkdirSync(elsewhere);
}, 600_000);

afterAll(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

describe('the package tarball', () => {
  const paths = (): string[] => packed.map((file) => file.path);

  it('holds what the installed program reads at run time', () => {
    expect(paths()).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'bin/syndicate.js',
        'dist/cli/main.js',
        'dist/store/migrations/001-registry.js',
        'schemas/provider.v1.schema.json',
        'schemas/policy.v1.schema.json',
        // The validators `prepack` generates from the schemas (scripts/compile-schemas.mjs): every policy and record is checked by them.
        'dist/validation/generated/provider.v1.cjs',
        'dist/validation/generated/policy.v1.cjs',
        'providers/catalog/ollama.yaml',
        'providers/examples/ollama-local.yaml',
      ]),
    );
    // The bin is the shell launcher, executable.
    expect((packed.find((file) => file.path === 'bin/syndicate.js')?.mode ?? 0) & 0o111).toBe(0o111);
    for (const target of Object.values(packedPackage.bin ?? {})) expect(paths()).toContain(target.replace(/^\.\//, ''));
  });

  it('holds no tests, fixtures, sources, scripts, benches or source maps (whose sources it does not ship)', () => {
    const unwanted = paths().filter((path) => /^(test|src|scripts|bench|\.ci|scratch|coverage)\//.test(path) || path.endsWith('.map') || path.endsWith('.ts'));
    expect(unwanted).toEqual([]);
    const main = readFileSync(join(scratch, 'unpacked', 'package', 'dist', 'cli', 'main.js'), 'utf8');
    expect(main).not.toContain('sourceMappingURL');
  });

  it('installs without building anything of its own: no install-time scripts', () => {
    const scripts = packedPackage.scripts ?? {};
    for (const name of ['preinstall', 'install', 'postinstall', 'prepare']) expect(scripts[name], name).toBeUndefined();
  });
});

describe('the installed program, run from another directory', () => {
  it('--version is the package version, through the link npm made and through a second symlink', async () => {
    expect((await installed(['--version'])).stdout).toBe(repoPackage.version);
    const links = join(scratch, 'my bin');
    mkdirSync(links);
    symlinkSync(join(prefix, 'bin', 'syndicate'), join(links, 'syn'));
    const result = await execa(join(links, 'syn'), ['--version', '--json'], { cwd: elsewhere });
    expect(JSON.parse(result.stdout)).toEqual({ ok: true, version: repoPackage.version });
  });

  it('init, doctor, the catalog, the shipped examples and the schemas work from the installed files', async () => {
    expect((await installed(['init'])).exitCode).toBe(0);
    const doctor = await installed(['doctor', '--json']);
    const checks = parseJsonDocument(doctor.stdout).checks as { name: string; status: string; detail: string }[];
    expect(checks.find((check) => check.name === 'store')).toMatchObject({ status: 'pass' });
    expect(checks.find((check) => check.name === 'policy file')).toMatchObject({ status: 'pass' });

    const catalog = parseJsonDocument((await installed(['provider', 'add', '--list', '--json'])).stdout);
    expect((catalog.catalog as { name: string }[]).map((entry) => entry.name)).toContain('anthropic');
    const examples = catalog.examples as string;
    expect(examples.startsWith(installedPackage)).toBe(true);
    const registered = await installed(['provider', 'register', join(examples, 'ollama-local.yaml'), '--json']);
    expect(registered.exitCode, registered.stderr).toBe(0);
    expect((await installed(['provider', 'add', 'anthropic'])).exitCode).toBe(0);
    expect((await installed(['classify', 'password: hunter2'])).stdout).toBe('restricted');
  });

  it('prints a bash completion script that completes in bash', async () => {
    const script = 'source <(syndicate completion bash); COMP_WORDS=(syndicate prov); COMP_CWORD=1; _syndicate; printf "%s\\n" "${COMPREPLY[@]}"';
    const result = await execa('bash', ['--norc', '--noprofile', '-c', script], {
      cwd: elsewhere,
      env: { PATH: `${join(prefix, 'bin')}${delimiter}${process.env['PATH'] ?? ''}` },
    });
    expect(result.stdout.split('\n')).toContain('provider');
  });
});

describe('an install whose SQLite driver was not built (install scripts skipped)', () => {
  it('says so and how to rebuild it, not to check the store’s permissions', async () => {
    const copy = await linkedCopyOfPrefix('unbuilt prefix');
    rmSync(join(copy, 'lib', 'node_modules', repoPackage.name, 'node_modules', 'better-sqlite3', 'build'), { recursive: true });
    const unbuiltHome = join(scratch, 'unbuilt home');
    const result = await execa(join(copy, 'bin', 'syndicate'), ['init'], { cwd: elsewhere, reject: false, env: { SYNDICATE_HOME: unbuiltHome, NO_COLOR: '1' } });
    expect(result.exitCode).toBe(6);
    expect(result.stderr).toContain("the SQLite driver (better-sqlite3's native module) is not built: Could not locate the bindings file");
    expect(result.stderr).toContain(`npm rebuild better-sqlite3`);
    expect(result.stderr).toContain(join(copy, 'lib', 'node_modules', repoPackage.name));
    expect(result.stderr).not.toContain('check the file permissions');
    // init created nothing it could not finish.
    expect(existsSync(join(unbuiltHome, 'syndicate.db'))).toBe(false);
  });
});

describe('uninstall', () => {
  it('leaves nothing of syndicate in the prefix, and the data directory as it was', async () => {
    expect((await installed(['init'])).exitCode).toBe(0);
    // On a copy of the prefix, so that the other tests keep theirs in any order.
    const copy = await linkedCopyOfPrefix('uninstalled prefix');
    await execa('npm', ['uninstall', '--global', '--prefix', copy, repoPackage.name], { cwd: scratch });
    expect(readdirSync(join(copy, 'bin'))).toEqual([]);
    expect(readdirSync(join(copy, 'lib', 'node_modules'))).toEqual([]);
    expect(existsSync(join(home, 'syndicate.db'))).toBe(true);
  });
});
