import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/prepared-home.js';

// Several `doctor` runs a test: seconds each on a busy machine. (They no longer load the embedded engine
// ~/.cache holds: test/helpers/process-environment.ts points $SYNDICATE_ENGINE_DIR at nothing.)
const DOCTOR_TEST_TIMEOUT_MS = 120_000;

describe('CLI basics', () => {
  let cleanup: () => void = () => {};
  afterEach(() => cleanup());

  it('prints the version and exits 0', async () => {
    const result = await runCli(['--version']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('the root help lists -V, --version under Options, beside --help (it stood alone after the commands)', async () => {
    const result = await runCli(['--help']);
    expect(result.exitCode).toBe(0);
    const options = result.stdout.slice(result.stdout.indexOf('Options:'), result.stdout.indexOf('Commands:'));
    expect(options).toMatch(/^ {2}-h, --help +display help for command\n {2}-V, --version +print the version/m);
    expect(result.stdout.split('-V, --version')).toHaveLength(2);
  });

  // An unknown command (exit 2, a JSON error document under --json) is the first case.
  it('--json prints an error once, as the document on stdout: nothing on stderr, the exit code unchanged', async () => {
    const temporary = makeTempHome();
    cleanup = temporary.cleanup;
    const policy = join(temporary.home, 'policy.yaml');
    writeFileSync(policy, 'apiVersion: syndicate/v1\nkind: Policy\nsensitivity:\n  public: [everywhere]\n');
    const cases: { args: string[]; exitCode: number; code: string; said?: string }[] = [
      { args: ['frobnicate'], exitCode: 2, code: 'usage', said: "unknown command 'frobnicate'" },
      { args: ['policy', 'check', policy], exitCode: 3, code: 'invalid_input' },
      { args: ['--home', join(temporary.home, 'typo'), 'evidence', 'list'], exitCode: 6, code: 'store_failure' },
    ];
    // Independent of each other: run at once.
    await Promise.all(
      cases.map(async ({ args, exitCode, code, said }) => {
        const [human, json] = await Promise.all([runCli(args), runCli(['--json', ...args])]);
        expect(human.exitCode, args.join(' ')).toBe(exitCode);
        expect(human.stdout, args.join(' ')).toBe('');
        expect(human.stderr, args.join(' ')).toMatch(/^error: /);
        if (said !== undefined) expect(human.stderr, args.join(' ')).toContain(said);
        expect(json.exitCode, args.join(' ')).toBe(exitCode);
        expect(parseJsonDocument(json.stdout), args.join(' ')).toMatchObject({ ok: false, error: { code, message: expect.any(String), hint: expect.any(String) } });
        expect(json.stderr, args.join(' ')).toBe('');
      }),
    );
  });

  it('commands that only read, run, and those that need a registered provider refuse a home with no store (exit 6, run init) and leave nothing behind', async () => {
    const temporary = makeTempHome();
    cleanup = temporary.cleanup;
    const missing = join(temporary.home, 'typo');
    // `provider remove`, `test` and `capabilities` used to create the directory and a store there, then fail
    // (exit 2, unknown provider; exit 6, no permit key), leaving a home without key or policy behind.
    const needProvider = [['provider', 'remove', 'ollama-local'], ['provider', 'test', 'ollama-local'], ['provider', 'capabilities', 'ollama-local', '--no-update']];
    // All at once: a command that created the directory fails the check after all of them, and
    // each result still says which command printed what.
    const commands = [['evidence', 'list'], ['evidence', 'verify'], ['metrics'], ['provider', 'list'], ['run', 'hello'], ...needProvider];
    const results = await Promise.all(commands.map((args) => runCli(['--home', missing, '--json', ...args])));
    for (const [index, result] of results.entries()) {
      const args = commands[index]!;
      expect(result.exitCode, args.join(' ')).toBe(6);
      // A bare `syndicate init` would create the default home, not this one.
      expect(parseJsonDocument(result.stdout), args.join(' ')).toMatchObject({
        ok: false,
        error: { message: `no store at ${join(missing, 'syndicate.db')}`, hint: `check the --home path; to create a home there, run \`syndicate init --home ${missing}\`` },
      });
    }
    expect(existsSync(missing)).toBe(false);
  });

  it('an empty --home (an unset variable in a script) is a usage error, not a silent fall-back to the default home', async () => {
    const result = await runCli(['--home=', '--json', 'evidence', 'list']);
    expect(result.exitCode).toBe(2);
    expect(parseJsonDocument(result.stdout)).toMatchObject({ ok: false, error: { code: 'usage', message: '--home must name a directory, got an empty value' } });
  });

  it('run --provider id:model beside a different --model is a usage error naming both, not a silent choice', async () => {
    const { home, cleanup } = makeTempHome();
    try {
      const conflict = await runCli(['run', 'hi', '--provider', 'ollama:llama3.2', '--model', 'qwen3'], { home });
      expect(conflict.exitCode).toBe(2);
      expect(conflict.stderr).toContain('--provider ollama:llama3.2 names the model llama3.2 and --model names qwen3');
      expect(conflict.stderr).toContain('give the model once: --provider ollama --model qwen3, or --provider ollama:llama3.2 alone');
      // The same model twice is no conflict: the command goes on (and stops at the missing store).
      expect((await runCli(['run', 'hi', '--provider', 'ollama:llama3.2', '--model', 'llama3.2'], { home })).exitCode).toBe(6);
    } finally {
      cleanup();
    }
  });

  it('a literal --json after `--`, or as the value of --home, is not the flag: errors stay human', async () => {
    const temporary = makeTempHome();
    cleanup = temporary.cleanup;
    const missing = join(temporary.home, 'typo');
    // The prompt is the word `--json`; the store is missing, so run fails (6) before any call.
    const [prompt, home, json] = await Promise.all([
      runCli(['--home', missing, 'run', '--', '--json']),
      runCli(['--home', '--json', 'evidence', 'list'], { cwd: temporary.home }),
      runCli(['--home', missing, 'run', '--system', 'be brief', '--json', '--', '--json']),
    ]);
    expect(prompt.exitCode).toBe(6);
    expect(prompt.stdout).toBe('');
    expect(prompt.stderr).toMatch(/^error: no store at /);
    // `--json` names the data directory, which holds no store.
    expect(home.exitCode).toBe(6);
    expect(home.stdout).toBe('');
    expect(home.stderr).toMatch(/^error: no store at .*--json/);
    // The flag itself still counts before `--`, wherever it stands.
    expect(json.exitCode).toBe(6);
    expect(parseJsonDocument(json.stdout)).toMatchObject({ ok: false, error: { code: 'store_failure' } });
    expect(existsSync(missing)).toBe(false);
  });

  it("a bad flag or argument hints at the help of the command it was given to, past global options' values", async () => {
    const [flag, argument, unknown] = await Promise.all([runCli(['--home', '/nonexistent/home', 'evidence', 'list', '--bogus']), runCli(['--json', 'provider', 'show']), runCli(['evidnce'])]);
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr).toContain("error: unknown option '--bogus'");
    expect(flag.stderr).toContain('hint: run `syndicate evidence list --help`');
    expect(argument.exitCode).toBe(2);
    expect(parseJsonDocument(argument.stdout)).toMatchObject({ ok: false, error: { code: 'usage', hint: 'run `syndicate provider show --help`' } });
    // No known command named: the program's own help.
    expect(unknown.stderr).toContain('hint: run `syndicate --help`');
  });

  it('a prompt held in a variable that begins with `-` (`syndicate run "$LINE"` of a bullet line) is a usage error whose hint says to put `--` before it (it said only to read --help)', async () => {
    const [bullet, json, separated] = await Promise.all([
      runCli(['run', '- fix the flaky build']),
      runCli(['--json', 'classify', '-v is verbose?']),
      runCli(['route', '--', '- fix the flaky build']),
    ]);
    expect(bullet.exitCode).toBe(2);
    expect(bullet.stderr).toBe(
      "error: unknown option '- fix the flaky build'\n" +
        'hint: text that begins with `-` is read as an option: put `--` before it (`syndicate run -- "$TEXT"`), or pipe it on stdin; `syndicate run --help` lists the options',
    );
    expect(parseJsonDocument(json.stdout)).toMatchObject({ ok: false, error: { code: 'usage', hint: expect.stringContaining('`syndicate classify -- "$TEXT"`') } });
    // After `--` it is the prompt (no home here: the store's absence is the next thing reported).
    expect(separated.stderr).not.toContain('unknown option');
  });

  it('`help <command …>` shows the help of the whole path it names, and a word that names no command is an unknown command (exit 2)', async () => {
    const [nested, nestedFlag, deep, misspelt, inGroup, unknownNested] = await Promise.all([
      runCli(['help', 'provider', 'show']),
      runCli(['provider', 'show', '--help']),
      runCli(['--json', 'help', 'evidence', 'list']),
      runCli(['help', 'evidnce']),
      runCli(['--json', 'provider', 'help', 'sho']),
      runCli(['help', 'provider', 'nosuch']),
    ]);
    // It showed `provider`'s help: commander's help command read only its first word.
    expect(nested.exitCode).toBe(0);
    expect(nested.stdout).toBe(nestedFlag.stdout);
    expect(nested.stdout).toMatch(/^Usage: syndicate provider show \[options\] <id>/);
    expect(deep.exitCode).toBe(0);
    expect(parseJsonDocument(deep.stdout)).toMatchObject({ ok: true, command: { path: 'syndicate evidence list' } });
    // It printed the root help and "missing subcommand: pick one of the commands listed above".
    expect(misspelt.exitCode).toBe(2);
    expect(misspelt.stdout).toBe('');
    expect(misspelt.stderr).toBe("error: unknown command 'evidnce'\n(Did you mean evidence?)\nhint: run `syndicate --help`");
    expect(inGroup.exitCode).toBe(2);
    expect(parseJsonDocument(inGroup.stdout)).toEqual({
      ok: false,
      error: { code: 'usage', message: "unknown command 'sho'\n(Did you mean show?)", hint: 'run `syndicate provider --help`' },
    });
    // It showed `provider`'s help and exited 0.
    expect(unknownNested.exitCode).toBe(2);
    expect(unknownNested.stderr).toBe("error: unknown command 'nosuch'\nhint: run `syndicate provider --help`");
  });

  it('a command group without its subcommand shows its help and a plain usage error, not commander internals', async () => {
    const [human, json] = await Promise.all([runCli(['evidence']), runCli(['--json', 'provider'])]);
    expect(human.exitCode).toBe(2);
    expect(human.stderr).toContain('Usage: syndicate evidence');
    expect(human.stderr).toContain('missing subcommand');
    expect(human.stderr).not.toContain('outputHelp');
    expect(json.exitCode).toBe(2);
    const document = parseJsonDocument(json.stdout);
    expect(document).toMatchObject({ ok: false, error: { code: 'usage' } });
    expect(JSON.stringify(document)).not.toContain('outputHelp');
  });

  it('init creates the store, policy, key and token with private modes, and is idempotent', async () => {
    const temporary = makeTempHome();
    cleanup = temporary.cleanup;
    const first = await runCli(['init', '--json'], { home: temporary.home });
    expect(first.exitCode).toBe(0);
    const created = parseJsonDocument(first.stdout).created as string[];
    expect(created).toHaveLength(4);
    for (const name of ['syndicate.db', 'permit.key', 'gateway.token', 'policy.yaml']) {
      const path = join(temporary.home, name);
      expect(existsSync(path)).toBe(true);
      expect(statSync(path).mode & 0o777).toBe(0o600);
    }
    const second = await runCli(['init', '--json'], { home: temporary.home });
    expect(second.exitCode).toBe(0);
    expect(parseJsonDocument(second.stdout)).toMatchObject({ created: [] });
  });

  it('doctor passes after init and fails (exit 1) when the key is world-readable or missing', async () => {
    const empty = makeTempHome();
    try {
      const before = await runCli(['doctor'], { home: empty.home });
      expect(before.exitCode).toBe(1);
    } finally {
      empty.cleanup();
    }
    // A home as `syndicate init` leaves it.
    const temporary = await initialisedHome();
    cleanup = temporary.cleanup;
    const healthy = await runCli(['doctor', '--json'], { home: temporary.home });
    expect(healthy.exitCode).toBe(0);
    expect(parseJsonDocument(healthy.stdout).ok).toBe(true);
    chmodSync(join(temporary.home, 'permit.key'), 0o644);
    const unhealthy = await runCli(['doctor', '--json'], { home: temporary.home });
    expect(unhealthy.exitCode).toBe(1);
    expect(parseJsonDocument(unhealthy.stdout)).toMatchObject({ ok: false, error: { code: 'check_failed' } });
    expect(parseJsonDocument(unhealthy.stdout)).toMatchObject({ error: { message: expect.stringContaining('permit key') } });
    expect(unhealthy.stderr).toBe('');
    chmodSync(join(temporary.home, 'permit.key'), 0o600);
    // A policy that does not validate is a failed check naming the first problem, not a pass for existing.
    const policyPath = join(temporary.home, 'policy.yaml');
    writeFileSync(policyPath, readFileSync(policyPath, 'utf8').replace('public: [local, approved_hosted, restricted_hosted]', 'public: [everywhere]'));
    const invalidPolicy = await runCli(['doctor'], { home: temporary.home });
    expect(invalidPolicy.exitCode).toBe(1);
    expect(invalidPolicy.stdout).toMatch(/policy file\s+FAIL\s+\S*policy\.yaml:\d+:\d+ \/sensitivity\/public\/0 must be one of/);
    expect(invalidPolicy.stderr).toContain('1 of 8 checks failed: policy file');
    expect(invalidPolicy.stderr).toContain('syndicate policy check');
  }, DOCTOR_TEST_TIMEOUT_MS);

  it('init on an existing directory group and others can write: sets up the home, leaves the mode, exits 1 naming the fix (every command would refuse the home); doctor fails on it', async () => {
    const temporary = makeTempHome();
    cleanup = temporary.cleanup;
    const shared = join(temporary.home, 'h777');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    const human = await runCli(['init'], { home: shared });
    expect(human.exitCode, human.stderr).toBe(1);
    expect(human.stdout).toContain(`created ${join(shared, 'permit.key')}`);
    expect(human.stderr).toContain('error: init kept 1 directory that cannot be used as it is: data directory');
    expect(human.stderr).toContain(`\`chmod 700 ${shared}\`; then run \`syndicate doctor\``);
    expect(human.stdout).not.toContain('syndicate is ready');
    expect(statSync(shared).mode & 0o777).toBe(0o777);
    const json = await runCli(['init', '--json'], { home: shared });
    expect(json.exitCode).toBe(1);
    expect(parseJsonDocument(json.stdout)).toMatchObject({
      ok: false,
      error: { code: 'check_failed', details: { problems: [{ name: 'data directory', kind: 'directory', path: shared, hint: `\`chmod 700 ${shared}\`` }], warnings: [] } },
    });
    const doctor = await runCli(['doctor', '--json'], { home: shared });
    expect(doctor.exitCode).toBe(1);
    expect(parseJsonDocument(doctor.stdout)).toMatchObject({ ok: false, error: { code: 'check_failed', message: '1 of 8 checks failed: data directory', hint: `\`chmod 700 ${shared}\`` } });
    chmodSync(shared, 0o700);
    expect((await runCli(['doctor'], { home: shared })).exitCode).toBe(0);
  }, DOCTOR_TEST_TIMEOUT_MS);

  it('doctor with several failed checks: the summary says how many and names each, with each one\'s hint — the same on stderr and in --json', async () => {
    const temporary = makeTempHome();
    // A home as `syndicate init` leaves it, apart from the directory `none` below.
    const initialised = await initialisedHome();
    cleanup = () => {
      initialised.cleanup();
      temporary.cleanup();
    };
    const { home } = initialised;
    const keyPath = join(home, 'permit.key');
    const policyPath = join(home, 'policy.yaml');
    chmodSync(home, 0o777);
    chmodSync(keyPath, 0o644);
    writeFileSync(policyPath, readFileSync(policyPath, 'utf8').replace('public: [local, approved_hosted, restricted_hosted]', 'public: [everywhere]'));
    const hint = [
      'for each failed check:',
      `  data directory: \`chmod 700 ${home}\``,
      `  permit key: \`chmod 600 ${keyPath}\`; if others may have read it, delete ${keyPath} and run \`syndicate init\` to create a new one`,
      `  policy file: run \`syndicate policy check ${policyPath}\` to list every problem`,
    ].join('\n');
    const human = await runCli(['doctor'], { home });
    expect(human.exitCode).toBe(1);
    expect(human.stderr).toBe(`error: 3 of 8 checks failed: data directory, permit key, policy file\nhint: ${hint}`);
    const json = await runCli(['doctor', '--json'], { home });
    expect(json.exitCode).toBe(1);
    expect(parseJsonDocument(json.stdout)).toMatchObject({ ok: false, error: { code: 'check_failed', message: '3 of 8 checks failed: data directory, permit key, policy file', hint } });
    // A home not yet initialised: five checks fail with one fix, given once.
    const fresh = await runCli(['doctor', '--json'], { home: join(temporary.home, 'none') });
    expect(parseJsonDocument(fresh.stdout)).toMatchObject({ error: { message: '5 of 7 checks failed: data directory, permit key, gateway token, policy file, store', hint: 'run `syndicate init`' } });
    chmodSync(home, 0o700);
  }, DOCTOR_TEST_TIMEOUT_MS);

  it('a store file others can read is set to 0600 by whatever opens it, which says so once: a read-only command on stderr, init and doctor as a warning (exit 0)', async () => {
    const temporary = await initialisedHome();
    cleanup = temporary.cleanup;
    const { home } = temporary;
    const store = join(home, 'syndicate.db');
    const found = `${store} had mode 0644: group or others could read the prompts and responses in it; syndicate set it to 0600`;

    chmodSync(store, 0o644);
    const list = await runCli(['evidence', 'list', '--json'], { home });
    expect(list.exitCode).toBe(0);
    expect(parseJsonDocument(list.stdout)).toMatchObject({ ok: true, evidence: [] });
    expect(list.stderr).toBe(`warning: ${found}`);
    expect(statSync(store).mode & 0o777).toBe(0o600);
    expect((await runCli(['evidence', 'list'], { home })).stderr).toBe('');

    chmodSync(store, 0o644);
    const init = await runCli(['init'], { home });
    expect(init.exitCode).toBe(0);
    expect(init.stderr).toBe(`warning: ${found}`);
    expect(init.stdout).toContain(`kept    ${store}\n`);
    expect(init.stdout).toContain(`syndicate is set up in ${home}, with 1 warning (stderr)`);
    expect(statSync(store).mode & 0o777).toBe(0o600);

    chmodSync(store, 0o644);
    const doctor = await runCli(['doctor'], { home });
    expect(doctor.exitCode, doctor.stderr).toBe(0);
    const storeLine = (stdout: string): string => stdout.split('\n').find((line) => line.startsWith('store file permissions')) ?? '';
    expect(storeLine(doctor.stdout)).toMatch(/^store file permissions\s+warn\s+/);
    expect(storeLine(doctor.stdout)).toContain(found);
    expect(statSync(store).mode & 0o777).toBe(0o600);
    expect(storeLine((await runCli(['doctor'], { home })).stdout)).toMatch(/^store file permissions\s+pass\s+0600 /);
  }, DOCTOR_TEST_TIMEOUT_MS);

  it('a -wal and -shm left with wider modes (another process holds the store open) are set to 0600 too, each said once; doctor checks them like the store', async () => {
    const temporary = await initialisedHome();
    cleanup = temporary.cleanup;
    const { home } = temporary;
    const store = join(home, 'syndicate.db');
    const [wal, shm] = [`${store}-wal`, `${store}-shm`];
    const { default: Database } = await import('better-sqlite3');
    // As a running gateway does: its connection keeps the WAL (its uncheckpointed pages) and the index in place.
    const gateway = new Database(store);
    try {
      gateway.exec("CREATE TABLE held_in_wal (note TEXT); INSERT INTO held_in_wal VALUES ('not yet checkpointed')");
      const widen = (): void => {
        chmodSync(wal, 0o644);
        chmodSync(shm, 0o644);
      };
      const modes = (): number[] => [store, wal, shm].map((file) => statSync(file).mode & 0o777);

      widen();
      const list = await runCli(['evidence', 'list', '--json'], { home });
      expect(list.exitCode, list.stderr).toBe(0);
      expect(list.stderr).toBe(
        `warning: ${wal} had mode 0644: group or others could read the prompts and responses in it; syndicate set it to 0600\n` +
          `warning: ${shm} had mode 0644: group or others could read it; syndicate set it to 0600`,
      );
      expect(modes()).toEqual([0o600, 0o600, 0o600]);
      expect((await runCli(['evidence', 'list'], { home })).stderr).toBe('');

      widen();
      const init = await runCli(['init'], { home });
      expect(init.exitCode, init.stderr).toBe(0);
      expect(init.stdout).toContain(`syndicate is set up in ${home}, with 2 warnings (stderr)`);
      expect(modes()).toEqual([0o600, 0o600, 0o600]);

      widen();
      const doctor = await runCli(['doctor'], { home });
      expect(doctor.exitCode, doctor.stdout).toBe(0);
      const line = (stdout: string, name: string): string => stdout.split('\n').find((found) => found.startsWith(name)) ?? '';
      expect(line(doctor.stdout, 'store -wal file permissions')).toMatch(/^store -wal file permissions\s+warn\s+/);
      expect(line(doctor.stdout, 'store -wal file permissions')).toContain(`${wal} had mode 0644`);
      expect(line(doctor.stdout, 'store -shm file permissions')).toContain(`${shm} had mode 0644`);
      expect(line(doctor.stdout, 'store file permissions')).toMatch(/^store file permissions\s+pass\s+0600 /);
      expect(modes()).toEqual([0o600, 0o600, 0o600]);
      const again = (await runCli(['doctor'], { home })).stdout;
      expect(line(again, 'store -wal file permissions')).toMatch(/^store -wal file permissions\s+pass\s+0600 /);
      expect(line(again, 'store -shm file permissions')).toMatch(/^store -shm file permissions\s+pass\s+0600 /);
    } finally {
      gateway.close();
    }
    // Gone with the last connection: nothing to check, nothing created.
    expect([existsSync(wal), existsSync(shm)]).toEqual([false, false]);
    const doctor = await runCli(['doctor'], { home });
    expect(doctor.stdout).not.toContain('store -wal');
    expect([existsSync(wal), existsSync(shm)]).toEqual([false, false]);
  }, DOCTOR_TEST_TIMEOUT_MS);

  it('doctor fails (exit 1) on an empty or 3-byte permit key with the hint the permit commands give (they exit 6)', async () => {
    const temporary = await initialisedHome();
    cleanup = temporary.cleanup;
    const keyPath = join(temporary.home, 'permit.key');
    for (const [content, message] of [
      ['', 'is not base64'],
      ['YWJj\n', 'the permit key has 3 bytes'],
    ] as const) {
      writeFileSync(keyPath, content);
      const refused = await runCli(['permit', 'verify', 'syn1.a.b', '--json'], { home: temporary.home });
      expect(refused.exitCode).toBe(6);
      const refusal = (parseJsonDocument(refused.stdout).error as { message: string; hint: string });
      expect(refusal.message).toContain(message);
      const doctor = await runCli(['doctor', '--json'], { home: temporary.home });
      expect(doctor.exitCode).toBe(1);
      const checks = (parseJsonDocument(doctor.stdout).error as { details: { checks: { name: string; status: string; detail: string; hint?: string }[] } }).details.checks;
      expect(checks.filter((check) => check.status === 'fail').map((check) => check.name)).toEqual(['permit key']);
      expect(checks.find((check) => check.name === 'permit key')).toMatchObject({ detail: expect.stringContaining(refusal.message), hint: refusal.hint });
    }
  }, DOCTOR_TEST_TIMEOUT_MS);

  it(
    'a file where the data directory should be, or a directory where the store should be: named as such, never chmod-ed, no `chmod 700` advice',
    async () => {
      const temporary = makeTempHome();
      cleanup = temporary.cleanup;
      type Check = { name: string; status: string; detail: string; hint?: string };
      const checksOf = (stdout: string): Check[] => ((parseJsonDocument(stdout).error as { details: { checks: Check[] } }).details.checks);

      // --home names a file (a path mixed up in a script).
      const file = join(temporary.home, 'notes.txt');
      writeFileSync(file, 'not a directory\n');
      for (const home of [file, join(file, 'syndicate')]) {
        const init = await runCli(['--json', '--home', home, 'init']);
        expect(init.exitCode).toBe(6);
        // It used to be the raw `EEXIST: file already exists, mkdir …` or `ENOTDIR: not a directory`.
        expect(parseJsonDocument(init.stdout).error).toMatchObject({ message: `cannot create directory ${home}: ${file} is a file, not a directory` });
      }
      const doctor = await runCli(['--json', '--home', file, 'doctor'], { timeoutMs: DOCTOR_TEST_TIMEOUT_MS });
      expect(doctor.exitCode).toBe(1);
      const directory = checksOf(doctor.stdout).find((check) => check.name === 'data directory');
      // It used to say `has mode 0644: you cannot read, write and enter it` and advise `chmod 700` on the file.
      expect(directory).toMatchObject({ status: 'fail', detail: `${file} is a file, not a directory` });
      expect(directory?.hint).not.toContain('chmod');
      // Every other command: the file named (it said "no store at …" with the hint to `init` there, which fails on it).
      for (const args of [['evidence', 'list'], ['run', 'hello'], ['serve', '--port', '0']]) {
        const refused = await runCli(['--json', '--home', file, ...args]);
        expect(refused.exitCode, refused.stderr).toBe(6);
        expect(parseJsonDocument(refused.stdout).error).toMatchObject({
          message: `no store at ${join(file, 'syndicate.db')}: ${file} is a file, not a directory`,
          hint: 'point --home or $SYNDICATE_HOME at a directory (it is created when missing), or move the file out of the way',
        });
      }
      expect(readFileSync(file, 'utf8')).toBe('not a directory\n');

      // A directory where the store file should be: it used to be set to mode 0600 and the failure blamed on permissions.
      const home = join(temporary.home, 'home');
      mkdirSync(join(home, 'syndicate.db'), { recursive: true, mode: 0o755 });
      chmodSync(join(home, 'syndicate.db'), 0o755);
      const store = join(home, 'syndicate.db');
      const initStore = await runCli(['--json', '--home', home, 'init']);
      expect(initStore.exitCode).toBe(6);
      expect(parseJsonDocument(initStore.stdout).error).toMatchObject({ message: `the store ${store} is a directory, not a file` });
      expect(statSync(store).mode & 0o777).toBe(0o755);
      const list = await runCli(['--json', '--home', home, 'evidence', 'list']);
      expect(list.exitCode).toBe(6);
      expect(parseJsonDocument(list.stdout).error).toMatchObject({ message: `the store ${store} is a directory, not a file` });
      const doctorStore = await runCli(['--json', '--home', home, 'doctor'], { timeoutMs: DOCTOR_TEST_TIMEOUT_MS });
      expect(doctorStore.exitCode).toBe(1);
      expect(checksOf(doctorStore.stdout).find((check) => check.name === 'store file permissions')).toMatchObject({
        status: 'fail',
        detail: `${store} is a directory, not a file`,
      });
      expect(statSync(store).mode & 0o777).toBe(0o755);
    },
    DOCTOR_TEST_TIMEOUT_MS,
  );

  it('init exits 1 naming a kept file it cannot use (key readable by others, corrupt key, invalid policy) and still creates what is missing', async () => {
    const temporary = await initialisedHome();
    cleanup = temporary.cleanup;
    const keyPath = join(temporary.home, 'permit.key');
    const policyPath = join(temporary.home, 'policy.yaml');

    chmodSync(keyPath, 0o644);
    const readable = await runCli(['init'], { home: temporary.home });
    expect(readable.exitCode).toBe(1);
    expect(readable.stdout).toContain(`kept    ${keyPath}, but: ${keyPath} has mode 0644: readable by group or others`);
    expect(readable.stdout).not.toContain('syndicate is ready');
    expect(readable.stderr).toContain('error: init kept 1 file that cannot be used as it is: permit key');
    expect(readable.stderr).toContain(`hint: \`chmod 600 ${keyPath}\``);
    expect(statSync(keyPath).mode & 0o777).toBe(0o644);
    chmodSync(keyPath, 0o600);

    writeFileSync(keyPath, 'c2hvcnQ=\n');
    writeFileSync(policyPath, readFileSync(policyPath, 'utf8').replace('public: [local, approved_hosted, restricted_hosted]', 'public: [everywhere]'));
    rmSync(join(temporary.home, 'gateway.token'));
    const broken = await runCli(['init', '--json'], { home: temporary.home });
    expect(broken.exitCode).toBe(1);
    expect(parseJsonDocument(broken.stdout)).toMatchObject({
      ok: false,
      error: {
        code: 'check_failed',
        message: 'init kept 2 files that cannot be used as they are: permit key, policy file',
        // Each file's fix: the hint used to give the key's alone.
        hint: [
          'for each file:',
          '  permit key: remove the key file and run `syndicate init` to create a new one',
          `  policy file: run \`syndicate policy check ${policyPath}\` to list every problem`,
          'then run `syndicate doctor`',
        ].join('\n'),
        details: {
          created: [join(temporary.home, 'gateway.token')],
          problems: [
            { name: 'permit key', path: keyPath, detail: expect.stringContaining('the permit key has 5 bytes') },
            { name: 'policy file', path: policyPath, detail: expect.stringMatching(/\/sensitivity\/public\/0 must be one of/) },
          ],
        },
      },
    });
    expect(readFileSync(keyPath, 'utf8')).toBe('c2hvcnQ=\n');
  });

  // Root can give a file to another uid, which is what an attacker with write access to the directory does.
  // The owner rule itself is tested without root in test/unit/home/checks.test.ts (injected user id).
  it.runIf(process.getuid?.() === 0)('doctor and init fail on a permit key and policy planted by another user (mode 0600, owned by them)', async () => {
    const temporary = await initialisedHome();
    cleanup = temporary.cleanup;
    const keyPath = join(temporary.home, 'permit.key');
    const policyPath = join(temporary.home, 'policy.yaml');
    chownSync(keyPath, 4242, 4242);
    chownSync(policyPath, 4242, 4242);
    const doctor = await runCli(['doctor'], { home: temporary.home });
    expect(doctor.exitCode).toBe(1);
    expect(doctor.stderr).toContain('2 of 8 checks failed: permit key, policy file');
    expect(doctor.stdout).toContain(`${keyPath} belongs to uid 4242, not to you (uid 0): another user may have replaced it`);
    const init = await runCli(['init'], { home: temporary.home });
    expect(init.exitCode).toBe(1);
    expect(init.stderr).toContain('init kept 2 files that cannot be used as they are: permit key, policy file');
  }, DOCTOR_TEST_TIMEOUT_MS);
});
