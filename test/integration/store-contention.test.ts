/**
 * Many syndicate processes on one data directory at once, as a CI runner with parallel jobs beside
 * a gateway and an agent's MCP server has them: `run` processes, the gateway serving the official
 * `openai` client, `syndicate mcp` answering `complete`, `evidence verify` and a race of processes
 * for one permit, all while a `run` killed with SIGKILL mid-stream left its pending row behind.
 * Measured at 16 `run` loops + 8 gateway clients + an MCP loop + prune, verify, session, policy
 * and permit commands for 25 s: every process exited 0, no two rows shared a chain position, and
 * the counts below held; this pins the same guarantees with few enough processes for a loaded CI
 * machine, ordered by events, not by the clock.
 */
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { connectMcpClient } from '../helpers/mcp.js';
import { runKilledMidStream } from '../helpers/processes.js';
import { defaultModel, inferenceExchanges, Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

interface EvidenceRow {
  id: string;
  kind: string;
  state: string;
  caller: string;
  pid: number;
  chain_seq: number | null;
  permit_id: string | null;
}

const RUNS = 4;
const GATEWAY_REQUESTS = 12;
const MCP_CALLS = 3;
const PERMIT_RACERS = 3;

describe('many syndicate processes on one store at once', () => {
  let engine: FakeEngine;
  let slow: FakeEngine;
  let scenario: Scenario;
  let gateway: RunningServe;

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp' });
    // Its frames 60 s apart after the first: the killed run below is cut mid-stream, never finished.
    slow = await startFakeEngine({ kind: 'ollama', answer: 'one two three four five six' });
    slow.setFault({ slowStreamMs: 60_000 });
    scenario = await Scenario.create();
    await scenario.register({ id: 'llama', engine }, { id: 'slow', engine: slow });
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home }, 90_000);
  });
  afterAll(async () => {
    gateway?.server.kill('SIGTERM');
    await gateway?.server;
    scenario?.cleanup();
    await Promise.all([engine?.close(), slow?.close()]);
  });

  const cli = (args: string[]) =>
    execa('node', [BIN, '--json', ...args], { cwd: REPO_ROOT, env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1' }, reject: false, timeout: 80_000 });
  const document = (stdout: unknown): Record<string, unknown> => JSON.parse(String(stdout)) as Record<string, unknown>;

  it('every process ends as documented, every evidence id it reported is one row of an intact chain, a permit serves once, and a killed run is recovered as interrupted', { timeout: 90_000 }, async () => {
    const model = defaultModel(engine);
    // A run killed without any chance to clean up while it streams: its pending row stays behind.
    const killedPid = await runKilledMidStream(scenario.home, 'Count to six.', ['--provider', 'slow']);

    const permit = await cli(['permit', 'issue', '--provider', 'llama', '--model', model]);
    expect(permit.exitCode, String(permit.stderr)).toBe(0);
    const token = document(permit.stdout).token as string;

    const gatewayToken = readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim();
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gatewayToken, maxRetries: 0 });
    const mcp = await connectMcpClient(scenario.home);
    const gatewayCalls = async (): Promise<string[]> => {
      const ids: string[] = [];
      for (let index = 0; index < GATEWAY_REQUESTS / 4; index += 1) {
        const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: `hello ${index}` }] }).withResponse();
        ids.push(response.headers.get('x-syndicate-evidence')!);
      }
      return ids;
    };
    const mcpCalls = async (): Promise<string[]> => {
      const ids: string[] = [];
      for (let index = 0; index < MCP_CALLS; index += 1) {
        const result = (await mcp.callTool({ name: 'complete', arguments: { prompt: `agent turn ${index}`, provider: 'llama' } })) as CallToolResult;
        expect(result.isError, JSON.stringify(result.content)).not.toBe(true);
        ids.push((result.structuredContent as { evidenceId: string }).evidenceId);
      }
      return ids;
    };
    const [runs, racers, gatewayIds, mcpIds, verifyDuring] = await Promise.all([
      Promise.all(Array.from({ length: RUNS }, (_, index) => cli(['run', `job ${index}`, '--provider', 'llama', '--no-stream']))),
      Promise.all(Array.from({ length: PERMIT_RACERS }, () => cli(['run', 'Name the capital of France.', '--no-stream', '--permit', token]))),
      Promise.all(Array.from({ length: 4 }, gatewayCalls)).then((lists) => lists.flat()),
      mcpCalls(),
      cli(['evidence', 'verify']),
    ]);
    await mcp.close();

    for (const run of runs) expect(run.exitCode, String(run.stdout) + String(run.stderr)).toBe(0);
    expect(verifyDuring.exitCode, String(verifyDuring.stdout) + String(verifyDuring.stderr)).toBe(0);
    // Exactly one racer is served; the others are refused as a replay, each refusal recorded.
    expect(racers.map((racer) => racer.exitCode).sort()).toEqual([0, ...Array<number>(PERMIT_RACERS - 1).fill(4)]);
    const refusals = racers.filter((racer) => racer.exitCode === 4).map((racer) => document(racer.stdout).error as { code: string; details: { attempts: { evidenceId: string }[] } });
    for (const refusal of refusals) expect(refusal.code).toBe('permit_replayed');

    const reported = [
      ...runs.map((run) => document(run.stdout).evidenceId as string),
      document(racers.find((racer) => racer.exitCode === 0)!.stdout).evidenceId as string,
      ...refusals.flatMap((refusal) => refusal.details.attempts.map((attempt) => attempt.evidenceId)),
      ...gatewayIds,
      ...mcpIds,
    ];
    expect(new Set(reported).size).toBe(RUNS + PERMIT_RACERS + GATEWAY_REQUESTS + MCP_CALLS);

    const verify = await cli(['evidence', 'verify']);
    expect(verify.exitCode, String(verify.stdout) + String(verify.stderr)).toBe(0);
    const db = new Database(join(scenario.home, 'syndicate.db'), { readonly: true });
    let rows: EvidenceRow[];
    try {
      rows = db.prepare('SELECT id, kind, state, caller, pid, chain_seq, permit_id FROM evidence').all() as EvidenceRow[];
    } finally {
      db.close();
    }
    // One row per reported id, and the killed run's, recovered as interrupted: nothing else, nothing missing.
    const interrupted = rows.filter((row) => row.state === 'interrupted');
    expect(interrupted.map((row) => row.pid)).toEqual([killedPid]);
    expect(rows.map((row) => row.id).sort()).toEqual([...reported, interrupted[0]!.id].sort());
    expect(rows.filter((row) => row.state === 'pending')).toEqual([]);
    const positions = rows.map((row) => row.chain_seq);
    expect(positions).not.toContain(null);
    expect(new Set(positions).size).toBe(rows.length);
    // The permit was consumed by one invocation; every other use of it is a denial.
    const permitId = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { id: string }).id;
    expect(rows.filter((row) => row.permit_id === permitId && row.kind !== 'denial').map((row) => row.state)).toEqual(['completed']);
    expect(inferenceExchanges(slow)).toHaveLength(1);

    // `metrics` counts what the rows hold; the gateway's counter what it served.
    const metrics = await cli(['metrics', '--since', '1h']);
    expect(metrics.exitCode, String(metrics.stderr)).toBe(0);
    const requests = (document(metrics.stdout).metrics as { requests: { total: number; failedAttempts: number; denied: number } }).requests;
    const count = (predicate: (row: EvidenceRow) => boolean): number => rows.filter(predicate).length;
    expect(requests).toMatchObject({
      total: count((row) => row.state === 'completed'),
      failedAttempts: count((row) => row.state === 'interrupted'),
      denied: count((row) => row.state === 'denied'),
    });
    const exposition = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${gatewayToken}` } })).text();
    const served = [...exposition.matchAll(/^syndicate_gateway_requests_total\{[^}]*outcome="completed"[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
    expect(served).toBe(count((row) => row.caller === 'gateway' && row.state === 'completed'));
    expect(served).toBe(GATEWAY_REQUESTS);
  });
});
