/**
 * `syndicate completion <shell>`: a static script built from commander's tree, completing
 * commands, subcommands, options and option choices in the real shells.
 */
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, makeTempHome, parseJsonDocument, REPO_ROOT, runCli } from '../helpers/cli.js';

function installed(shell: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${shell}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const scripts: Record<'bash' | 'zsh' | 'fish', string> = { bash: '', zsh: '', fish: '' };
let directory = '';
let cleanup: () => void = () => {};

beforeAll(async () => {
  ({ home: directory, cleanup } = makeTempHome('syndicate-completion-'));
  for (const shell of ['bash', 'zsh', 'fish'] as const) {
    const result = await runCli(['completion', shell]);
    expect(result.exitCode, result.stderr).toBe(0);
    scripts[shell] = result.stdout;
    writeFileSync(join(directory, `syndicate.${shell}`), result.stdout);
  }
});
afterAll(() => cleanup());

/** What the bash script offers for a command line whose last word is being completed. */
async function bashCompletes(...words: string[]): Promise<string[]> {
  const script = 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _syndicate; printf "%s\\n" "${COMPREPLY[@]}"';
  const { stdout } = await execa('bash', ['--norc', '--noprofile', '-c', script, 'bash', join(directory, 'syndicate.bash'), ...words]);
  return stdout.split('\n').filter((line) => line !== '').sort();
}

describe('syndicate completion', () => {
  it('bash: completes commands, subcommands, options after program options, and option choices', async () => {
    expect(await bashCompletes('syndicate', 'prov')).toEqual(['provider']);
    expect(await bashCompletes('syndicate', 'provider', 're')).toEqual(['register', 'release', 'remove']);
    // `--home DIR` before the command: DIR is the option's value, not a command word.
    expect(await bashCompletes('syndicate', '--home', 'provider', 'provider', 're')).toEqual(['register', 'release', 'remove']);
    expect(await bashCompletes('syndicate', 'provider', 'show', 'ollama', '--v')).toEqual(['--version']);
    expect(await bashCompletes('syndicate', 'evidence', 'export', '--format', '')).toEqual(['jsonl']);
    // evidence list's fixed sets were checked in its action alone: nothing was offered for them.
    expect(await bashCompletes('syndicate', 'evidence', 'list', '--state', '')).toEqual(['completed', 'denied', 'failed', 'interrupted', 'pending']);
    expect(await bashCompletes('syndicate', 'evidence', 'list', '--class', '')).toEqual(['approved_hosted', 'hosted', 'local', 'restricted_hosted']);
    expect(await bashCompletes('syndicate', 'evidence', 'list', '--sensitivity', 'c')).toEqual(['confidential']);
    expect(await bashCompletes('syndicate', 'completion', 'z')).toEqual([]);
    // The program's --version (it was not offered), before a command only: after one it is that command's own flag or none.
    expect(await bashCompletes('syndicate', '--vers')).toEqual(['--version']);
    expect(await bashCompletes('syndicate', 'run', '--vers')).toEqual([]);
    expect(scripts.bash).toContain('complete -o default -F _syndicate syndicate');
  });

  it.skipIf(!installed('zsh'))('zsh: the script parses (zsh -n) and completes a subcommand (skipped when zsh is not installed)', async () => {
    await execa('zsh', ['-n', join(directory, 'syndicate.zsh')]);
    // The completion system's functions stubbed: what the script hands them is what zsh would offer.
    const harness = `
      compdef() { :; }
      _describe() { local -a entries; entries=("\${(@P)4}"); print -rl -- "\${entries[@]%%:*}"; }
      compadd() { shift; print -rl -- "$@"; }
      _files() { print -r -- '(files)'; }
      source "$1"; shift
      words=("$@"); CURRENT=$#; _syndicate`;
    const offered = async (...words: string[]) =>
      (await execa('zsh', ['-f', '-c', harness, 'zsh', join(directory, 'syndicate.zsh'), ...words])).stdout.split('\n');
    expect(await offered('syndicate', 'provider', 're')).toEqual(expect.arrayContaining(['register', 'release', 'remove']));
    expect(await offered('syndicate', 'evidence', 'export', '--format', '')).toEqual(['jsonl']);
    expect(await offered('syndicate', 'provider', 'register', '')).toEqual(['(files)']);
  });

  it.skipIf(!installed('fish'))('fish: the script parses (fish -n) and completes a subcommand (skipped when fish is not installed)', async () => {
    await execa('fish', ['-n', join(directory, 'syndicate.fish')]);
    const { stdout } = await execa('fish', ['--no-config', '-c', 'source $argv[1]; complete -C "syndicate provider re"', join(directory, 'syndicate.fish')]);
    expect(stdout.split('\n').map((line) => line.split('\t')[0]).sort()).toEqual(['register', 'release', 'remove']);
  });

  it.skipIf(!installed('fish'))('fish: after `--` offers file names only, as bash and zsh do (skipped when fish is not installed)', async () => {
    const files = join(directory, 'files');
    mkdirSync(files);
    writeFileSync(join(files, 'provider-notes.txt'), '');
    writeFileSync(join(files, '--help-notes.txt'), '');
    const offered = async (line: string): Promise<string[]> => {
      const { stdout } = await execa('fish', ['--no-config', '-c', 'source $argv[1]; complete -C $argv[2]', join(directory, 'syndicate.fish'), line], { cwd: files });
      return stdout.split('\n').filter((entry) => entry !== '').map((entry) => entry.split('\t')[0] as string).sort();
    };
    expect(await offered('syndicate provider ')).toContain('register');
    expect(await offered('syndicate provider -- ')).toEqual(['--help-notes.txt', 'provider-notes.txt']);
    expect(await offered('syndicate -- pro')).toEqual(['provider-notes.txt']);
    expect(await offered('syndicate evidence export -- --')).toEqual(['--help-notes.txt']);
  });

  it('--json prints the script in one document; an unknown shell is a usage error', async () => {
    const [json, unknown] = await Promise.all([runCli(['completion', 'bash', '--json']), runCli(['completion', 'tcsh'])]);
    expect(json.exitCode).toBe(0);
    expect(parseJsonDocument(json.stdout)).toEqual({ ok: true, shell: 'bash', script: `${scripts.bash}\n` });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('bash, zsh, fish');
  });

  it('the install commands of `completion --help` and the README work as typed for a user whose directories do not exist yet', async () => {
    const help = await runCli(['completion', '--help']);
    const helpLines = help.stdout.split('\n').flatMap((line) => /^ {2}\w+ +\$ (.*)$/.exec(line)?.[1] ?? []);
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const block = /Install it once:\n\n```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const readmeLines = block.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(helpLines).toHaveLength(3);
    expect(readmeLines.length).toBeGreaterThanOrEqual(3);
    for (const lines of [helpLines, readmeLines]) {
      // A new user: a home where no shell made its completion directories, `syndicate` on PATH.
      const { home: user, cleanup: removeUser } = makeTempHome('syndicate-completion-user-');
      try {
        mkdirSync(join(user, 'bin'));
        symlinkSync(BIN, join(user, 'bin', 'syndicate'));
        const result = await execa('sh', ['-ec', lines.join('\n')], { reject: false, env: { HOME: user, PATH: `${join(user, 'bin')}${delimiter}${process.env['PATH'] ?? ''}` } });
        expect(result.stderr, lines.join('\n')).toBe('');
        expect(result.exitCode).toBe(0);
        for (const file of ['.local/share/bash-completion/completions/syndicate', '.zfunc/_syndicate', '.config/fish/completions/syndicate.fish']) {
          expect(readFileSync(join(user, file), 'utf8'), file).toContain('completion for syndicate');
        }
      } finally {
        removeUser();
      }
    }
  });
});
