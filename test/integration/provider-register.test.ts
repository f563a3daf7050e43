import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';
import { registerFilesInHome, storedProviders } from '../helpers/store.js';

const EXAMPLE = 'providers/examples/ollama-local.yaml';
const INVALID = 'test/fixtures/providers/invalid';

describe('provider register / list / show / history / remove through the built CLI', () => {
  let home: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ home, cleanup } = makeTempHome());
  });
  afterEach(() => cleanup());

  /** A refused register wrote nothing: it is refused before the store is opened, so a fresh home gets none. */
  function expectNoStore(): void {
    expect(existsSync(join(home, 'syndicate.db'))).toBe(false);
  }

  async function listJson(): Promise<unknown> {
    const result = await runCli(['provider', 'list', '--json'], { home });
    expect(result.exitCode).toBe(0);
    return parseJsonDocument(result.stdout);
  }

  it('register => v1, again => unchanged, port change => v2; history shows both and the base URL change', async () => {
    const first = await runCli(['provider', 'register', EXAMPLE], { home });
    expect(first).toMatchObject({ exitCode: 0, stdout: 'registered ollama-local v1', stderr: '' });

    const again = await runCli(['provider', 'register', EXAMPLE, '--json'], { home });
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toBe('');
    const againDocument = parseJsonDocument(again.stdout);
    expect(againDocument).toMatchObject({ ok: true, results: [{ id: 'ollama-local', status: 'unchanged', version: 1, reason: 'unchanged (v1)' }] });

    const moved = join(home, 'ollama-moved.yaml');
    writeFileSync(moved, readFileSync(EXAMPLE, 'utf8').replace('127.0.0.1:11434', '127.0.0.1:11500'));
    const second = await runCli(['provider', 'register', moved], { home });
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toBe(
      'updated ollama-local v1 → v2: base URL changed: http://127.0.0.1:11434/v1 → http://127.0.0.1:11500/v1 (port 11434 → 11500)',
    );

    const history = await runCli(['provider', 'history', 'ollama-local'], { home });
    expect(history.exitCode).toBe(0);
    const lines = history.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^VERSION\s+CREATED\s+HASH\s+REASON$/);
    expect(lines[1]).toMatch(/^v1\s+\S+\s+[0-9a-f]{12}\s+registered$/);
    expect(lines[2]).toMatch(/^v2\s+\S+\s+[0-9a-f]{12}\s+base URL changed: .*\(port 11434 → 11500\)$/);
    expect(lines[3]).toBe('  v2 /baseUrl: "http://127.0.0.1:11434/v1" → "http://127.0.0.1:11500/v1"');

    const historyJson = parseJsonDocument((await runCli(['provider', 'history', 'ollama-local', '--json'], { home })).stdout);
    expect(historyJson).toMatchObject({ ok: true, id: 'ollama-local', status: 'active', currentVersion: 2 });
    const versions = historyJson.versions as { version: number; changes: unknown[]; record: { baseUrl: string } }[];
    expect(versions.map((version) => [version.version, version.record.baseUrl])).toEqual([
      [1, 'http://127.0.0.1:11434/v1'],
      [2, 'http://127.0.0.1:11500/v1'],
    ]);
    expect(versions[1]?.changes).toEqual([{ pointer: '/baseUrl', before: 'http://127.0.0.1:11434/v1', after: 'http://127.0.0.1:11500/v1' }]);

    const shown = parseJsonDocument((await runCli(['provider', 'show', 'ollama-local', '--at', '1', '--json'], { home })).stdout);
    expect(shown).toMatchObject({ ok: true, provider: { id: 'ollama-local', version: 1, currentVersion: 2, record: { baseUrl: 'http://127.0.0.1:11434/v1' } } });
    const shownWithFlag = parseJsonDocument((await runCli(['provider', 'show', 'ollama-local', '--version=1', '--json'], { home })).stdout);
    expect(shownWithFlag).toMatchObject({ provider: { version: 1 } });
    // As `provider history` and `register` print it.
    const shownAsPrinted = parseJsonDocument((await runCli(['provider', 'show', 'ollama-local', '--version', 'v1', '--json'], { home })).stdout);
    expect(shownAsPrinted).toMatchObject({ provider: { version: 1 } });

    expect(await listJson()).toMatchObject({
      ok: true,
      providers: [{ id: 'ollama-local', version: 2, status: 'active', class: 'local', baseUrl: 'http://127.0.0.1:11500/v1', models: ['llama3.2:3b', 'qwen2.5-coder:7b'] }],
    });
  });

  it.each([
    ['local-on-lan-address.yaml', '6:10 /baseUrl class "local" requires a baseUrl on this host', '192.168.1.20 is not a loopback address'],
    ['local-on-tailnet-name.yaml', '6:10 /baseUrl class "local" requires a baseUrl on this host', 'workstation.tailnet does not resolve on this host'],
    ['literal-api-key.yaml', '6:9 /apiKey literal credential refused', 'auth: { env: MY_PROVIDER_API_KEY }'],
    ['malformed-yaml.yaml', '8:9 / YAML syntax error BAD_INDENT', 'the `[` opened here is never closed (the parser noticed at line 9, column 5) (hint: close the `[` with `]`'],
  ])('%s => exit 3 with file:line:col, and the store is unchanged', async (file, located, detail) => {
    // Set up and compared in this process: the refused register is the subject.
    await registerFilesInHome(home, EXAMPLE);
    const before = storedProviders(home);

    const path = `${INVALID}/${file}`;
    const human = await runCli(['provider', 'register', path], { home });
    expect(human.exitCode).toBe(3);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain(`${path}:${located}`);
    expect(human.stderr).toContain(detail);
    expect(human.stderr).not.toContain('FAKEfake');

    const json = await runCli(['provider', 'register', path, '--json'], { home });
    expect(json.exitCode).toBe(3);
    const document = parseJsonDocument(json.stdout);
    expect(document).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    const problems = (document.error as { details: { problems: { file: string; line: number }[] } }).details.problems;
    expect(problems.length).toBeGreaterThanOrEqual(1);
    expect(problems[0]?.file).toBe(path);
    expect(json.stdout).not.toContain('FAKEfake');

    expect(storedProviders(home)).toEqual(before);
  });

  it('a file that is not YAML is refused without echoing its values, and with at most 5 syntax errors', async () => {
    const secretFile = join(home, 'x.yaml');
    writeFileSync(secretFile, '{"a":1}\n{"k": "sk-proj-SECRETSECRETSECRET"}\n');
    const json = await runCli(['provider', 'register', secretFile, '--json'], { home });
    expect(json.exitCode).toBe(3);
    expect(json.stdout).not.toContain('SECRETSECRET');
    expect(json.stderr).not.toContain('SECRETSECRET');
    const problems = (parseJsonDocument(json.stdout).error as { details: { problems: { line: number; column: number; message: string }[] } }).details.problems;
    expect(problems[3]).toMatchObject({ line: 2, column: 7, message: expect.stringMatching(/^YAML syntax error UNEXPECTED_TOKEN: Unexpected double quoted scalar/) });

    const exported = join(home, 'export.yaml');
    writeFileSync(exported, `${Array.from({ length: 300 }, (_, index) => JSON.stringify({ id: index, prompt: `note ${index}` })).join('\n')}\n`);
    const human = await runCli(['provider', 'register', exported], { home });
    expect(human.exitCode).toBe(3);
    const lines = human.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^error: \d+ problems: .*export\.yaml is invalid; nothing was registered$/);
    expect(lines.slice(1, 6).every((line) => line.startsWith(`  ${exported}:`) && / \/ YAML syntax error [A-Z_]+: /.test(line))).toBe(true);
    expect(lines[6]).toMatch(new RegExp(`^  ${exported.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: and \\d+ more YAML syntax errors, not listed`));
    expect(lines).toHaveLength(8);
    expectNoStore();
  });

  it('a base URL whose port is not 1-65535 is refused at /baseUrl, whatever the class, with nothing registered', async () => {
    const hosted = join(home, 'anthropic-bad-port.yaml');
    const hostedYaml = readFileSync('providers/examples/anthropic-hosted.yaml', 'utf8').replace('https://api.anthropic.com', 'https://api.anthropic.com:99999');
    writeFileSync(hosted, hostedYaml);
    // The example's comments may grow: the line is where its baseUrl is, the column that of its value.
    const baseUrlLine = hostedYaml.split('\n').findIndex((line) => line.startsWith('baseUrl: ')) + 1;
    const refused = await runCli(['provider', 'register', hosted], { home });
    expect(refused.exitCode).toBe(3);
    expect(refused.stderr).toContain(`${hosted}:${baseUrlLine}:10 /baseUrl port must be 1-65535, got "99999" in "https://api.anthropic.com:99999"`);
    expect(refused.stderr).not.toContain('egress');

    const local = join(home, 'ollama-port-zero.yaml');
    writeFileSync(local, readFileSync(EXAMPLE, 'utf8').replace('127.0.0.1:11434', '127.0.0.1:0'));
    const zero = await runCli(['provider', 'register', local], { home });
    expect(zero.exitCode).toBe(3);
    expect(zero.stderr).toContain('/baseUrl port must be 1-65535, got "0" in "http://127.0.0.1:0/v1"');
    writeFileSync(local, readFileSync(EXAMPLE, 'utf8').replace('127.0.0.1:11434', '127.0.0.1:99999'));
    const large = await runCli(['provider', 'register', local], { home });
    expect(large.exitCode).toBe(3);
    expect(large.stderr).toContain('/baseUrl port must be 1-65535, got "99999"');
    // Its own problem, not the loopback rule's.
    expect(large.stderr).not.toContain('class "local" requires');
    expectNoStore();
  });

  it('a file holding several records says how many and where the second starts, and how to register them', async () => {
    const both = join(home, 'both.yaml');
    const example = readFileSync(EXAMPLE, 'utf8');
    writeFileSync(both, `${example}---\n${readFileSync('providers/examples/anthropic-hosted.yaml', 'utf8')}`);
    const refused = await runCli(['provider', 'register', both], { home });
    expect(refused.exitCode).toBe(3);
    const line = example.split('\n').length;
    expect(refused.stderr).toContain(
      `${both}:${line}:1 / the file holds 2 YAML documents (the second starts at the \`---\` on line ${line}), but one is expected (hint: put one provider record per file, and register the files together: \`syndicate provider register a.yaml b.yaml\`)`,
    );
    expect(refused.stderr).not.toContain('parseAllDocuments');
  });

  it('registering several files is all-or-nothing', async () => {
    const result = await runCli(
      ['provider', 'register', EXAMPLE, 'providers/examples/anthropic-hosted.yaml', `${INVALID}/local-on-lan-address.yaml`],
      { home },
    );
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('1 of 3 provider files are invalid; nothing was registered');
    expectNoStore();

    const good = await runCli(['provider', 'register', EXAMPLE, 'providers/examples/anthropic-hosted.yaml', '--json'], { home });
    expect(good.exitCode).toBe(0);
    expect(parseJsonDocument(good.stdout)).toMatchObject({ results: [{ id: 'ollama-local', version: 1 }, { id: 'anthropic-hosted', version: 1 }] });
    // With a store: a batch with one invalid file changes no record.
    const moved = join(home, 'ollama-moved.yaml');
    writeFileSync(moved, readFileSync(EXAMPLE, 'utf8').replace('127.0.0.1:11434', '127.0.0.1:11500'));
    expect((await runCli(['provider', 'register', moved, `${INVALID}/local-on-lan-address.yaml`], { home })).exitCode).toBe(3);
    expect(await listJson()).toMatchObject({ providers: [{ id: 'anthropic-hosted', version: 1 }, { id: 'ollama-local', version: 1, baseUrl: 'http://127.0.0.1:11434/v1' }] });
  });

  it('unknown ids exit 2 naming the known ids; remove retires but keeps every version', { timeout: 90_000 }, async () => {
    await registerFilesInHome(home, EXAMPLE);
    const unknown = await runCli(['provider', 'show', 'nope'], { home });
    expect(unknown).toMatchObject({ exitCode: 2, stdout: '' });
    expect(unknown.stderr).toBe('error: unknown provider "nope"\nhint: known providers: ollama-local');

    const badVersion = await runCli(['provider', 'show', 'ollama-local', '--at', '0'], { home });
    expect(badVersion.exitCode).toBe(2);
    // The message and hint name the flag the user typed.
    const badVersionFlag = await runCli(['provider', 'show', 'ollama-local', '--version', 'abc'], { home });
    expect(badVersionFlag.exitCode).toBe(2);
    expect(badVersionFlag.stderr).toBe('error: --version "abc" is not a version number\nhint: use a whole number >= 1, e.g. --version 2');

    const removed = await runCli(['provider', 'remove', 'ollama-local', '--json'], { home });
    expect(removed.exitCode).toBe(0);
    expect(parseJsonDocument(removed.stdout)).toMatchObject({ ok: true, id: 'ollama-local', version: 1, alreadyRetired: false });
    expect(await listJson()).toMatchObject({ providers: [{ id: 'ollama-local', status: 'retired' }] });
    const kept = await runCli(['provider', 'show', 'ollama-local', '--at', '1', '--json'], { home });
    expect(parseJsonDocument(kept.stdout)).toMatchObject({ provider: { version: 1, status: 'retired' } });

    const back = await runCli(['provider', 'register', EXAMPLE, '--json'], { home });
    expect(parseJsonDocument(back.stdout)).toMatchObject({ results: [{ status: 'reactivated', version: 2 }] });
    expect(await listJson()).toMatchObject({ providers: [{ id: 'ollama-local', status: 'active', version: 2 }] });
  });
});
