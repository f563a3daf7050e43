import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJsonDocument } from '../helpers/cli.js';
import { lastSent } from '../helpers/request-options.js';
import { registeredEngineScenario } from '../helpers/scenario.js';

/**
 * `syndicate run docs/a.md` sends the text "docs/a.md": the README's way to send a file is to
 * redirect it (`run < docs/a.md`). A prompt that is nothing but the path of an existing file is
 * almost always that mistake, so a warning on stderr names the fix — and the prompt still goes as
 * typed, for a script that means it; `--json` keeps stdout to its one document.
 */
describe('a prompt that names an existing file', () => {
  const setup = registeredEngineScenario('local', { kind: 'ollama' });
  const warning = 'warning: the prompt is the text "docs/a.md", which names a file: its content was not read; to send the file, redirect it: `syndicate run < docs/a.md`';

  beforeAll(() => {
    mkdirSync(join(setup.scenario.home, 'docs'), { recursive: true });
    writeFileSync(join(setup.scenario.home, 'docs', 'a.md'), 'Summarise this document.\n');
  });

  it('run: warns with the redirection to use, and sends the prompt as typed', { timeout: 90_000 }, async () => {
    const { scenario, engine } = setup;
    const result = await scenario.cli(['run', 'docs/a.md', '--no-stream'], { cwd: scenario.home });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr.split('\n')).toContain(warning);
    expect(lastSent(engine).messages).toEqual([{ role: 'user', content: 'docs/a.md' }]);
  });

  it('run --json: the warning on stderr, stdout its one document', { timeout: 90_000 }, async () => {
    const { scenario } = setup;
    const result = await scenario.cli(['--json', 'run', 'docs/a.md'], { cwd: scenario.home });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(parseJsonDocument(result.stdout)).toMatchObject({ ok: true });
    expect(result.stderr.split('\n')).toContain(warning);
  });

  it('run --home DIR: the command it quotes names that home; route warns the same way', { timeout: 90_000 }, async () => {
    const { scenario } = setup;
    const run = await scenario.cli(['--home', scenario.home, 'run', 'docs/a.md', '--no-stream'], { cwd: scenario.home, env: { SYNDICATE_HOME: undefined } });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain(`redirect it: \`syndicate --home ${scenario.home} run < docs/a.md\``);
    const route = await scenario.cli(['route', 'docs/a.md'], { cwd: scenario.home });
    expect(route.exitCode, route.stderr).toBe(0);
    expect(route.stderr).toContain('redirect it: `syndicate route < docs/a.md`');
  });

  it('no warning for a prompt that names no file, a directory, or a file with more words around it', { timeout: 90_000 }, async () => {
    const { scenario } = setup;
    for (const prompt of ['docs/b.md', 'docs', 'summarise docs/a.md']) {
      const result = await scenario.cli(['run', prompt, '--no-stream'], { cwd: scenario.home });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr, prompt).not.toContain('warning');
    }
  });
});
