/**
 * Where the evidence of a refusal or failure is: every one that recorded a row names it in
 * `details.evidenceId` — the last attempt's when the walk made several (each attempt keeps its own
 * in `details.attempts[].evidenceId`) — through `run --json`, `permit verify --json`, the gateway's
 * `x-syndicate-evidence` header on its error (the official openai client), and MCP `complete`.
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

const PROMPT = 'Name the capital of France.';
const FAILING = { status: 500, body: JSON.stringify({ error: { code: 500, message: 'runner crashed', type: 'server_error' } }) };

interface FailureDetails {
  requestId?: string;
  evidenceId?: string;
  attempts?: { hop: number; evidenceId?: string }[];
}

describe('the evidence id of a refusal or failure', () => {
  let scenario: Scenario;
  let first: FakeEngine;
  let second: FakeEngine;
  let gateway: RunningServe;
  let mcp: Client;

  beforeAll(async () => {
    [first, second] = await Promise.all([startFakeEngine({ kind: 'llama.cpp' }), startFakeEngine({ kind: 'llama.cpp' })]);
    scenario = await Scenario.create();
    await scenario.register({ id: 'first', engine: first }, { id: 'second', engine: second });
    [gateway, mcp] = await Promise.all([startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home }, 120_000), connectMcpClient(scenario.home)]);
  }, 90_000);

  // A failing engine is held down after its failures: the next test meets neither the fault nor the hold.
  afterEach(async () => {
    first.setFault('ok');
    second.setFault('ok');
    await scenario.releaseHolds();
  });

  afterAll(async () => {
    await mcp?.close();
    gateway?.server.kill('SIGTERM');
    await gateway?.server;
    scenario?.cleanup();
    await Promise.all([first?.close(), second?.close()]);
  });

  it('run: every candidate failed — details.evidenceId is the last attempt\'s row, each attempt keeps its own', async () => {
    first.setFault(FAILING, 1);
    second.setFault(FAILING, 1);
    const { result, document } = await scenario.json(['run', '--no-stream', PROMPT]);
    expect(result.exitCode, result.stderr).toBe(5);
    const error = document.error as { code: string; details: FailureDetails };
    expect(error.code).toBe('inference_unavailable');
    const attempts = error.details.attempts ?? [];
    expect(attempts.map((attempt) => attempt.hop)).toEqual([0, 1]);
    expect(attempts.every((attempt) => attempt.evidenceId?.startsWith('ev_'))).toBe(true);
    expect(error.details.evidenceId).toBe(attempts[1]?.evidenceId);
    expect(await scenario.evidence(error.details.evidenceId!)).toMatchObject({ state: 'failed', hop: 1, requestId: error.details.requestId });
  }, 90_000);

  it('permit verify: a forged permit is refused (exit 4) naming its denial row in details.evidenceId', async () => {
    const issued = await scenario.cli(['permit', 'issue', '--provider', 'first', '--model', 'qwen2.5-0.5b-instruct-q4_k_m.gguf']);
    expect(issued.exitCode, issued.stderr).toBe(0);
    const [prefix, payload, signature] = issued.stdout.trim().split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const forged = [prefix, Buffer.from(JSON.stringify({ ...claims, maxSensitivity: 'restricted' })).toString('base64url'), signature].join('.');
    const { result, document } = await scenario.json(['permit', 'verify', forged]);
    expect(result.exitCode, result.stderr).toBe(4);
    const error = document.error as { code: string; details?: FailureDetails };
    expect(error.code).toBe('permit_forged');
    expect(await scenario.evidence(error.details?.evidenceId ?? 'none')).toMatchObject({ state: 'denied', error: { code: 'permit_forged' } });
  }, 90_000);

  it('the gateway names the failure\'s row in x-syndicate-evidence on its error, as it does on an answer', async () => {
    first.setFault(FAILING, 1);
    second.setFault(FAILING, 1);
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim(), maxRetries: 0 });
    const error: unknown = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: PROMPT }] }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const failed = error as InstanceType<typeof OpenAI.APIError>;
    expect(failed.status).toBe(503);
    const evidenceId = failed.headers?.get('x-syndicate-evidence');
    expect(evidenceId).toMatch(/^ev_/);
    expect(await scenario.evidence(evidenceId!)).toMatchObject({ state: 'failed', hop: 1, caller: 'gateway', requestId: failed.requestID });
  }, 90_000);

  it('MCP complete lists the row of every attempt, the last one the failure\'s', async () => {
    first.setFault(FAILING, 1);
    second.setFault(FAILING, 1);
    const completed = (await mcp.callTool({ name: 'complete', arguments: { prompt: PROMPT } })) as CallToolResult;
    expect(completed.isError).toBe(true);
    const listed = /^evidence: (.*)$/m.exec(toolText(completed))?.[1] ?? '';
    const ids = [...listed.matchAll(/`syndicate evidence show (ev_\w+)`/g)].map((match) => match[1]!);
    expect(ids).toHaveLength(2);
    expect(await scenario.evidence(ids[1]!)).toMatchObject({ state: 'failed', hop: 1, caller: 'mcp' });
  }, 90_000);
});
