import { execa } from 'execa';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, makeTempHome, REPO_ROOT, runCli } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { Scenario } from '../helpers/scenario.js';

/** The shell step README's "Checking providers in CI" gives, exactly as written there. */
function readmeScript(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('#!/usr/bin/env sh\n# scripts/check-providers.sh');
  const end = readme.indexOf('\n```', start);
  expect(start).toBeGreaterThan(0);
  return `${readme.slice(start, end)}\n`;
}

/** The README's CI step (it needs `jq`), with `syndicate` on the PATH as an installed CLI is. */
describe("README's check-providers.sh", () => {
  const scratch = makeTempHome('syndicate-ci-script-');
  const script = join(scratch.home, 'check-providers.sh');
  let engine: FakeEngine;
  let scenario: Scenario;

  beforeAll(async () => {
    writeFileSync(script, readmeScript());
    const bin = join(scratch.home, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'syndicate'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(join(bin, 'syndicate'), 0o755);
    engine = await startFakeEngine({ kind: 'llama.cpp' });
    scenario = await Scenario.create();
  });
  afterAll(async () => {
    scratch.cleanup();
    scenario?.cleanup();
    await engine?.close();
  });

  async function runScript(home: string): Promise<{ exitCode: number | undefined; stdout: string }> {
    const result = await execa('sh', [script], {
      reject: false,
      stdin: 'ignore',
      env: { PATH: `${join(scratch.home, 'bin')}:${process.env.PATH ?? ''}`, SYNDICATE_HOME: home, NO_COLOR: '1' },
    });
    return { exitCode: result.exitCode, stdout: String(result.stdout) };
  }

  it('fails the job when the providers cannot be listed (no store): it used to test nothing and pass', async () => {
    const result = await runScript(join(scratch.home, 'no-such-home'));
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/^ERROR {2}cannot list providers: no store at .*no-such-home\/syndicate\.db$/);
  }, 90_000);

  it('fails the job when there is no active provider to check', async () => {
    const empty = makeTempHome('syndicate-ci-empty-');
    try {
      expect((await runCli(['init'], { home: empty.home })).exitCode).toBe(0);
      const result = await runScript(empty.home);
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toContain('ERROR  no active provider to check');
    } finally {
      empty.cleanup();
    }
  }, 90_000);

  it('passes when every provider conforms', async () => {
    await scenario.register({ id: 'llama', engine });
    const result = await runScript(scenario.home);
    expect(result.stdout).toBe('ok     llama');
    expect(result.exitCode).toBe(0);
  }, 90_000);
});
