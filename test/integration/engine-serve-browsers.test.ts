/**
 * `syndicate engine serve` against browsers. The engine answers without a token on loopback, so
 * two kinds of web page could use it: one whose name its attacker re-points at 127.0.0.1 (DNS
 * rebinding: the browser then lets its scripts read the engine's answers as their own; only the
 * `Host` it sends tells it apart), and any page at all sending a "simple" cross-origin POST (a
 * `text/plain` body, no preflight) that the engine parses as JSON and generates for (only the
 * `Origin` the browser adds tells it apart). The real CLI on loopback with the fake node-llama-cpp,
 * which logs each generation it begins, so a refusal is seen to have generated nothing.
 */
import { execa, type ResultPromise } from 'execa';
import OpenAI from 'openai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BIN, makeTempHome, parseJsonDocument, REPO_ROOT, runCli } from '../helpers/cli.js';
import { writeFakeNodeLlamaCpp } from '../helpers/fake-node-llama-cpp.js';

const CHAT = JSON.stringify({ model: 'model', messages: [{ role: 'user', content: 'hello' }] });

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request through node:http with exactly these headers (a forged `Host` included), answered whole. */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, method, path, headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) } }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks).toString('utf8') }));
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

interface ServingEngine {
  process: ResultPromise;
  port: number;
  baseUrl: string;
  /** Generations the fake engine has begun so far. */
  generations(): number;
  stop(): Promise<void>;
}

