import { chmodSync, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';

/** The backquoted `syndicate …` commands of a hint. */
function quotedCommands(hint: string): string[] {
  return [...hint.matchAll(/`([^`]*)`/g)].map((match) => match[1] ?? '').filter((command) => command.startsWith('syndicate '));
}

/** Every `hint` string in a JSON value, at any depth. */
function hintsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(hintsIn);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => (key === 'hint' && typeof child === 'string' ? [child] : hintsIn(child)));
}

/** Runs a hint's command as an operator pastes it into a shell, `syndicate` being the built CLI; no $SYNDICATE_HOME. */
async function runAsTyped(command: string): Promise<{ exitCode: number; stderr: string }> {
  const result = await execa('sh', ['-c', command.replace(/^syndicate /, `node '${BIN}' `)], { reject: false, env: { NO_COLOR: '1', SYNDICATE_HOME: '' } });
  return { exitCode: result.exitCode ?? -1, stderr: String(result.stderr) };
}

/**
 * The refusals whose fix is another `syndicate` command: under `--home DIR` a bare command would
 * act on the default home, so every command the hint quotes must carry `--home DIR`.
 */
describe('hints quote commands that work as typed for the home in use', () => {
  // A space in the path: the inserted flag must be one shell word.
  let parent: string;
  let home: string;
  let cleanup: () => void = () => {};
  const env = { SYNDICATE_HOME: '' };

  beforeAll(async () => {
    const temporary = makeTempHome('syndicate-home-hints-');
    parent = temporary.home;
    cleanup = temporary.cleanup;
    home = join(parent, 'my home');
    const init = await runCli(['--home', home, 'init'], { env });
    expect(init.exitCode, init.stderr).toBe(0);
  });
  afterAll(() => cleanup());

  const homeFlag = (): string => `--home '${home}'`;

  it('a missing permit key: the `syndicate init` of the hint names the home (human and --json)', async () => {
    rmSync(join(home, 'permit.key'));
    try {
      const args = ['permit', 'issue', '--provider', 'anything', '--model', 'any'];
      const human = await runCli(['--home', home, ...args], { env });
      expect(human.exitCode).toBe(6);
      expect(human.stderr).toContain(`hint: run \`syndicate ${homeFlag()} init\` to create the data directory and its permit key`);
      // The flag after the command word is the same home.
      const json = await runCli([...args, '--home', home, '--json'], { env });
      expect(json.exitCode).toBe(6);
      const hint = (parseJsonDocument(json.stdout).error as { hint: string }).hint;
      expect(quotedCommands(hint)).toEqual([`syndicate ${homeFlag()} init`]);
      // Done as the hint says, the key is back where this home looks for it.
      expect((await runAsTyped(quotedCommands(hint)[0] ?? '')).exitCode).toBe(0);
      expect(existsSync(join(home, 'permit.key'))).toBe(true);
    } finally {
      expect((await runCli(['--home', home, 'init'], { env })).exitCode).toBe(0);
    }
  });

  it('a missing gateway token: `serve --print-token` names the home in its fix', async () => {
    rmSync(join(home, 'gateway.token'));
    try {
      const result = await runCli(['--home', home, '--json', 'serve', '--print-token'], { env });
      expect(result.exitCode).toBe(6);
      const hint = (parseJsonDocument(result.stdout).error as { hint: string }).hint;
      expect(quotedCommands(hint)).toEqual([`syndicate ${homeFlag()} init`]);
    } finally {
      expect((await runCli(['--home', home, 'init'], { env })).exitCode).toBe(0);
    }
  });

  it('rotate-token tells clients how to read the new token from this home, as one shell word', async () => {
    const result = await runCli(['--home', home, 'serve', '--rotate-token'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain(`clients need the new token: $(syndicate ${homeFlag()} serve --print-token)`);
  });

  it("an invalid policy: the hint's `syndicate policy check` checks this home's policy", async () => {
    const policyPath = join(home, 'policy.yaml');
    writeFileSync(policyPath, 'apiVersion: syndicate/v1\nkind: Policy\nsensitivity:\n  public: [everywhere]\n');
    try {
      const result = await runCli(['--home', home, '--json', 'policy', 'show'], { env });
      expect(result.exitCode).toBe(3);
      const hint = (parseJsonDocument(result.stdout).error as { hint: string }).hint;
      expect(quotedCommands(hint)).toEqual([`syndicate ${homeFlag()} policy check '${policyPath}'`]);
      // Run as typed, it reports the same file's problems (`policy show` would only fail on them again).
      const check = await runAsTyped(quotedCommands(hint)[0] ?? '');
      expect(check.exitCode).toBe(3);
      expect(check.stderr).toContain(`${policyPath}:4:12 /sensitivity/public/0`);
    } finally {
      rmSync(policyPath);
      expect((await runCli(['--home', home, 'init'], { env })).exitCode).toBe(0);
    }
  });

  it("init's and doctor's per-file hints name the home: doctor's table, and every hint of both --json documents", { timeout: 90_000 }, async () => {
    const permitKey = join(home, 'permit.key');
    chmodSync(permitKey, 0o644);
    try {
      const rerun = `syndicate ${homeFlag()} init`;
      const doctor = await runCli(['--home', home, 'doctor'], { env });
      expect(doctor.exitCode).toBe(1);
      expect(doctor.stdout).toMatch(/permit key +FAIL .*run `syndicate --home '[^']+' init` to create a new one/);
      for (const args of [['doctor'], ['init']]) {
        const result = await runCli(['--home', home, '--json', ...args], { env });
        expect(result.exitCode).toBe(1);
        const error = parseJsonDocument(result.stdout).error as { hint: string; details: object };
        const commands = hintsIn(error.details).flatMap(quotedCommands);
        expect(commands).toContain(rerun);
        // `engine install` (doctor's hint on a machine without the embedded engine, as every machine
        // is to the fast suite: test/helpers/process-environment.ts) reads no home: it works as typed.
        const homeFree = ['syndicate engine install'];
        for (const command of commands.filter((quoted) => !homeFree.includes(quoted))) expect(command.startsWith(`syndicate ${homeFlag()} `), command).toBe(true);
      }
    } finally {
      chmodSync(permitKey, 0o600);
    }
  });

  it('a path a hint names, in backquotes or not, is one shell word: `chmod 600` of the hint works as typed', async () => {
    const permitKey = join(home, 'permit.key');
    const word = `'${permitKey}'`;
    chmodSync(permitKey, 0o644);
    try {
      const doctor = await runCli(['--home', home, '--json', 'doctor'], { env });
      expect(doctor.exitCode).toBe(1);
      const checks = (parseJsonDocument(doctor.stdout).error as { details: { checks: { name: string; hint?: string }[] } }).details.checks;
      const hint = checks.find((check) => check.name === 'permit key')?.hint ?? '';
      expect(hint).toBe(`\`chmod 600 ${word}\`; if others may have read it, delete ${word} and run \`syndicate ${homeFlag()} init\` to create a new one`);
      // The refusal of a command that needs the key says the same: one rule, one wording.
      const issue = await runCli(['--home', home, 'permit', 'issue', '--provider', 'anything', '--model', 'any'], { env });
      expect(issue.exitCode).toBe(4);
      expect(issue.stderr).toContain(`hint: ${hint}`);
      const chmod = await execa('sh', ['-c', [...hint.matchAll(/`([^`]*)`/g)][0]?.[1] ?? 'false'], { reject: false });
      expect(chmod.exitCode, chmod.stderr).toBe(0);
      expect(statSync(permitKey).mode & 0o777).toBe(0o600);
    } finally {
      chmodSync(permitKey, 0o600);
    }
  });

  it("an invalid input file's per-problem hint names the home (stderr and --json)", async () => {
    const twoRecords = join(parent, 'two.yaml');
    writeFileSync(twoRecords, 'apiVersion: syndicate/v1\nkind: Provider\n---\napiVersion: syndicate/v1\nkind: Provider\n');
    const registerBoth = `syndicate ${homeFlag()} provider register a.yaml b.yaml`;
    const human = await runCli(['--home', home, 'provider', 'register', twoRecords], { env });
    expect(human.exitCode).toBe(3);
    expect(human.stderr).toContain(`\`${registerBoth}\``);
    const json = await runCli(['--home', home, '--json', 'provider', 'register', twoRecords], { env });
    expect(json.exitCode).toBe(3);
    expect(hintsIn(parseJsonDocument(json.stdout).error).flatMap(quotedCommands)).toContain(registerBoth);
  });

  it('the commands a result prints for the next step name the home, backquoted', async () => {
    const started = await runCli(['--home', home, 'session', 'start', '--name', 'next-step'], { env });
    expect(started.exitCode, started.stderr).toBe(0);
    const [continueWith] = quotedCommands(started.stderr);
    expect(continueWith?.startsWith(`syndicate ${homeFlag()} run "..." --session ses_`), continueWith).toBe(true);
    try {
      const printed = await Promise.all([
        runCli(['--home', home, 'provider', 'list'], { env }).then((result) => result.stdout),
        runCli(['--home', home, 'engine', 'status'], { env }).then((result) => result.stderr),
      ]);
      const commands = printed.flatMap(quotedCommands);
      expect(commands).toEqual(expect.arrayContaining([`syndicate ${homeFlag()} provider add --list`, `syndicate ${homeFlag()} engine status --embedded`]));
      for (const command of commands) expect(command.startsWith(`syndicate ${homeFlag()} `), command).toBe(true);
    } finally {
      expect((await runCli(['--home', home, 'session', 'delete', 'next-step'], { env })).exitCode).toBe(0);
    }
  });

  it('a hint that already names the home (no store under a mistyped --home) gets no second --home', async () => {
    const missing = join(parent, 'typo');
    const result = await runCli(['--home', missing, '--json', 'evidence', 'list'], { env });
    expect(result.exitCode).toBe(6);
    expect(parseJsonDocument(result.stdout)).toMatchObject({ ok: false, error: { hint: `check the --home path; to create a home there, run \`syndicate init --home ${missing}\`` } });
  });

  it('under $SYNDICATE_HOME the bare commands find the same home: hints are unchanged', async () => {
    rmSync(join(home, 'permit.key'));
    try {
      const result = await runCli(['--json', 'permit', 'issue', '--provider', 'anything', '--model', 'any'], { home });
      expect(result.exitCode).toBe(6);
      expect(parseJsonDocument(result.stdout)).toMatchObject({ ok: false, error: { hint: 'run `syndicate init` to create the data directory and its permit key' } });
    } finally {
      expect((await runCli(['--home', home, 'init'], { env })).exitCode).toBe(0);
    }
  });
});
