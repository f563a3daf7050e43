import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';

const TOKEN = 'ghp_Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8';

describe('syndicate classify', () => {
  let cleanup: () => void = () => {};
  afterEach(() => cleanup());

  function home(): string {
    const temporary = makeTempHome();
    cleanup = temporary.cleanup;
    return temporary.home;
  }

  it('--json prints one document with the level and masked findings, and exits 0 even when restricted', async () => {
    const result = await runCli(['classify', '--json', `my password is hunter2; token ${TOKEN}`], { home: home() });
    expect(result.exitCode).toBe(0);
    const document = parseJsonDocument(result.stdout);
    expect(Object.keys(document).sort()).toEqual(['failedClosed', 'findings', 'level', 'ok']);
    expect(document).toMatchObject({ ok: true, level: 'restricted', failedClosed: false });
    const findings = document.findings as { detector: string; excerpt: string; location: string; span: { start: number; end: number } }[];
    expect(findings.map((finding) => finding.detector)).toEqual(['indicator.word', 'credential.assignment', 'secret.github-token']);
    expect(findings[2]).toMatchObject({ excerpt: 'ghp_…9Xc8', location: 'text', span: { start: 30, end: 70 } });
    expect(result.stdout).not.toContain('hunter2');
    expect(result.stdout).not.toContain(TOKEN);
  });

  it('reads stdin with `-` and prints the level and, with --explain, a findings table', async () => {
    const result = await runCli(['classify', '--explain', '-'], { home: home(), input: `export GITHUB_TOKEN=${TOKEN}\nsee /home/alice/notes.txt\n` });
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('restricted');
    expect(lines[1]).toMatch(/^DETECTOR\s+LEVEL\s+LOCATION\s+SPAN\s+EXCERPT\s+REASON$/);
    expect(lines[2]).toMatch(/^secret\.github-token\s+restricted\s+text\s+20-60\s+ghp_…9Xc8\s+GitHub token$/);
    // A home path names its user: only the home directory it starts in is shown.
    expect(lines[3]).toMatch(/^path\.local\s+confidential\s+text\s+65-86\s+\/home\/…\s+local file path/);
    expect(result.stdout).not.toContain(TOKEN);
    expect(result.stdout).not.toContain('alice');
  });

  it('--explain prints an excerpt with backslashes as they are in the text (as --json gives it)', async () => {
    const directory = home();
    const text = 'see C:\\Users\\alice\\notes.txt';
    const table = await runCli(['classify', '--explain', text], { home: directory });
    expect(table.exitCode).toBe(0);
    const json = await runCli(['classify', '--json', text], { home: directory });
    const [finding] = parseJsonDocument(json.stdout).findings as { excerpt: string }[];
    expect(finding?.excerpt).toBe('C:\\Users\\…');
    expect(table.stdout.split('\n')[2]).toMatch(/^path\.local\s+confidential\s+text\s+4-28\s+C:\\Users\\…\s+local file path/);
  });

  it('prints just the level for a public text, and the hint raises it', async () => {
    const directory = home();
    const plain = await runCli(['classify', 'Explain TCP slow start.'], { home: directory });
    expect({ exitCode: plain.exitCode, stdout: plain.stdout, stderr: plain.stderr }).toEqual({ exitCode: 0, stdout: 'public', stderr: '' });
    const hinted = await runCli(['classify', '--sensitivity', 'confidential', 'Explain TCP slow start.'], { home: directory });
    expect(hinted).toMatchObject({ exitCode: 0, stdout: 'confidential' });
  });

  it('classifies a file with --file', async () => {
    const directory = home();
    const file = join(directory, 'prompt.txt');
    writeFileSync(file, 'Card on file: 4539 1488 0343 6467\n');
    const result = await runCli(['classify', '--json', '--file', file], { home: directory });
    expect(result.exitCode).toBe(0);
    expect(parseJsonDocument(result.stdout)).toMatchObject({ level: 'confidential', findings: [{ detector: 'pii.card', excerpt: '…6467' }] });
  });

  it("uses the policy's extra indicator words and operator patterns", async () => {
    const directory = home();
    writeFileSync(
      join(directory, 'policy.yaml'),
      [
        'apiVersion: syndicate/v1',
        'kind: Policy',
        'indicatorWords: [salary]',
        'patterns:',
        '  - name: project-atlas',
        '    level: restricted',
        '    keywords: [Project Atlas]',
        '',
      ].join('\n'),
    );
    const words = await runCli(['classify', '--json', 'what is a fair salary?'], { home: directory });
    expect(parseJsonDocument(words.stdout)).toMatchObject({ level: 'confidential', findings: [{ detector: 'indicator.word' }] });
    const pattern = await runCli(['classify', '--json', 'notes on project atlas'], { home: directory });
    expect(parseJsonDocument(pattern.stdout)).toMatchObject({
      level: 'restricted',
      findings: [{ detector: 'operator.pattern', reason: "operator pattern 'project-atlas' (keyword)" }],
    });
  });

  it('finds an operator keyword written decomposed (NFD), and `route` then keeps it from a hosted provider', async () => {
    const directory = home();
    expect((await runCli(['init'], { home: directory })).exitCode).toBe(0);
    writeFileSync(
      join(directory, 'policy.yaml'),
      ['apiVersion: syndicate/v1', 'kind: Policy', 'patterns:', '  - name: client', '    level: restricted', '    keywords: ["M\u00fcller GmbH", "caf\u00e9"]', ''].join('\n'),
    );
    const hosted = join(directory, 'hosted.yaml');
    writeFileSync(
      hosted,
      [
        'apiVersion: syndicate/v1',
        'kind: Provider',
        'id: openai',
        'class: approved_hosted',
        'wire: openai',
        'baseUrl: https://api.openai.com/v1',
        'auth: { env: OPENAI_API_KEY }',
        'models:',
        '  - { id: gpt-4o-mini, contextWindow: 128000, capabilityClass: large, price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } }',
        '',
      ].join('\n'),
    );
    expect((await runCli(['provider', 'register', hosted], { home: directory })).exitCode).toBe(0);
    for (const text of ['invoice for M\u00fcller GmbH\n', 'invoice for Mu\u0308ller GmbH\n', 'un cafe\u0301 noir\n']) {
      const classified = await runCli(['classify', '--json', '-'], { home: directory, input: text });
      expect(parseJsonDocument(classified.stdout), text).toMatchObject({ level: 'restricted', findings: [{ detector: 'operator.pattern', excerpt: '…' }] });
      const routed = await runCli(['route', '--json', '-'], { home: directory, input: text, env: { OPENAI_API_KEY: 'sk-test' } });
      expect(routed.exitCode, text).toBe(4);
      expect(parseJsonDocument(routed.stdout)).toMatchObject({ ok: false, error: { code: 'route_denied' } });
    }
  });

  it('an invalid policy file is an input error (exit 3), never a silent fallback to the defaults', async () => {
    const directory = home();
    writeFileSync(join(directory, 'policy.yaml'), 'apiVersion: syndicate/v1\nkind: Policy\npatterns:\n  - name: broken\n    level: secret\n');
    const result = await runCli(['classify', '--json', 'hello'], { home: directory });
    expect(result.exitCode).toBe(3);
    expect(parseJsonDocument(result.stdout)).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('usage errors exit 2: a bad level, text and --file together, empty text', async () => {
    const directory = home();
    const badLevel = await runCli(['classify', '--sensitivity', 'secret', 'hello'], { home: directory });
    expect(badLevel.exitCode).toBe(2);
    expect(badLevel.stderr).toContain("argument 'secret' is invalid");
    const both = await runCli(['classify', '--file', 'x.txt', 'hello'], { home: directory });
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('either as an argument or with --file');
    const empty = await runCli(['classify', '--json', '-'], { home: directory, input: '   \n' });
    expect(empty.exitCode).toBe(2);
    expect(parseJsonDocument(empty.stdout)).toMatchObject({ ok: false, error: { code: 'usage', message: 'the text is empty' } });
  });

  it('a missing --file is an input error (exit 3)', async () => {
    const result = await runCli(['classify', '--file', '/nonexistent/prompt.txt'], { home: home() });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('cannot read /nonexistent/prompt.txt: no such file');
  });
  it('reads look-alike letters of other scripts as Latin: level raised, excerpt masked and as written', async () => {
    const directory = home();
    // `pаssword` with a Cyrillic а (U+0430): public before look-alikes were folded.
    const text = 'p\u0430ssword: hunter2';
    const table = await runCli(['classify', '--explain', text], { home: directory });
    expect(table.exitCode).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('restricted');
    expect(lines[2]).toMatch(/^indicator\.word\s+confidential\s+text\s+0-8\s+p\u0430ssword\s+indicator word 'password' \(after Unicode folding/);
    expect(lines[3]).toMatch(/^credential\.assignment\s+restricted\s+text\s+0-17\s+p\u0430ssword:…\s+/);
    expect(table.stdout).not.toContain('hunter2');
    const json = await runCli(['classify', '--json', text], { home: directory });
    const document = parseJsonDocument(json.stdout);
    expect(document).toMatchObject({ ok: true, level: 'restricted' });
    expect((document.findings as { excerpt: string }[]).map((finding) => finding.excerpt)).toEqual(['p\u0430ssword', 'p\u0430ssword:…']);
  });
});
