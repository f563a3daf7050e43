import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli, type CliResult } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/prepared-home.js';
import { registeredEngineScenario } from '../helpers/scenario.js';

/**
 * A batch script runs `syndicate run` (`route`, `classify`) hundreds of times against one policy.
 * Each process compiled the policy schema with ajv: about 130 ms of CPU in a `run` of about 700
 * (bench/RESULTS.md). The schemas are compiled into standalone validators at build time
 * (scripts/compile-schemas.mjs): a process validates the policy in full every time, loading the
 * generated validator and ajv's runtime helpers but never ajv's compiler, and writes nothing beside
 * the policy (no `policy.yaml.schema-checked`, which an earlier fix kept to skip the schema).
 */

/** A command's result and the ajv modules (ajv, ajv-formats) its process loaded. */
async function withAjvModules(home: string, args: string[]): Promise<{ result: CliResult; ajvModules: string[] }> {
  const out = join(home, 'modules.jsonl');
  writeFileSync(out, '');
  const result = await runCli(args, {
    home,
    env: { NODE_OPTIONS: `--require ${join(REPO_ROOT, 'test', 'helpers', 'modules-loaded-at-exit.cjs')}`, SYNDICATE_TEST_MODULES_OUT: out },
  });
  const modules = JSON.parse(readFileSync(out, 'utf8').trim()) as string[];
  return { result, ajvModules: modules.filter((path) => /\/node_modules\/ajv(-formats)?\//.test(path)) };
}

/** Asserts the process ran a generated validator (ajv's runtime helpers) and loaded nothing else of ajv: not its compiler, codegen or classes. */
function expectOnlyRuntimeHelpers(ajvModules: readonly string[]): void {
  expect(ajvModules.some((path) => path.includes('/node_modules/ajv/dist/runtime/')), ajvModules.join('\n')).toBe(true);
  expect(ajvModules.filter((path) => !/\/node_modules\/ajv\/dist\/runtime\/|\/node_modules\/ajv-formats\/dist\/formats\.js$/.test(path))).toEqual([]);
}

const policyFiles = (home: string): string[] => readdirSync(home).filter((name) => name.startsWith('policy.yaml')).sort();

describe('the policy schema, compiled at build time', () => {
  let cleanup: () => void = () => {};
  afterEach(() => cleanup());

  async function home(): Promise<string> {
    const prepared = await initialisedHome();
    cleanup = prepared.cleanup;
    return prepared.home;
  }

  it("classify validates the policy without loading ajv's compiler, and leaves nothing beside the policy", async () => {
    const directory = await home();
    const { result, ajvModules } = await withAjvModules(directory, ['classify', 'hello']);
    expect(result.exitCode, result.stderr).toBe(0);
    expectOnlyRuntimeHelpers(ajvModules);
    expect(policyFiles(directory)).toEqual(['policy.yaml']);
  });

  it('an edit after a pass is validated in full: an invalid policy is still exit 3, with its messages', async () => {
    const directory = await home();
    expect((await withAjvModules(directory, ['classify', 'hello'])).result.exitCode).toBe(0);
    const policy = join(directory, 'policy.yaml');
    writeFileSync(policy, 'apiVersion: syndicate/v1\nkind: Policy\nsensitivity:\n  public: [nowhere]\nretentionDayz: 3\n', { mode: 0o600 });
    const { result, ajvModules } = await withAjvModules(directory, ['classify', 'hello']);
    expect(result.exitCode, result.stderr).toBe(3);
    expect(result.stderr).toContain(`${policy} is not a valid policy`);
    expect(result.stderr).toContain('/sensitivity/public/0');
    expect(result.stderr).toContain('unknown key "retentionDayz"');
    expectOnlyRuntimeHelpers(ajvModules);
  });
});

describe('a run, with the schemas compiled at build time', () => {
  const setup = registeredEngineScenario('local', { kind: 'ollama', answer: 'hi there' });

  it("answers without loading ajv's compiler, and leaves nothing beside the policy", async () => {
    const { result, ajvModules } = await withAjvModules(setup.scenario.home, ['run', 'hello']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('hi there');
    expectOnlyRuntimeHelpers(ajvModules);
    expect(policyFiles(setup.scenario.home)).toEqual(['policy.yaml']);
    expect(existsSync(join(setup.scenario.home, 'policy.yaml.schema-checked'))).toBe(false);
  });
});
