/**
 * `syndicate serve` as a real process: the printed token, the loopback rule, an OpenAI SDK
 * request through it, and a graceful SIGTERM while a slow stream is in flight.
 */
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { BIN, makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';

const MODEL = 'llama3.2:latest';

let engine: FakeEngine;
let home: string;
let cleanup: () => void;
let token: string;

beforeAll(async () => {
  engine = await startFakeEngine({ kind: 'ollama' });
  ({ home, cleanup } = makeTempHome('syndicate-gateway-cli-'));
  expect((await runCli(['init'], { home })).exitCode).toBe(0);
  const record = join(home, 'ollama.yaml');
  writeFileSync(
    record,
    `apiVersion: syndicate/v1\nkind: Provider\nid: ollama\nclass: local\nwire: openai\nbaseUrl: ${engine.baseUrl}\nengine:\n  kind: ollama\nmodels:\n  - id: ${MODEL}\n    contextWindow: 8192\n    capabilityClass: small\n`,
  );
  expect((await runCli(['provider', 'register', record], { home })).exitCode).toBe(0);
  token = readFileSync(join(home, 'gateway.token'), 'utf8').trim();
});

afterAll(async () => {
  await engine?.close();
  cleanup?.();
});

describe('syndicate serve', () => {
  it('--print-token prints only the token', async () => {
    const result = await runCli(['serve', '--print-token'], { home });
    expect(result).toMatchObject({ exitCode: 0, stdout: token, stderr: '' });
    const json = await runCli(['--json', 'serve', '--print-token'], { home });
    expect(parseJsonDocument(json.stdout)).toEqual({ ok: true, token });
  });

  it('refuses a non-loopback host without --allow-remote (exit 2)', async () => {
    const result = await runCli(['serve', '--host', '0.0.0.0', '--port', '0'], { home });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('refusing to bind the gateway to 0.0.0.0');
    expect(result.stderr).toContain('--allow-remote');
  });

  it('names the fix when the port is taken (exit 2, not an internal error)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const result = await runCli(['serve', '--port', String(port)], { home });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${port}: the port is already in use`);
      expect(result.stderr).toContain('--port 0');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('rejects a bad port (exit 2)', async () => {
    const result = await runCli(['serve', '--port', '70000'], { home });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--port must be an integer from 0 to 65535, got "70000"');
  });

  it('--access-log prints one plain line per request on stderr', async () => {
    const server = execa('node', [BIN, 'serve', '--port', '0', '--access-log'], { env: { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' }, reject: false, timeout: 30_000 });
    const url = await new Promise<string>((resolve, reject) => {
      let stderr = '';
      server.stderr?.on('data', (data: Buffer) => {
        stderr += data.toString();
        const match = /listening on (http:\/\/\S+)/.exec(stderr);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
      void server.then((result) => reject(new Error(`serve exited early: ${String(result.stderr)}`)));
    });
    await new OpenAI({ baseURL: `${url}/v1`, apiKey: token, maxRetries: 0 }).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer wrong' } });
    server.kill('SIGTERM');
    const result = await server;
    expect(result.exitCode).toBe(0);
    const lines = String(result.stderr).split('\n');
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z POST /v1/chat/completions 200 \\d+\\.\\d ms ok ollama:${MODEL.replace('.', '\\.')} local public tokens \\d+/\\d+ ev_\\S+$`)));
    expect(lines).toContainEqual(expect.stringMatching(/^\S+ GET \/v1\/models 401 \d+\.\d ms token_invalid -$/));
    expect(result.stderr).not.toContain('capital of France');
  });

  it('answers an OpenAI SDK client, then on SIGTERM finishes the in-flight stream, completes its evidence and exits 0', async () => {
    const server = execa('node', [BIN, '--json', 'serve', '--port', '0', '--access-log'], {
      env: { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' },
      reject: false,
      timeout: 30_000,
    });
    let stdout = '';
    const started = await new Promise<{ url: string; openaiBaseUrl: string; anthropicBaseUrl: string }>((resolve, reject) => {
      server.stdout?.on('data', (data: Buffer) => {
        stdout += data.toString();
        try {
          resolve(JSON.parse(stdout) as { url: string; openaiBaseUrl: string; anthropicBaseUrl: string });
        } catch {
          // the document is not complete yet
        }
      });
      void server.then((result) => reject(new Error(`serve exited early: ${String(result.stderr)}`)));
    });
    expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(started.openaiBaseUrl).toBe(`${started.url}/v1`);
    expect(started.anthropicBaseUrl).toBe(started.url);

    const client = new OpenAI({ baseURL: started.openaiBaseUrl, apiKey: token, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_ANSWER);

    engine.setFault({ slowStreamMs: 120 }, 1);
    const response = await fetch(`${started.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'auto', stream: true, messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
    });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    let text = decoder.decode(first.value);
    server.kill('SIGTERM');
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const result = await server;
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('shutting down: finishing 1 in-flight request(s)');
    expect(result.stderr).toContain('gateway stopped');
    // --access-log with --json: one JSON object per request on stderr, the drained stream included.
    const logged = String(result.stderr)
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { path: string; status: number; outcome: string; streamed: boolean; provider: string });
    expect(logged).toEqual([
      expect.objectContaining({ path: '/v1/chat/completions', status: 200, outcome: 'ok', streamed: false, provider: 'ollama' }),
      expect.objectContaining({ path: '/v1/chat/completions', status: 200, outcome: 'ok', streamed: true, provider: 'ollama' }),
    ]);
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const deltas = text
      .split('\n\n')
      .filter((frame) => frame.startsWith('data: {'))
      .map((frame) => (JSON.parse(frame.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '');
    expect(deltas.join('')).toBe(DEFAULT_ANSWER);

    const listed = parseJsonDocument((await runCli(['--json', 'evidence', 'list', '--limit', '1'], { home })).stdout) as {
      evidence: { state: string; caller: string; streamed: boolean }[];
    };
    expect(listed.evidence[0]).toMatchObject({ state: 'completed', caller: 'gateway', streamed: true });
    await expect(fetch(`${started.url}/healthz`)).rejects.toThrow();
  });
});
