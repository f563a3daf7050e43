import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';

/** Flags that contradict each other are refused together (exit 2, naming both), never settled by "the last one wins". */
describe('contradictory flags', () => {
  let cleanup: () => void = () => {};
  afterEach(() => cleanup());

  /** A home that does not exist: a refused line must stop before anything reads or creates it. */
  function missingHome(): string {
    const temporary = makeTempHome();
    cleanup = temporary.cleanup;
    return join(temporary.home, 'never-created');
  }

  it('run --stream --no-stream, in either order, is a usage error naming both, human and --json', async () => {
    const home = missingHome();
    for (const flags of [['--stream', '--no-stream'], ['--no-stream', '--stream']]) {
      const human = await runCli(['--home', home, 'run', 'hi', ...flags]);
      expect(human.exitCode, flags.join(' ')).toBe(2);
      expect(human.stdout).toBe('');
      expect(human.stderr).toContain("error: option '--stream' cannot be used with option '--no-stream'");
      expect(human.stderr).toContain('hint: give one of the two; `syndicate run --help` says what each does');
      const json = await runCli(['--home', home, '--json', 'run', 'hi', ...flags]);
      expect(json.exitCode).toBe(2);
      expect(parseJsonDocument(json.stdout)).toMatchObject({
        ok: false,
        error: { code: 'usage', message: "option '--stream' cannot be used with option '--no-stream'", hint: 'give one of the two; `syndicate run --help` says what each does' },
      });
    }
    // Either one alone goes on (and stops at the missing store); --help still answers.
    expect((await runCli(['--home', home, 'run', 'hi', '--no-stream'])).exitCode).toBe(6);
    expect((await runCli(['run', '--stream', '--no-stream', '--help'])).exitCode).toBe(0);
    expect(existsSync(home)).toBe(false);
  });

  it('serve --print-token and --rotate-token exclude each other and the options of a gateway that serves', async () => {
    const home = missingHome();
    const cases: { args: string[]; named: string }[] = [
      { args: ['--print-token', '--rotate-token'], named: "option '--print-token' cannot be used with option '--rotate-token'" },
      { args: ['--rotate-token', '--start-engines'], named: "option '--rotate-token' cannot be used with option '--start-engines'" },
      { args: ['--print-token', '--access-log'], named: "option '--print-token' cannot be used with option '--access-log'" },
      { args: ['--cors-origin', 'http://localhost:3000', '--print-token'], named: "option '--print-token' cannot be used with option '--cors-origin <origin...>'" },
    ];
    for (const { args, named } of cases) {
      const result = await runCli(['--home', home, 'serve', ...args]);
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(`error: ${named}`);
      expect(result.stderr).toContain('hint: give one of the two; `syndicate serve --help` says what each does');
    }
    expect(existsSync(home)).toBe(false);
  });

  it('provider add --list refuses a catalog name, --id or --base-url beside it', async () => {
    const home = missingHome();
    const named = await runCli(['provider', 'add', 'ollama', '--list'], { home });
    expect(named.exitCode).toBe(2);
    expect(named.stderr).toContain('error: give a catalog name or --list, not both');
    expect(named.stderr).toContain('hint: `syndicate provider add --list` prints the catalog; `syndicate provider add NAME` registers one entry');
    for (const [flag, value] of [['--id', 'my-ollama'], ['--base-url', 'http://127.0.0.1:11434/v1']] as const) {
      const result = await runCli(['--home', home, 'provider', 'add', '--list', flag, value]);
      expect(result.exitCode, flag).toBe(2);
      expect(result.stderr).toContain(`error: option '--list' cannot be used with option '${flag} <`);
    }
    expect(existsSync(home)).toBe(false);
  });
});