describe('syndicate engine serve: DNS rebinding and cross-origin requests (fake node-llama-cpp)', () => {
  let temporary: { home: string; cleanup: () => void };
  let engineDirectory: string;
  let modelPath: string;
  let engine: ServingEngine;

  /** `engine serve --json --port 0 ...extraArgs`, once it printed its ready line. */
  async function startEngine(name: string, extraArgs: string[]): Promise<ServingEngine> {
    const log = join(temporary.home, `${name}-generations.log`);
    const child: ResultPromise = execa('node', [BIN, '--json', 'engine', 'serve', '--model', modelPath, '--port', '0', ...extraArgs], {
      cwd: REPO_ROOT,
      env: { SYNDICATE_HOME: temporary.home, SYNDICATE_ENGINE_DIR: engineDirectory, FAKE_LLAMA_LOG: log, FORCE_COLOR: '0', NO_COLOR: '1' },
      extendEnv: true,
      reject: false,
      stdin: 'ignore',
    });
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        if (stdout.includes('\n')) resolve();
      });
      void child.then((result) => reject(new Error(`engine serve exited ${String(result.exitCode)} before it was ready: ${stderr}`)));
    });
    const ready = parseJsonDocument(stdout.slice(0, stdout.indexOf('\n')).trim() === '{' ? stdout : stdout.slice(0, stdout.indexOf('\n'))) as { ok: boolean; baseUrl: string; url: string };
    if (!ready.ok) throw new Error(`engine serve did not start: ${stdout}${stderr}`);
    const { baseUrl, url } = ready;
    return {
      process: child,
      port: Number(new URL(url).port),
      baseUrl,
      generations: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').length - 1 : 0),
      stop: async () => {
        child.kill('SIGTERM');
        await child;
      },
    };
  }

  beforeAll(async () => {
    temporary = makeTempHome('syndicate-engine-browsers-');
    engineDirectory = join(temporary.home, 'engine');
    writeFakeNodeLlamaCpp(engineDirectory);
    modelPath = join(temporary.home, 'model.gguf');
    writeFileSync(modelPath, 'not read by the fake engine');
    engine = await startEngine('plain', []);
  }, 90_000);

  afterAll(async () => {
    await engine?.stop();
    temporary?.cleanup();
  });

  describe('a page that re-pointed its name at 127.0.0.1 (forged Host)', () => {
    it('gets 403 host_not_allowed in the OpenAI error shape for a chat, and nothing is generated', async () => {
      const before = engine.generations();
      const answer = await send(engine.port, 'POST', '/v1/chat/completions', { host: `evil.example:${engine.port}`, 'content-type': 'application/json', origin: `http://evil.example:${engine.port}` }, CHAT);
      expect(answer.status, answer.body).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'host_not_allowed', message: expect.stringContaining('--allow-host') } });
      expect(answer.body).not.toContain('hi');
      expect(engine.generations()).toBe(before);
    });

    it.each(['/v1/models', '/props', '/health', '/v1/chat/completions'])('gets 403 at GET %s too: nothing about the model (its path, its name) is readable', async (path) => {
      const answer = await send(engine.port, 'GET', path, { host: `evil.example:${engine.port}` });
      expect(answer.status, answer.body).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'host_not_allowed' } });
      expect(answer.body).not.toContain(modelPath);
      expect(answer.body).not.toContain('model.gguf');
    });

    it('gets 403 by a name that only looks local (a rebinding service, a trailing label)', async () => {
      for (const host of [`127.0.0.1.nip.io:${engine.port}`, `localhost.evil.example:${engine.port}`, 'evil.example']) {
        expect((await send(engine.port, 'GET', '/v1/models', { host })).status, host).toBe(403);
      }
    });
  });

  describe('a page on another site (a cross-origin POST without preflight)', () => {
    it.each([
      ['text/plain', 'text/plain;charset=UTF-8'],
      ['a form', 'application/x-www-form-urlencoded'],
    ])('sending a JSON body as %s gets 403 origin_not_allowed, and nothing is generated', async (_what, contentType) => {
      const before = engine.generations();
      const answer = await send(engine.port, 'POST', '/v1/chat/completions', { host: `127.0.0.1:${engine.port}`, 'content-type': contentType, origin: 'https://evil.example' }, CHAT);
      expect(answer.status, answer.body).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'origin_not_allowed', message: expect.stringContaining('https://evil.example') } });
      expect(engine.generations()).toBe(before);
    });

    it('gets 403 from an opaque origin (a sandboxed frame, an https page posting to http: Origin null) and from a remote address', async () => {
      const before = engine.generations();
      for (const origin of ['null', 'http://203.0.113.7:8080', `http://127.0.0.1.nip.io:${engine.port}`, 'file://']) {
        const answer = await send(engine.port, 'POST', '/v1/chat/completions', { host: `127.0.0.1:${engine.port}`, 'content-type': 'text/plain', origin }, CHAT);
        expect(answer.status, origin).toBe(403);
      }
      expect(engine.generations()).toBe(before);
    });

    it('gets 403 for its preflight too (no CORS: a page elsewhere can never read an answer)', async () => {
      const answer = await send(engine.port, 'OPTIONS', '/v1/chat/completions', { host: `127.0.0.1:${engine.port}`, origin: 'https://evil.example', 'access-control-request-method': 'POST' });
      expect(answer.status).toBe(403);
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  describe('what real clients send still works', () => {
    it('the official openai client, by 127.0.0.1 and by localhost', async () => {
      for (const baseURL of [engine.baseUrl, engine.baseUrl.replace('127.0.0.1', 'localhost')]) {
        const before = engine.generations();
        const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
        const completion = await client.chat.completions.create({ model: 'model', messages: [{ role: 'user', content: 'hello' }] });
        expect(completion.choices[0]?.message.content, baseURL).toBe('hi');
        expect(engine.generations()).toBe(before + 1);
      }
    });

    it('curl -d (a form content type, no Origin), a Host of [::1], and pages served from this machine', async () => {
      const requests: Record<string, string>[] = [
        { host: `127.0.0.1:${engine.port}`, 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'curl/8.5.0' },
        { host: `[::1]:${engine.port}`, 'content-type': 'application/json' },
        { host: `localhost:${engine.port}`, 'content-type': 'application/json', origin: 'http://localhost:5173' },
        { host: `127.0.0.1:${engine.port}`, 'content-type': 'text/plain', origin: `http://127.0.0.1:${engine.port}` },
        { host: `127.0.0.1:${engine.port}`, 'content-type': 'application/json', origin: 'http://app.localhost:3000' },
      ];
      for (const headers of requests) {
        const answer = await send(engine.port, 'POST', '/v1/chat/completions', headers, CHAT);
        expect(answer.status, `${JSON.stringify(headers)}: ${answer.body}`).toBe(200);
        expect((JSON.parse(answer.body) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe('hi');
      }
    });
  });

  describe('--allow-host', () => {
    let proxied: ServingEngine;
    beforeAll(async () => {
      proxied = await startEngine('proxied', ['--allow-host', 'engine.example.org']);
    }, 90_000);
    afterAll(async () => proxied?.stop());

    it('answers a reverse proxy that passes its own name on in Host, and pages served under that name; others are still refused', async () => {
      const allowed = await send(proxied.port, 'POST', '/v1/chat/completions', { host: 'engine.example.org', 'content-type': 'application/json', origin: 'https://engine.example.org' }, CHAT);
      expect(allowed.status, allowed.body).toBe(200);
      const before = proxied.generations();
      expect((await send(proxied.port, 'POST', '/v1/chat/completions', { host: `evil.example:${proxied.port}`, 'content-type': 'application/json' }, CHAT)).status).toBe(403);
      expect((await send(proxied.port, 'POST', '/v1/chat/completions', { host: 'engine.example.org', 'content-type': 'text/plain', origin: 'https://evil.example' }, CHAT)).status).toBe(403);
      expect(proxied.generations()).toBe(before);
    });

    it('takes only host names: a wildcard, a URL or a port is exit 2 naming the option, before the model loads', async () => {
      for (const name of ['*', 'http://engine.example.org', 'engine.example.org:8090']) {
        const result = await runCli(['engine', 'serve', '--model', modelPath, '--port', '0', '--allow-host', name], { home: temporary.home, env: { SYNDICATE_ENGINE_DIR: engineDirectory } });
        expect(result.exitCode, result.stderr).toBe(2);
        expect(result.stderr).toContain(`--allow-host: "${name}" is not a host name`);
      }
    });
  });
});
