import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';

describe('CLI basics', () => {
  let cleanup: () => void = () => {};
  afterEach(() => cleanup());

  it('prints the version and exits 0', async () => {
    const result = await runCli(['--version']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('exits 2 on an unknown command, with a JSON error document under --json', async () => {
    const human = await runCli(['frobnicate']);
    expect(human.exitCode).toBe(2);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain("unknown command 'frobnicate'");
    const json = await runCli(['--json', 'frobnicate']);
    expect(json.exitCode).toBe(2);
    const document = parseJsonDocument(json.stdout);
    expect(document).toMatchObject({ ok: false, error: { code: 'usage' } });
  });

  it('a command group without its subcommand shows its help and a plain usage error, not commander internals', async () => {
    const human = await runCli(['evidence']);
    expect(human.exitCode).toBe(2);
    expect(human.stderr).toContain('Usage: syndicate evidence');
    expect(human.stderr).toContain('missing subcommand');
    expect(human.stderr).not.toContain('outputHelp');
    const json = await runCli(['--json', 'provider']);
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
    const temporary = makeTempHome();
    cleanup = temporary.cleanup;
    const before = await runCli(['doctor'], { home: temporary.home });
    expect(before.exitCode).toBe(1);
    await runCli(['init'], { home: temporary.home });
    const healthy = await runCli(['doctor', '--json'], { home: temporary.home });
    expect(healthy.exitCode).toBe(0);
    expect(parseJsonDocument(healthy.stdout).ok).toBe(true);
    const { chmodSync } = await import('node:fs');
    chmodSync(join(temporary.home, 'permit.key'), 0o644);
    const unhealthy = await runCli(['doctor', '--json'], { home: temporary.home });
    expect(unhealthy.exitCode).toBe(1);
    expect(parseJsonDocument(unhealthy.stdout)).toMatchObject({ ok: false, error: { code: 'check_failed' } });
    expect(unhealthy.stderr).toContain('permit key permissions');
    chmodSync(join(temporary.home, 'permit.key'), 0o600);
    // A policy that does not validate is a failed check naming the first problem, not a pass for existing.
    const { readFileSync, writeFileSync } = await import('node:fs');
    const policyPath = join(temporary.home, 'policy.yaml');
    writeFileSync(policyPath, readFileSync(policyPath, 'utf8').replace('public: [local, approved_hosted, restricted_hosted]', 'public: [everywhere]'));
    const invalidPolicy = await runCli(['doctor'], { home: temporary.home });
    expect(invalidPolicy.exitCode).toBe(1);
    expect(invalidPolicy.stdout).toMatch(/policy file\s+FAIL\s+\S*policy\.yaml:\d+:\d+ \/sensitivity\/public\/0 must be one of/);
    expect(invalidPolicy.stderr).toContain('1 of 7 checks failed: policy file');
    expect(invalidPolicy.stderr).toContain('syndicate policy check');
  });
});
