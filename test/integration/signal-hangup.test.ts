/**
 * SIGHUP: a terminal or SSH session closed under a command. It stops the command as SIGTERM does
 * (exit 129, 128 + 1): `run`'s call is recorded as cancelled by the caller and `--json` still gets
 * its document — node's default ended the process at once (129, no document, the row left pending
 * for the next command to record as interrupted). `mcp` and `engine serve` drain on it; `serve` re-reads its policy
 * and token on it (test/integration/gateway-cli.test.ts, serve-hangup-while-starting.test.ts).
 */
import { execa } from 'execa';
import OpenAI, { APIError } from 'openai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, makeTempHome, parseJsonDocument, REPO_ROOT } from '../helpers/cli.js';
import { writeFakeNodeLlamaCpp } from '../helpers/fake-node-llama-cpp.js';
import { inferenceExchanges, registeredEngineScenario, type Scenario } from '../helpers/scenario.js';

const ANSWER = 'one two three four five six seven eight nine ten eleven twelve';

/** The slow engine's frames this far apart (the first at once): the rest of the answer takes longer than any test here may run. */
const REST_FAR_AWAY_MS = 10_000;

const HUNG_UP = 'hung up (SIGHUP: its terminal or session closed) before the answer ended';

interface ListedRow {
  id: string;
  state: string;
  caller: string;
  verbatimCapture: string | null;
  markers: string[];
  error: { code: string; message: string } | null;
}

async function listedRows(scenario: Scenario): Promise<ListedRow[]> {
  const { result, document } = await scenario.json(['evidence', 'list']);
  expect(result.exitCode, result.stderr).toBe(0);
  return document.evidence as ListedRow[];
}

describe('a streamed run whose terminal closes (SIGHUP) mid-answer', () => {
  const setup = registeredEngineScenario('slow', { kind: 'ollama', answer: ANSWER }, 'in-process');

  // A closed terminal may send two: the shell passes its hangup on to its jobs, and the kernel hangs
  // up the foreground group as the shell exits. The second must not quit before the row is recorded.
  for (const hangups of [1, 2]) {
    it(`${hangups === 1 ? 'one SIGHUP' : 'two SIGHUPs'}: exits 129 after recording the attempt as cancelled, and --json prints its one error document`, { timeout: 90_000 }, async () => {
      const { scenario, engine } = setup;
      // Rows from where this test starts: the other test of the block may have run first.
      const earlierRows = new Set((await listedRows(scenario)).map((row) => row.id));
      engine.setFault({ slowStreamMs: REST_FAR_AWAY_MS });
      const before = inferenceExchanges(engine).length;
      const child = execa('node', [BIN, '--json', 'run', 'Count to twelve.', '--provider', 'slow', '--stream'], {
        cwd: REPO_ROOT,
        env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1', FORCE_COLOR: '0' },
        reject: false,
      });
      // --json prints nothing before the end: the engine's second frame sent means the run had the first 10 s before.
      await expect.poll(() => inferenceExchanges(engine).at(before)?.responseChunks.length ?? 0, { timeout: 30_000, interval: 20 }).toBeGreaterThan(1);
      const sentBeforeSignal = inferenceExchanges(engine).at(before)!.responseChunks.length;
      for (let count = 0; count < hangups; count += 1) child.kill('SIGHUP');
      const ended = await child;
      engine.setFault('ok');
      expect(ended.signal, ended.stderr).toBeUndefined();
      expect(ended.exitCode, ended.stderr).toBe(129);
      expect(String(ended.stderr)).not.toContain('again: quit at once');
      // Stopped, not after the rest of the answer: no frame after the signal, and the engine saw the stream cut.
      expect(inferenceExchanges(engine).at(before)!.responseChunks.length).toBe(sentBeforeSignal);
      await expect.poll(() => inferenceExchanges(engine).at(before)!.abortedByClient, { timeout: 20_000, interval: 20 }).toBe(true);
      const document = JSON.parse(String(ended.stdout)) as { ok: boolean; error: { code: string; message: string; details: { attempts: { evidenceId: string }[] } } };
      expect(document).toMatchObject({ ok: false, error: { code: 'interrupted', message: HUNG_UP } });

      // Finished by the process itself: not left pending for the next command to record as interrupted.
      const rows = (await listedRows(scenario)).filter((row) => !earlierRows.has(row.id));
      expect(rows, JSON.stringify(rows)).toHaveLength(1);
      const row = rows[0]!;
      expect(row.id).toBe(document.error.details.attempts[0]?.evidenceId);
      expect(row).toMatchObject({ state: 'failed', verbatimCapture: 'partial', error: { code: 'interrupted', message: HUNG_UP } });
      expect(row.markers).toContain('partial_response');
      const verify = await scenario.cli(['evidence', 'verify']);
      expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    });
  }
});

