import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';

/**
 * Every command that reads a file the operator names refuses one it cannot read the same way:
 * exit 3 (an input file that cannot be used), `cannot read PATH: REASON`, and a hint for the reason.
 */
describe('input files that cannot be read', () => {
  let cleanup: () => void = () => {};
  afterEach(() => cleanup());

  function home(): string {
    const temporary = makeTempHome();
    cleanup = temporary.cleanup;
    return temporary.home;
  }

  const commandsReading = (path: string): string[][] => [
    ['policy', 'check', path],
    ['provider', 'register', path],
    ['classify', '--file', path],
    ['engine', 'serve', '--model', path, '--port', '0'],
  ];

  it('a missing file: one error, exit 3, with the same hint, human and --json', async () => {
    const directory = home();
    const missing = join(directory, 'no such dir', 'missing.yaml');
    for (const args of commandsReading(missing)) {
      const human = await runCli(args, { home: directory });
      expect(human.exitCode, args.join(' ')).toBe(3);
      expect(human.stdout).toBe('');
      expect(human.stderr, args.join(' ')).toBe(`error: cannot read ${missing}: no such file\nhint: check the path; a relative one is read from the current directory`);
      const json = await runCli(['--json', ...args], { home: directory });
      expect(json.exitCode).toBe(3);
      expect(parseJsonDocument(json.stdout)).toEqual({
        ok: false,
        error: {
          code: 'invalid_input',
          message: `cannot read ${missing}: no such file`,
          hint: 'check the path; a relative one is read from the current directory',
          details: { file: missing, reason: 'no such file', problems: [] },
        },
      });
    }
  });

  it('a directory, and a file this user may not read, say so with a hint of their own', async () => {
    const directory = home();
    const folder = join(directory, 'a folder');
    mkdirSync(folder);
    for (const args of commandsReading(folder).slice(0, 3)) {
      const result = await runCli(args, { home: directory });
      expect(result.exitCode, args.join(' ')).toBe(3);
      expect(result.stderr).toBe(`error: cannot read ${folder}: is a directory\nhint: name a file, not a directory`);
    }
    if (process.getuid?.() === 0) return; // root reads any file
    const locked = join(directory, 'my policy.yaml');
    writeFileSync(locked, 'apiVersion: syndicate/v1\nkind: Policy\n');
    chmodSync(locked, 0o000);
    for (const args of commandsReading(locked)) {
      const result = await runCli(args, { home: directory });
      expect(result.exitCode, args.join(' ')).toBe(3);
      expect(result.stderr).toBe(`error: cannot read ${locked}: permission denied\nhint: let this user read it: \`ls -l '${locked}'\` shows its owner and mode`);
    }
  });
});
