import type { ResultPromise } from 'execa';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTestModel } from '../../src/engines/test-model.js';
import { startLlamaServer } from '../helpers/llama-server.js';
import { Scenario } from '../helpers/scenario.js';

/**
 * The probes against llama.cpp's own `llama-server` (built from source by the suite's global
 * setup) running the generated test model, the way an operator runs them: `provider add
 * llama.cpp`, `provider test`, `provider capabilities`.
 *
 * The test model writes gibberish, so the verdicts that depend on what a model says (JSON
 * parses, tool-call arguments close within the budget) may only be `inconclusive`; nothing may
 * be reported as a deviation the server does not have.
 */
const serverPath = process.env['SYNDICATE_LLAMA_SERVER'];



describe('probes against a real llama-server', () => {
  let scenario: Scenario;
  const servers: ResultPromise[] = [];

  async function startServer(extra: string[]): Promise<string> {
    const server = await startLlamaServer(join(scenario.home, 'tiny.gguf'), extra);
    servers.push(server.process);
    return server.url;
  }

  beforeAll(async () => {
    expect(serverPath !== undefined && existsSync(serverPath), `SYNDICATE_LLAMA_SERVER=${String(serverPath)} does not exist (the global setup builds it)`).toBe(true);
    scenario = await Scenario.create();
    await writeTestModel(join(scenario.home, 'tiny.gguf'));
  }, 120_000);

  afterAll(async () => {
    for (const server of servers) server.kill();
    await Promise.allSettled(servers);
    scenario?.cleanup();
  });

  it('provider add llama.cpp, then provider test and provider capabilities agree with the server', async () => {
    const url = await startServer([]);
    const added = await scenario.cli(['provider', 'add', 'llama.cpp', '--base-url', `${url}/v1`]);
    expect(added.exitCode, added.stderr).toBe(0);

    const test = await scenario.json(['provider', 'test', 'llama.cpp']);
    expect(test.result.exitCode, test.result.stderr).toBe(0);
    const checks = test.document.checks as { name: string; verdict: string; detail: string }[];
    expect(checks.find((check) => check.name === 'wire.extensions')?.detail).toContain('timings');
    expect(checks.find((check) => check.name === 'record.context-window.reported')?.verdict).toBe('pass');

    const capabilities = await scenario.json(['provider', 'capabilities', 'llama.cpp', '--no-update']);
    expect(capabilities.result.exitCode, capabilities.result.stderr).toBe(0);
    const rows = capabilities.document.capabilities as { capability: string; verdict: string }[];
    const verdict = (name: string): string | undefined => rows.find((row) => row.capability === name)?.verdict;
    expect(verdict('token-accounting')).toBe('pass');
    expect(verdict('streaming')).toBe('pass');
    expect(verdict('seed-control')).toBe('pass');
    expect(verdict('context-window')).toBe('pass');
    expect(['pass', 'inconclusive']).toContain(verdict('stop-sequences'));
    expect(['pass', 'inconclusive']).toContain(verdict('json-mode'));
    expect(['pass', 'declared', 'inconclusive', 'warn']).toContain(verdict('tool-calls'));
    expect((capabilities.document.deviations as { declared: boolean }[]).filter((item) => !item.declared)).toEqual([]);
  }, 120_000);

  it('--no-jinja: a record tagging the model tools fails the tool-call probe with the server\'s own message', async () => {
    const url = await startServer(['--no-jinja']);
    const path = join(scenario.home, 'nojinja.yaml');
    writeFileSync(
      path,
      `apiVersion: syndicate/v1\nkind: Provider\nid: nojinja\nclass: local\nwire: openai\nbaseUrl: ${url}/v1\nmodels:\n  - id: tiny.gguf\n    contextWindow: 2048\n    capabilityClass: small\n    tags: [tools]\ndeviations: []\nengine:\n  kind: llama.cpp\n`,
    );
    expect((await scenario.cli(['provider', 'register', path])).exitCode).toBe(0);
    const { result, document } = await scenario.json(['provider', 'capabilities', 'nojinja', '--no-update']);
    expect(result.exitCode, result.stderr).toBe(1);
    const rows = (document.error as { details: { capabilities: { capability: string; verdict: string; observed: string; checks: { detail: string }[] }[] } }).details.capabilities;
    const tools = rows.find((row) => row.capability === 'tool-calls');
    expect(tools).toMatchObject({ verdict: 'fail', observed: 'refused (HTTP 500)' });
    expect(tools?.checks[0]?.detail).toContain('tools param requires --jinja flag');
  }, 120_000);
});