describe('syndicate mcp whose terminal closes (SIGHUP) while a complete call streams', () => {
  const setup = registeredEngineScenario('slow', { kind: 'ollama', answer: ANSWER }, 'in-process');

  it('stops as on SIGTERM: the call is cancelled and recorded naming the signal, exit 129, nothing but the protocol on stdout', { timeout: 90_000 }, async () => {
    const { scenario, engine } = setup;
    engine.setFault({ slowStreamMs: REST_FAR_AWAY_MS });
    const before = inferenceExchanges(engine).length;
    const server = execa('node', [BIN, 'mcp'], { cwd: REPO_ROOT, env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1', FORCE_COLOR: '0' }, reject: false });
    const send = (message: Record<string, unknown>): void => void server.stdin?.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
    send({ id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'hangup-test', version: '1.0.0' } } });
    send({ method: 'notifications/initialized' });
    send({ id: 2, method: 'tools/call', params: { name: 'complete', arguments: { prompt: 'Count to twelve.', provider: 'slow' }, _meta: { progressToken: 7 } } });
    await expect.poll(() => inferenceExchanges(engine).at(before)?.responseChunks.length ?? 0, { timeout: 30_000, interval: 20 }).toBeGreaterThan(1);
    const sentBeforeSignal = inferenceExchanges(engine).at(before)!.responseChunks.length;
    // Two, as a closed terminal may send: the second does not cut the drain short.
    server.kill('SIGHUP');
    server.kill('SIGHUP');
    const ended = await server;
    engine.setFault('ok');
    expect(ended.signal, String(ended.stderr)).toBeUndefined();
    expect(ended.exitCode, String(ended.stderr)).toBe(129);
    expect(String(ended.stderr)).toContain('stopping (SIGHUP): cancelling 1 call in flight');
    expect(String(ended.stderr)).toContain('error: MCP server stopped (SIGHUP): 1 call in flight cancelled');
    for (const line of String(ended.stdout).split('\n').filter((text) => text !== '')) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
    expect(inferenceExchanges(engine).at(before)!.responseChunks.length).toBe(sentBeforeSignal);

    const row = (await listedRows(scenario))[0]!;
    expect(row).toMatchObject({ state: 'failed', caller: 'mcp', verbatimCapture: 'partial', error: { code: 'interrupted', message: 'the MCP server stopped (it received SIGHUP) before the answer ended' } });
  });
});

describe('syndicate engine serve whose terminal closes (SIGHUP) while it generates (fake node-llama-cpp)', () => {
  let temporary: { home: string; cleanup: () => void };
  let engineDirectory: string;
  let modelPath: string;
  beforeAll(() => {
    temporary = makeTempHome('syndicate-engine-hangup-');
    engineDirectory = join(temporary.home, 'engine');
    writeFakeNodeLlamaCpp(engineDirectory);
    modelPath = join(temporary.home, 'model.gguf');
    writeFileSync(modelPath, 'not read by the fake engine');
  });
  afterAll(() => temporary?.cleanup());

  it('drains as on SIGTERM (a second hangup does not cut it short), the generation stopped at --drain-timeout, exit 129', { timeout: 90_000 }, async () => {
    // A generation that never ends by itself; the listeners node-llama-cpp's signal-exit leaves, SIGHUP's included.
    const server = execa('node', [BIN, '--json', 'engine', 'serve', '--model', modelPath, '--port', '0', '--drain-timeout', '300ms'], {
      cwd: REPO_ROOT,
      env: { SYNDICATE_HOME: temporary.home, SYNDICATE_ENGINE_DIR: engineDirectory, FORCE_COLOR: '0', NO_COLOR: '1', FAKE_LLAMA_TOKENS: 'Infinity', FAKE_LLAMA_TOKEN_MS: '50', FAKE_LLAMA_SIGNAL_EXIT: '1' },
      reject: false,
      stdin: 'ignore',
    });
    const output = { stdout: '', stderr: '' };
    server.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString('utf8')));
    server.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')));
    try {
      await expect.poll(() => output.stderr.includes('SIGTERM or Ctrl-C stops'), { timeout: 60_000, interval: 20 }).toBe(true);
      const { baseUrl } = parseJsonDocument(output.stdout.slice(0, output.stdout.indexOf('\n'))) as { baseUrl: string };
      const client = new OpenAI({ baseURL: baseUrl, apiKey: 'unused', maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: 'model', messages: [{ role: 'user', content: 'hello' }], stream: true });
      let chunks = 0;
      const outcome = (async () => {
        for await (const _chunk of stream) chunks += 1;
        return 'ended' as const;
      })().catch((error: unknown) => error);
      await expect.poll(() => chunks, { timeout: 30_000, interval: 20 }).toBeGreaterThan(1);
      server.kill('SIGHUP');
      server.kill('SIGHUP');
      const ended = await outcome;
      expect(ended).toBeInstanceOf(APIError);
      const why = 'SIGHUP, and the requests in flight did not finish within --drain-timeout 300ms';
      expect((ended as APIError).message).toBe(`the engine stopped (${why}) before the answer ended`);
      const result = await server;
      expect(result.signal, output.stderr).toBeUndefined();
      expect(result.exitCode, output.stderr).toBe(129);
      expect(output.stderr).not.toContain('second signal');
      expect(JSON.parse(output.stdout.slice(output.stdout.indexOf('\n') + 1))).toMatchObject({ ok: false, error: { code: 'interrupted', message: `engine stopped (${why}): 1 request in flight cut short` } });
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
    }
  });
});
