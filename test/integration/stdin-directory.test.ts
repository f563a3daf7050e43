import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, parseJsonDocument } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/prepared-home.js';

/**
 * A batch script's `syndicate run - < "$f"` where `$f` turned out to be a directory (`find docs`
 * without `-type f`): the shell opens a directory for reading without complaint, and reading it
 * gave no bytes, so `run` said "the prompt is empty" (exit 2) and `classify -` classified nothing.
 * Stdin that is a directory is refused as a named directory is: exit 3, `cannot read <stdin>: is a
 * directory`.
 */
describe('stdin redirected from a directory', () => {
  let home: string;
  let cleanup: () => void = () => {};
  let directory: string;
  beforeAll(async () => {
    ({ home, cleanup } = await initialisedHome());
    directory = join(home, 'docs');
    mkdirSync(directory);
  });
  afterAll(() => cleanup());

  async function withDirectoryOnStdin(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const descriptor = openSync(directory, 'r');
    try {
      // execa passes any descriptor on; its types name only 0 and 3-9.
      const result = await execa('node', [BIN, ...args], { reject: false, stdin: descriptor as 3, env: { SYNDICATE_HOME: home, FORCE_COLOR: '0', NO_COLOR: '1' }, timeout: 60_000 });
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    } finally {
      closeSync(descriptor);
    }
  }

  it('is an input that cannot be read, exit 3, for run, route and classify alike', { timeout: 90_000 }, async () => {
    for (const args of [['run', '-'], ['route', '-'], ['classify', '-'], ['classify', '--file', '-']]) {
      const result = await withDirectoryOnStdin(args);
      expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(3);
      expect(result.stderr).toBe('error: cannot read <stdin>: is a directory\nhint: stdin is a directory: redirect a file into it (`< FILE`), not a directory');
      expect(result.stdout).toBe('');
    }
  });

  it('gives one JSON document with --json', { timeout: 90_000 }, async () => {
    const result = await withDirectoryOnStdin(['run', '-', '--json']);
    expect(result.exitCode, result.stderr).toBe(3);
    expect(parseJsonDocument(result.stdout)).toEqual({
      ok: false,
      error: {
        code: 'invalid_input',
        message: 'cannot read <stdin>: is a directory',
        hint: 'stdin is a directory: redirect a file into it (`< FILE`), not a directory',
        details: { file: '<stdin>', reason: 'is a directory', problems: [] },
      },
    });
  });
});
