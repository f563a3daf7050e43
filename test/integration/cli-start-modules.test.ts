import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type CliResult } from '../helpers/cli.js';
import { registeredEngineScenario, type Scenario } from '../helpers/scenario.js';

/**
 * Every `syndicate` process pays for the modules it loads before it does any work: a shell script
 * or a CI job runs hundreds of them (bench/cli-start.js, bench/RESULTS.md). A command loads the
 * heavy libraries only on the paths that use them: the tokenizer (~0.3 s of CPU) when a token
 * count is printed or changes a plan, yaml when a YAML text is parsed, prom-client for the
 * gateway's counters, the MCP SDK and zod under `syndicate mcp`.
 */

const scratch = mkdtempSync(join(tmpdir(), 'syndicate-modules-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let outputs = 0;
/** A command's result and every module (ES and CommonJS) its process loaded, by path. */
async function withModules(scenario: Scenario, args: string[]): Promise<{ result: CliResult; modules: string[] }> {
  outputs += 1;
  const out = join(scratch, `modules-${outputs}.txt`);
  writeFileSync(out, '');
  const result = await scenario.cli(args, {
    env: { NODE_OPTIONS: `--import ${join(REPO_ROOT, 'test', 'helpers', 'modules-imported-at-exit.mjs')}`, SYNDICATE_TEST_MODULES_OUT: out },
  });
  return { result, modules: readFileSync(out, 'utf8').split('\n').filter((path) => path !== '') };
}

const HEAVY = {
  tokenizer: /\/node_modules\/gpt-tokenizer\//,
  yaml: /\/node_modules\/yaml\//,
  promClient: /\/node_modules\/prom-client\//,
  secretlint: /\/node_modules\/@secretlint\//,
  mcp: /\/node_modules\/(@modelcontextprotocol\/sdk|zod)\//,
  gateway: /\/dist\/gateway\//,
} as const;

/** The heavy libraries among `modules`, by name. */
function heavyLoaded(modules: readonly string[]): string[] {
  return Object.entries(HEAVY)
    .filter(([, pattern]) => modules.some((path) => pattern.test(path)))
    .map(([name]) => name);
}

describe('what a command loads at start, with one local engine registered and nothing priced', () => {
  const setup = registeredEngineScenario('local', { kind: 'ollama', answer: 'hi there' });

  it('the helper sees ES modules: `policy show` loads yaml (it prints the policy as YAML)', { timeout: 90_000 }, async () => {
    const { result, modules } = await withModules(setup.scenario, ['policy', 'show']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(modules.some((path) => path.endsWith('/dist/cli/main.js'))).toBe(true);
    expect(heavyLoaded(modules)).toEqual(['yaml']);
  });

  it('`route` plans without the tokenizer when the byte bound decides the plan, and `--json` still prints the exact count', { timeout: 90_000 }, async () => {
    const human = await withModules(setup.scenario, ['route', 'hello']);
    expect(human.result.exitCode, human.result.stderr).toBe(0);
    expect(human.result.stdout).toContain('local');
    expect(heavyLoaded(human.modules)).toEqual(['yaml']);

    const json = await withModules(setup.scenario, ['--json', 'route', 'hello']);
    expect(json.result.exitCode, json.result.stderr).toBe(0);
    // `hello` is one cl100k token, plus 10 %: the byte bound would say 6.
    expect(JSON.parse(json.result.stdout)).toMatchObject({ ok: true, estimatedPromptTokens: 2 });
    expect(heavyLoaded(json.modules)).toEqual(['tokenizer', 'yaml']);
  });

  it('`run` answered with usage loads no tokenizer, gateway, MCP or prom-client', { timeout: 90_000 }, async () => {
    const { result, modules } = await withModules(setup.scenario, ['run', 'hello']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('hi there');
    expect(heavyLoaded(modules)).toEqual(['yaml']);
  });

  it('listing and verifying parse no YAML and load none of the heavy libraries', { timeout: 90_000 }, async () => {
    // Evidence and a session-less row to list and verify.
    expect((await setup.scenario.cli(['run', 'hello'])).exitCode).toBe(0);
    for (const args of [['provider', 'list'], ['evidence', 'list'], ['evidence', 'verify'], ['session', 'list']]) {
      const { result, modules } = await withModules(setup.scenario, args);
      expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(heavyLoaded(modules), args.join(' ')).toEqual([]);
    }
  });

  it('`metrics` reads the policy (yaml) but not prom-client, which counts for the gateway alone', { timeout: 90_000 }, async () => {
    const { result, modules } = await withModules(setup.scenario, ['metrics']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(heavyLoaded(modules)).toEqual(['yaml']);
  });
});
