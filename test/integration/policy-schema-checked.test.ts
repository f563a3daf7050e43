import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { schemaCheckedLine } from '../../src/policy/schema-checked.js';
import { REPO_ROOT, runCli } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/prepared-home.js';

/**
 * A batch script runs `syndicate run` (`route`, `classify`) hundreds of times against one policy.
 * Each process compiled the policy schema with ajv to validate the same bytes again: about 130 ms
 * of CPU in a `run` of about 700 (bench/RESULTS.md). A policy whose exact bytes passed the
 * installed schema is not checked against it again; an edit is, in full, and a marker another
 * user could have written is not believed.
 */
describe('the policy schema, checked once per policy file', () => {
  let cleanup: () => void = () => {};
  afterEach(() => cleanup());

  async function home(): Promise<string> {
    const prepared = await initialisedHome();
    cleanup = prepared.cleanup;
    return prepared.home;
  }

  /** `classify hello` (which applies the policy), and whether that process loaded ajv. */
  async function classify(directory: string): Promise<{ exitCode: number; stderr: string; loadedAjv: boolean }> {
    const out = join(directory, 'modules.jsonl');
    writeFileSync(out, '');
    const result = await runCli(['classify', 'hello'], {
      home: directory,
      env: { NODE_OPTIONS: `--require ${join(REPO_ROOT, 'test', 'helpers', 'modules-loaded-at-exit.cjs')}`, SYNDICATE_TEST_MODULES_OUT: out },
    });
    const modules = JSON.parse(readFileSync(out, 'utf8').trim()) as string[];
    return { exitCode: result.exitCode, stderr: result.stderr, loadedAjv: modules.some((path) => path.includes('/node_modules/ajv/')) };
  }

  it('a second process with the same policy bytes does not compile the schema (nor load ajv)', async () => {
    const directory = await home();
    const first = await classify(directory);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.loadedAjv).toBe(true);
    const marker = join(directory, 'policy.yaml.schema-checked');
    expect(readFileSync(marker, 'utf8')).toBe(schemaCheckedLine(readFileSync(join(directory, 'policy.yaml'))));
    expect(statSync(marker).mode & 0o777).toBe(0o600);

    const second = await classify(directory);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.loadedAjv).toBe(false);
  });

  it('an edit after a pass is validated in full: an invalid policy is still exit 3', async () => {
    const directory = await home();
    expect((await classify(directory)).exitCode).toBe(0);
    const policy = join(directory, 'policy.yaml');
    writeFileSync(policy, 'apiVersion: syndicate/v1\nkind: Policy\nsensitivity:\n  public: [nowhere]\n', { mode: 0o600 });
    const edited = await classify(directory);
    expect(edited.exitCode, edited.stderr).toBe(3);
    expect(edited.stderr).toContain(`${policy} is not a valid policy`);
    expect(edited.stderr).toContain('/sensitivity/public/0');
  });

  it('a marker others can write is not believed, even when it names the bytes', async () => {
    const directory = await home();
    const policy = join(directory, 'policy.yaml');
    writeFileSync(policy, 'apiVersion: syndicate/v1\nkind: Policy\nsensitivity:\n  public: [nowhere]\n', { mode: 0o600 });
    const marker = join(directory, 'policy.yaml.schema-checked');
    writeFileSync(marker, schemaCheckedLine(readFileSync(policy)));
    chmodSync(marker, 0o666);
    const forged = await classify(directory);
    expect(forged.exitCode, forged.stderr).toBe(3);
    expect(forged.stderr).toContain('/sensitivity/public/0');
    expect(existsSync(marker)).toBe(true);
  });
});
