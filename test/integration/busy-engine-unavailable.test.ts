/**
 * An engine that answered slower than the workflow's first-token budget (a queue of concurrent
 * requests ahead of each answer), then rate-limited or went down under the load: nothing may take
 * the request just now, but nothing in the policy refuses it — the slow model alone would be kept
 * as a last resort. `run`, `route`, MCP (`complete`, `route_explain`) and the gateway (the official
 * openai client) all say it is unavailable (exit 5; 429 or 503 with Retry-After), never
 * `route_denied` (exit 4, 403) with a hint to relax the latency budget.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { connectMcpClient, toolText } from '../helpers/mcp.js';
import { Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

const PROMPT = 'say hello';
/** The interactive workflow's first-token budget; each seeded answer takes several times it. */
const BUDGET_MS = 100;
const SLOW_MS = 4 * BUDGET_MS;

interface ErrorDocument {
  code: string;
  message: string;
  hint?: string;
  details?: Record<string, unknown>;
}

/** A store whose one engine answered `PROMPT` twice, each slower than the budget: its recent first tokens exceed it. */
async function slowEngineScenario(): Promise<{ scenario: Scenario; engine: FakeEngine }> {
  const engine = await startFakeEngine({ kind: 'llama.cpp' });
  const scenario = await Scenario.create({ policyExtra: ['workflows:', '  interactive:', '    latencyBudget:', `      firstTokenMs: ${BUDGET_MS}`].join('\n') });
  await scenario.register({ id: 'llama', engine });
  engine.setFault({ slowStreamMs: SLOW_MS }, 2);
  for (let answer = 0; answer < 2; answer += 1) {
    const run = await scenario.cli(['run', '--no-stream', PROMPT]);
    expect(run.exitCode, run.stderr).toBe(0);
  }
  return { scenario, engine };
}

/** `command PROMPT` with `--json`: its exit code and error document. */
async function failure(scenario: Scenario, command: 'run' | 'route'): Promise<{ exitCode: number; error: ErrorDocument }> {
  const { result, document } = await scenario.json(command === 'run' ? ['run', '--no-stream', PROMPT] : ['route', PROMPT]);
  expect(document.ok, result.stdout).toBe(false);
  return { exitCode: result.exitCode, error: document.error as ErrorDocument };
}

/** The excluded model's rules in a plan's exclusions (`details.excluded`, or `details.plan.excluded` for `route`). */
function excludedRules(error: ErrorDocument): string[] {
  const plan = error.details?.['plan'] as { excluded: { rules: string[] }[] } | undefined;
  const excluded = (plan?.excluded ?? error.details?.['excluded']) as { rules: string[] }[];
  return excluded.flatMap((exclusion) => exclusion.rules);
}

/** The gateway's answer to one chat request through the openai client, which must fail. */
async function gatewayFailure(scenario: Scenario, gateway: RunningServe): Promise<InstanceType<typeof OpenAI.APIError>> {
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim(), maxRetries: 0 });
  const error: unknown = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: PROMPT }] }).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(OpenAI.APIError);
  return error as InstanceType<typeof OpenAI.APIError>;
}

/**
 * A store with an engine slower than the budget (`slowEngineScenario`), and a gateway and an MCP
 * server on it, for the tests of one describe block; `down`: the engine is closed before they start.
 */
function servedSlowEngine({ down }: { down: boolean }): { scenario: Scenario; engine: FakeEngine; gateway: RunningServe; mcp: Client } {
  const setup = {} as { scenario: Scenario; engine: FakeEngine; gateway: RunningServe; mcp: Client };
  beforeAll(async () => {
    Object.assign(setup, await slowEngineScenario());
    // Nothing answers there any more: each command's probe finds it unreachable.
    if (down) await setup.engine.close();
    [setup.gateway, setup.mcp] = await Promise.all([startServe(['serve', '--port', '0'], { SYNDICATE_HOME: setup.scenario.home }, 120_000), connectMcpClient(setup.scenario.home)]);
  }, 90_000);
  afterAll(async () => {
    await setup.mcp?.close();
    setup.gateway?.server.kill('SIGTERM');
    await setup.gateway?.server;
    setup.scenario?.cleanup();
    await setup.engine?.close();
  });
  return setup;
}

describe('an engine slower than the budget that is rate-limiting', () => {
  const setup = servedSlowEngine({ down: false });

  afterEach(async () => {
    setup.engine.setFault('ok');
    await setup.scenario.releaseHolds();
  });

  it('is rate-limited (exit 5, 429 with Retry-After) on every surface, not refused by the policy', async () => {
    const { scenario, engine, gateway, mcp } = setup;
    engine.setFault({ status: 429, headers: { 'retry-after': '600' } }, 1);
    const held = await failure(scenario, 'run');
    expect(held.exitCode).toBe(5);
    expect(held.error.code).toBe('rate_limited');

    for (const command of ['run', 'route'] as const) {
      const { exitCode, error } = await failure(scenario, command);
      expect({ command, exitCode, code: error.code }).toEqual({ command, exitCode: 5, code: 'rate_limited' });
      // Held back by the 429 and over the budget: both rules, but only the 429 keeps it out.
      expect(excludedRules(error)).toEqual(['rate_limited', 'latency_budget']);
      expect(error.details?.['retryAfterSeconds'], command).toBeGreaterThan(0);
      expect(error.hint).toMatch(/^retry in \d+ s/);
    }

    const explained = (await mcp.callTool({ name: 'route_explain', arguments: { prompt: PROMPT } })) as CallToolResult;
    expect(toolText(explained)).toMatch(/^every candidate is rate-limiting this request\nhint: retry in \d+ s\n/);
    const completed = (await mcp.callTool({ name: 'complete', arguments: { prompt: PROMPT } })) as CallToolResult;
    expect(completed.isError).toBe(true);
    expect(toolText(completed)).toMatch(/^every candidate is rate-limiting this request \(.*\(rate_limited\)\n/);

    const error = await gatewayFailure(scenario, gateway);
    expect(error.status).toBe(429);
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
  }, 90_000);
});

describe('an engine slower than the budget that went down', () => {
  const setup = servedSlowEngine({ down: true });

  it('is unavailable (exit 5, 503) on every surface, not refused by the policy', async () => {
    const { scenario, gateway, mcp } = setup;
    for (const command of ['run', 'route'] as const) {
      const { exitCode, error } = await failure(scenario, command);
      expect({ command, exitCode, code: error.code }).toEqual({ command, exitCode: 5, code: 'inference_unavailable' });
      expect(excludedRules(error)).toEqual(['unhealthy', 'latency_budget']);
      expect(error.message).toMatch(/^inference unavailable, try again later \(llama:/);
      expect(error.hint).toContain('llama');
      expect(error.hint).not.toContain('latency budget');
    }

    const explained = (await mcp.callTool({ name: 'route_explain', arguments: { prompt: PROMPT } })) as CallToolResult;
    expect(toolText(explained)).toMatch(/^inference unavailable, try again later\nhint: /);
    const completed = (await mcp.callTool({ name: 'complete', arguments: { prompt: PROMPT } })) as CallToolResult;
    expect(completed.isError).toBe(true);
    expect(toolText(completed)).toMatch(/^inference unavailable, try again later \(.*\(inference_unavailable\)\n/);

    const error = await gatewayFailure(scenario, gateway);
    expect(error.status).toBe(503);
    // When the gateway probes the engine again: its own health monitor's time.
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
  }, 90_000);
});
