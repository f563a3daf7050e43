import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../src/policy/defaults.js';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';

describe('syndicate policy', () => {
  let cleanup: () => void = () => {};
  afterEach(() => cleanup());

  function home(): string {
    const temporary = makeTempHome();
    cleanup = temporary.cleanup;
    return temporary.home;
  }

  it('show prints the built-in defaults when there is no policy file', async () => {
    const directory = home();
    const result = await runCli(['policy', 'show', '--json'], { home: directory });
    expect(result.exitCode).toBe(0);
    const document = parseJsonDocument(result.stdout);
    expect(document).toMatchObject({ ok: true, source: 'defaults', path: join(directory, 'policy.yaml') });
    expect(document.policy).toEqual(defaultPolicy());
    expect(result.stderr).toBe('');
  });

  it('init writes a policy that checks clean and shows as the defaults', async () => {
    const directory = home();
    expect((await runCli(['init'], { home: directory })).exitCode).toBe(0);
    expect(readFileSync(join(directory, 'policy.yaml'), 'utf8')).toContain('# Which provider classes may receive each sensitivity level');
    const check = await runCli(['policy', 'check'], { home: directory });
    expect(check.exitCode).toBe(0);
    expect(check.stdout.trim().startsWith(`${join(directory, 'policy.yaml')}: valid policy, digest sha256:`)).toBe(true);
    expect(check.stdout.trim()).toMatch(/: valid policy, digest sha256:[0-9a-f]{64}$/);
    const show = await runCli(['policy', 'show', '--json'], { home: directory });
    expect(parseJsonDocument(show.stdout)).toMatchObject({ source: 'file', policy: defaultPolicy() });
  });

  it('check refuses a pattern that matches one character alone — it would match almost every prompt — with where and how to fix it (exit 3)', async () => {
    const directory = home();
    const file = join(directory, 'policy.yaml');
    writeFileSync(file, 'apiVersion: syndicate/v1\nkind: Policy\npatterns:\n  - name: internal-hostnames\n    level: confidential\n    regex: "[a-z0-9-]"\n');
    const check = await runCli(['policy', 'check', file], { home: directory });
    expect(check.exitCode).toBe(3);
    expect(check.stderr).toContain(`${file}:6:12 /patterns/0/regex pattern "internal-hostnames" matches "a" alone, so it would match almost every request`);
    expect(check.stderr).toContain('hint: describe the whole sensitive value');
    expect(check.stdout).toBe('');
  });

  it('show merges the home policy over the defaults (indicator words are only ever added)', async () => {
    const directory = home();
    writeFileSync(join(directory, 'policy.yaml'), 'apiVersion: syndicate/v1\nkind: Policy\nindicatorWords: [atlas]\negress:\n  allowHosts: [api.anthropic.com]\n');
    const show = await runCli(['policy', 'show', '--json'], { home: directory });
    expect(show.exitCode).toBe(0);
    const policy = parseJsonDocument(show.stdout).policy as { indicatorWords: string[]; egress: { allowHosts: string[] } };
    expect(policy.indicatorWords).toEqual(['password', 'credential', 'screenshot', 'camera', 'atlas']);
    expect(policy.egress.allowHosts).toEqual(['api.anthropic.com']);
    const human = await runCli(['policy', 'show'], { home: directory });
    expect(human.stdout).toContain(`# effective policy (${join(directory, 'policy.yaml')})`);
    expect(human.stdout).toContain('  - atlas');
  });

  it('check exits 3 and prints every problem as file:line:col /pointer message (hint)', async () => {
    const directory = home();
    const file = join(directory, 'bad.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: syndicate/v1',
        'kind: Policy',
        'sensitivty: {}',
        'workflows:',
        '  interactive:',
        '    prefer: [local, nearest]',
        '',
      ].join('\n'),
    );
    const result = await runCli(['policy', 'check', file], { home: directory });
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe(`error: ${file} is not a valid policy (2 problems)`);
    expect(lines[1]).toBe(
      `  ${file}:3:1 /sensitivty unknown key "sensitivty" (did you mean "sensitivity"?) (hint: remove it; allowed keys here: apiVersion, kind, sensitivity, indicatorWords, patterns, workflows, tasks, trustTiers, defaultTrustTier, cost, fallback, egress, savings, evidence, media, capabilities)`,
    );
    expect(lines[2]).toMatch(new RegExp(`^  ${escape(file)}:6:21 /workflows/interactive/prefer/1 must be one of "local", "hosted", "cheapest", "fastest", "priority", got "nearest"`));
    expect(lines[3]).toMatch(/^hint: /);
  });

  it('check refuses a policy that lets restricted data leave the machine, with --json details', async () => {
    const directory = home();
    const file = join(directory, 'leaky.yaml');
    writeFileSync(file, 'apiVersion: syndicate/v1\nkind: Policy\nsensitivity:\n  restricted: [local, approved_hosted]\n');
    const result = await runCli(['policy', 'check', file, '--json'], { home: directory });
    expect(result.exitCode).toBe(3);
    const document = parseJsonDocument(result.stdout);
    expect(document).toMatchObject({
      ok: false,
      error: {
        code: 'invalid_input',
        details: {
          problems: [
            {
              file,
              pointer: '/sensitivity/restricted',
              line: 4,
              column: 15,
              message: 'restricted data may only go to local providers, but the policy allows approved_hosted',
            },
          ],
        },
      },
    });
    expect(result.stderr).toBe('');
    const human = await runCli(['policy', 'check', file], { home: directory });
    expect(human.exitCode).toBe(3);
    expect(human.stderr).toContain(`${file}:4:15 /sensitivity/restricted restricted data may only go to local providers`);
  });

  it('check of a file that does not exist exits 3; without a file and without a policy it reports the defaults', async () => {
    const directory = home();
    const missing = await runCli(['policy', 'check', join(directory, 'nope.yaml')], { home: directory });
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toContain('no such file');
    const implicit = await runCli(['policy', 'check', '--json'], { home: directory });
    expect(implicit.exitCode).toBe(0);
    expect(parseJsonDocument(implicit.stdout)).toEqual({ ok: true, path: join(directory, 'policy.yaml'), source: 'defaults', valid: true, digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
  });

  it('check of a file whose `[` on line 4 is never closed points at that `[`, naming the yaml code, not at the end of the file', async () => {
    const directory = home();
    const file = join(directory, 'policy.yaml');
    writeFileSync(file, 'apiVersion: syndicate/v1\nkind: Policy\nsensitivity:\n  public: [local, approved_hosted\n');
    const result = await runCli(['policy', 'check', file], { home: directory });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain(
      `${file}:4:11 / YAML syntax error BAD_INDENT: Flow sequence in block collection must be sufficiently indented and end with a ]; the \`[\` opened here is never closed (the parser noticed at line 5, column 1) (hint: close the \`[\` with \`]\`;`,
    );
    expect(result.stderr).not.toContain('align the indentation');
  });

  it('check refuses a pattern that can backtrack catastrophically, and classify exits 3 instead of hanging', async () => {
    const directory = home();
    const file = join(directory, 'policy.yaml');
    writeFileSync(file, 'apiVersion: syndicate/v1\nkind: Policy\npatterns:\n  - {name: redos, level: internal, regex: "(a+)+$"}\n');
    const check = await runCli(['policy', 'check', '--json'], { home: directory });
    expect(check.exitCode).toBe(3);
    const problems = (parseJsonDocument(check.stdout).error as { details: { problems: unknown[] } }).details.problems;
    expect(problems).toEqual([
      {
        file,
        pointer: '/patterns/0/regex',
        line: 4,
        column: 43,
        message: expect.stringMatching(/^pattern "redos" can backtrack catastrophically, so one prompt could hang classification \(ReDoS\): nested quantifiers: `a\+` inside the repeated `\(a\+\)\+`/),
        hint: expect.stringMatching(/^rewrite without nested quantifiers, e\.g\. `\(a\+\)\+\$` as `a\+\$`/),
      },
    ]);
    const classify = await runCli(['classify', `${'a'.repeat(32)}!`], { home: directory, timeoutMs: 20_000 });
    expect(classify.exitCode).toBe(3);
    expect(classify.stderr).toContain(`${file}:4:43 /patterns/0/regex pattern "redos" can backtrack catastrophically`);
  });

  it('check of a policy.yaml overwritten with JSON Lines lists 5 syntax errors and counts the rest, echoing no value', async () => {
    const directory = home();
    const file = join(directory, 'policy.yaml');
    const lines = Array.from({ length: 300 }, (_, index) => JSON.stringify({ id: index, prompt: `note ${index}`, apiKey: `sk-proj-SECRET${index}SECRETSECRETSECRET` }));
    writeFileSync(file, `${lines.join('\n')}\n`);
    const result = await runCli(['policy', 'check'], { home: directory });
    expect(result.exitCode).toBe(3);
    const output = result.stderr.trim().split('\n');
    expect(output[0]).toMatch(new RegExp(`^error: ${escape(file)} is not valid YAML \\(\\d+ syntax errors\\)$`));
    expect(output.slice(1, 6).every((line) => new RegExp(`^  ${escape(file)}:\\d+:\\d+ / YAML syntax error [A-Z_]+: .+ \\(hint: .+\\)$`).test(line))).toBe(true);
    expect(output[6]).toMatch(new RegExp(`^  ${escape(file)}: and \\d+ more YAML syntax errors, not listed \\(hint: .+\\)$`));
    expect(output[7]).toMatch(/^hint: this file looks like JSON Lines/);
    expect(output).toHaveLength(8);
    expect(result.stderr).not.toContain('SECRET');
  });

  it('an invalid home policy stops routing with exit 3 instead of falling back to defaults', async () => {
    const directory = home();
    writeFileSync(join(directory, 'policy.yaml'), 'apiVersion: syndicate/v1\nkind: Policy\ncost:\n  perDayUsd: -1\n');
    const result = await runCli(['route', 'hello'], { home: directory });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain(`${join(directory, 'policy.yaml')}:4:14 /cost/perDayUsd must be >= 0`);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
