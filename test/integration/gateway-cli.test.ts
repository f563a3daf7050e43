/**
 * `syndicate serve` as a real process: the printed token, the loopback rule, an OpenAI SDK
 * request through it, and a graceful SIGTERM while a slow stream is in flight.
 */
import { execa } from 'execa';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { BIN, makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/prepared-home.js';
import { startServe } from '../helpers/serve.js';
import { registerFilesInHome, storedEnvelope, storedEvidenceList } from '../helpers/store.js';

const MODEL = 'llama3.2:latest';

let engine: FakeEngine;
let home: string;
let cleanup: () => void;
let token: string;

beforeAll(async () => {
  engine = await startFakeEngine({ kind: 'ollama' });
  // Initialised and registered in this process's way: init and provider register are not this file's subject.
  ({ home, cleanup } = await initialisedHome('syndicate-gateway-cli-'));
  const record = join(home, 'ollama.yaml');
  writeFileSync(
    record,
    `apiVersion: syndicate/v1\nkind: Provider\nid: ollama\nclass: local\nwire: openai\nbaseUrl: ${engine.baseUrl}\nengine:\n  kind: ollama\nmodels:\n  - id: ${MODEL}\n    contextWindow: 8192\n    capabilityClass: small\n`,
  );
  await registerFilesInHome(home, record);
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

  it('on a home init never created: exit 6 saying to run init, and the home is left as it was (no store)', async () => {
    const fresh = makeTempHome('syndicate-gateway-uninit-');
    try {
      const result = await runCli(['--json', 'serve', '--port', '0'], { home: fresh.home });
      expect(result.exitCode).toBe(6);
      expect(parseJsonDocument(result.stdout)).toMatchObject({ ok: false, error: { code: 'store_failure', hint: 'run `syndicate init` first' } });
      expect(readdirSync(fresh.home)).toEqual([]);
      // Nor does rotating the token there write a lone token file.
      const rotated = await runCli(['--json', 'serve', '--rotate-token'], { home: fresh.home });
      expect(rotated.exitCode).toBe(6);
      expect(parseJsonDocument(rotated.stdout)).toMatchObject({ ok: false, error: { code: 'store_failure', hint: 'run `syndicate init` first' } });
      expect(readdirSync(fresh.home)).toEqual([]);
    } finally {
      fresh.cleanup();
    }
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

  it('rejects a --trust-tier the policy does not define (exit 2), listing the defined ones, before listening', async () => {
    const result = await runCli(['serve', '--port', '0', '--trust-tier', 'nobody'], { home });
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('error: unknown trust tier "nobody"\nhint: use one of: operator, agent, untrusted (trustTiers in policy.yaml; without the option: operator)');
  });

  it('rejects a --cors-origin that is not scheme://host[:port] (exit 2)', async () => {
    const result = await runCli(['--json', 'serve', '--port', '0', '--cors-origin', 'http://localhost:3000', '*'], { home });
    expect(result.exitCode).toBe(2);
    expect(parseJsonDocument(result.stdout)).toMatchObject({ ok: false, error: { code: 'usage', message: expect.stringContaining('"*" is not an origin') } });
  });

  it('rejects a bad port (exit 2), naming the flag, the range and the fix', async () => {
    for (const port of ['99999', '-1', 'abc']) {
      const result = await runCli(['serve', '--port', port], { home });
      expect(result.exitCode, port).toBe(2);
      expect(result.stderr, port).toBe(`error: --port must be an integer from 0 to 65535, got "${port}"\nhint: for example --port 8089, or --port 0 to pick a free port`);
    }
  });

  it('rejects a --host that is a URL or host:port, or does not resolve (exit 2, not an internal error)', async () => {
    for (const host of ['127.0.0.1:8089', 'http://127.0.0.1']) {
      const result = await runCli(['serve', '--host', host, '--port', '0'], { home });
      expect(result.exitCode, host).toBe(2);
      expect(result.stderr, host).toContain(`error: --host must be an IP address or a host name, got "${host}"`);
      expect(result.stderr, host).toContain('the port goes in --port');
    }
    const unresolved = await runCli(['serve', '--host', 'nowhere.invalid', '--port', '0'], { home });
    expect(unresolved.exitCode).toBe(2);
    expect(unresolved.stderr).toContain('error: cannot listen on nowhere.invalid: nowhere.invalid does not resolve on this host');
    expect(unresolved.stderr).not.toContain('other machines could reach it');
    const remote = await runCli(['serve', '--host', 'nowhere.invalid', '--allow-remote', '--port', '0'], { home });
    expect(remote.exitCode).toBe(2);
    expect(remote.stderr).toContain('error: cannot listen on nowhere.invalid:0: nowhere.invalid does not resolve on this host');
  });

  it("started with --home, an error's hint names that home: its commands work as the operator types them", async () => {
    const { server, url } = await startServe(['--home', home, 'serve', '--port', '0', '--trust-tier', 'agent'], { SYNDICATE_HOME: '' });
    try {
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: token, maxRetries: 0 });
      const refused = await client.chat.completions
        .create({ model: 'auto', messages: [{ role: 'user', content: 'connect to postgres://admin:s3cretPassw0rd@db.internal:5432/prod' }] })
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
      const message = (refused as InstanceType<typeof OpenAI.PermissionDeniedError>).message;
      expect(message).toContain(`\`syndicate --home ${home} serve --trust-tier\``);
      expect(message).not.toMatch(/`syndicate (?!--home)/);
    } finally {
      server.kill('SIGTERM');
      expect((await server).exitCode).toBe(0);
    }
  });

  it('a client that sent no token is told where to read it: the command its 401 quotes prints the token that then works', async () => {
    const { server, url } = await startServe(['--home', home, 'serve', '--port', '0'], { SYNDICATE_HOME: '' });
    try {
      const missing = await fetch(`${url}/v1/models`);
      expect(missing.status).toBe(401);
      const { error } = (await missing.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('token_missing');
      const quoted = [...error.message.matchAll(/`(syndicate [^`]*)`/g)].map((match) => match[1] ?? '');
      expect(quoted).toEqual([`syndicate --home ${home} serve --print-token`]);
      // Run as the developer pastes it (no SYNDICATE_HOME), it prints the token the gateway takes.
      const printed = await execa('sh', ['-c', (quoted[0] ?? '').replace(/^syndicate /, `node '${BIN}' `)], { reject: false, env: { NO_COLOR: '1', SYNDICATE_HOME: '' } });
      expect(printed.exitCode, String(printed.stderr)).toBe(0);
      const listed = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${String(printed.stdout).trim()}` } });
      expect(listed.status).toBe(200);
    } finally {
      server.kill('SIGTERM');
      expect((await server).exitCode).toBe(0);
    }
  });

  it('a priced model registered by another process while it runs: the tokenizer is loaded in the background, said once on stderr', async () => {
    const fresh = await initialisedHome('syndicate-gateway-registry-warm-up-');
    try {
      const local = join(fresh.home, 'ollama.yaml');
      writeFileSync(local, readFileSync(join(home, 'ollama.yaml')));
      await registerFilesInHome(fresh.home, local);
      const { server, stderr, waitForStderr } = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: fresh.home });
      try {
        expect(stderr()).not.toContain('tokenizer loaded');
        const hosted = join(fresh.home, 'hosted.yaml');
        writeFileSync(
          hosted,
          'apiVersion: syndicate/v1\nkind: Provider\nid: hosted\nclass: approved_hosted\nwire: openai\nbaseUrl: https://api.openai.com/v1\nauth: { env: OPENAI_API_KEY }\nmodels:\n  - { id: gpt-4o-mini, contextWindow: 128000, capabilityClass: large, price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } }\n',
        );
        expect((await runCli(['provider', 'register', hosted], { home: fresh.home })).exitCode).toBe(0);
        await waitForStderr('tokenizer loaded in the background');
      } finally {
        server.kill('SIGTERM');
      }
      const result = await server;
      expect(result.exitCode, String(result.stderr)).toBe(0);
      expect(String(result.stderr).match(/tokenizer loaded in the background \(\d+ ms\)/g)).toHaveLength(1);
    } finally {
      fresh.cleanup();
    }
  });

  it('refuses a Host that is not loopback (DNS rebinding) with 403, answers the names --allow-host gives, and takes only host names there (exit 2)', async () => {
    const ask = async (url: string, host: string): Promise<string> => {
      const { port } = new URL(url);
      const socket = (await import('node:net')).connect(Number(port), '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
      return answer.split('\r\n')[0] ?? '';
    };
    const plain = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: home });
    try {
      expect(await ask(plain.url, 'evil.example:8089')).toBe('HTTP/1.1 403 Forbidden');
      expect(await ask(plain.url, 'localhost:8089')).toBe('HTTP/1.1 200 OK');
    } finally {
      plain.server.kill('SIGTERM');
      await plain.server;
    }
    const proxied = await startServe(['serve', '--port', '0', '--allow-host', 'gateway.example.org'], { SYNDICATE_HOME: home });
    try {
      expect(await ask(proxied.url, 'gateway.example.org')).toBe('HTTP/1.1 200 OK');
      expect(await ask(proxied.url, 'evil.example')).toBe('HTTP/1.1 403 Forbidden');
      expect(proxied.stderr()).toContain('it also answers to Host gateway.example.org');
    } finally {
      proxied.server.kill('SIGTERM');
      await proxied.server;
    }
    const bad = await runCli(['serve', '--port', '0', '--allow-host', 'https://gateway.example.org'], { home });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--allow-host: "https://gateway.example.org" is not a host name');
  });

  it('--access-log prints one plain line per request on stderr', async () => {
    const { server, url } = await startServe(['serve', '--port', '0', '--access-log'], { SYNDICATE_HOME: home });
    await new OpenAI({ baseURL: `${url}/v1`, apiKey: token, maxRetries: 0 }).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer wrong' } });
    server.kill('SIGTERM');
    const result = await server;
    expect(result.exitCode).toBe(0);
    // stdout holds only where it listened; the guidance and the log lines are diagnostics.
    expect(result.stdout).toBe(`syndicate gateway listening on ${url}`);
    expect(result.stderr).toContain(`OPENAI_BASE_URL=${url}/v1`);
    const lines = String(result.stderr).split('\n');
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z POST /v1/chat/completions 200 \\d+\\.\\d ms ok ollama:${MODEL.replace('.', '\\.')} local public tokens \\d+/\\d+ ev_\\S+$`)));
    expect(lines).toContainEqual(expect.stringMatching(/^\S+ GET \/v1\/models 401 \d+\.\d ms token_invalid -$/));
    expect(result.stderr).not.toContain('capital of France');
  });

  it('a request whose body is still arriving when SIGTERM comes is served, not refused, and the gateway exits 0 after it', async () => {
    const { server, url, waitForStderr } = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: home });
    const body = JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    const { port } = new URL(url);
    const socket = (await import('node:net')).connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    // The answer is complete when its content-length is in (the gateway closes the connection after it, as it is shutting down).
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 20)}`);
    // In flight once the gateway has read its head and checked its token: waited for, not a fixed 200 ms
    // (a loaded machine may not have read it by then, and the drain would not wait for it).
    await vi.waitFor(
      async () => expect(((await (await fetch(`${url}/healthz`)).json()) as { inFlight: number }).inFlight).toBe(1),
      { timeout: 20_000, interval: 20 },
    );
    server.kill('SIGTERM');
    await waitForStderr('shutting down: finishing 1 in-flight request (1 still uploading)');
    socket.write(body.slice(20));
    await ended;
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(answer).toContain(DEFAULT_ANSWER);
    expect((await server).exitCode).toBe(0);
  });

  it('answers an OpenAI SDK client, then on SIGTERM finishes the in-flight stream, completes its evidence and exits 0', async () => {
    const server = execa('node', [BIN, '--json', 'serve', '--port', '0', '--access-log'], {
      env: { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' },
      reject: false,
      timeout: 30_000,
    });
    // Once listening: one JSON line on stdout, so a script can read it line by line while serve runs on.
    const started = await new Promise<{ ok: true; url: string; host: string; port: number; openaiBaseUrl: string; anthropicBaseUrl: string }>((resolve, reject) => {
      let stdout = '';
      server.stdout?.on('data', (data: Buffer) => {
        stdout += data.toString();
        const newline = stdout.indexOf('\n');
        if (newline !== -1) resolve(JSON.parse(stdout.slice(0, newline)) as { ok: true; url: string; host: string; port: number; openaiBaseUrl: string; anthropicBaseUrl: string });
      });
      void server.then((result) => reject(new Error(`serve exited early: ${String(result.stderr)}`)));
    });
    expect(started).toMatchObject({ ok: true, host: '127.0.0.1', port: expect.any(Number) });
    expect(started.url).toBe(`http://127.0.0.1:${started.port}`);
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
    expect(String(result.stdout).split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('shutting down: finishing 1 in-flight request');
    expect(result.stderr).toContain('gateway stopped');
    // --access-log with --json: one JSON line per request on stderr (its entry in `fields`), the drained stream included.
    const logged = String(result.stderr)
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as { fields: { path?: string; status: number; outcome: string; streamed: boolean; provider: string } }).fields)
      .filter((fields) => fields.path !== undefined);
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

    const listed = { evidence: storedEvidenceList(home, { limit: 1 }) };
    expect(listed.evidence[0]).toMatchObject({ state: 'completed', caller: 'gateway', streamed: true });
    await expect(fetch(`${started.url}/healthz`)).rejects.toThrow();
  });
});

describe('syndicate serve and policy edits', () => {
  it('--rotate-token replaces the token, and after SIGHUP the running gateway accepts only the new one', async () => {
    const { home: tokenHome, cleanup: cleanupHome } = await initialisedHome('syndicate-gateway-token-');
    try {
      const { server, url, stderr, waitForStderr } = await startServe(['--home', tokenHome, 'serve', '--port', '0'], {});
      const models = (bearer: string): Promise<number> => fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${bearer}` } }).then((response) => response.status);
      const old = readFileSync(join(tokenHome, 'gateway.token'), 'utf8').trim();
      expect(await models(old)).toBe(200);

      const rotated = await runCli(['--json', 'serve', '--rotate-token'], { home: tokenHome });
      expect(rotated.exitCode, rotated.stderr).toBe(0);
      expect(parseJsonDocument(rotated.stdout)).toMatchObject({ ok: true, rotated: true, path: join(tokenHome, 'gateway.token') });
      const fresh = readFileSync(join(tokenHome, 'gateway.token'), 'utf8').trim();
      expect(fresh).toMatch(/^syn_[\w-]{32}$/);
      expect(fresh).not.toBe(old);
      // The token is never printed by the rotation, only by --print-token.
      expect(rotated.stdout + rotated.stderr).not.toContain(fresh);
      expect((statSync(join(tokenHome, 'gateway.token')).mode & 0o777).toString(8)).toBe('600');

      server.kill('SIGHUP');
      await waitForStderr('gateway token reloaded');
      expect(await models(old)).toBe(401);
      expect(await models(fresh)).toBe(200);
      expect(stderr()).not.toContain(fresh);

      server.kill('SIGTERM');
      expect((await server).exitCode).toBe(0);
    } finally {
      cleanupHome();
    }
  });

  it('follows an edited policy.yaml on SIGHUP, and fails closed to local providers while the file is invalid', async () => {
    const claude = await startFakeEngine({ kind: 'anthropic' });
    const { home: policyHome, cleanup: cleanupHome } = await initialisedHome('syndicate-gateway-policy-');
    const env = { SYNDICATE_HOME: policyHome, FAKE_CLAUDE_KEY: 'sk-fake' };
    try {
      const records = [
        ['ollama', `apiVersion: syndicate/v1\nkind: Provider\nid: ollama\nclass: local\nwire: openai\nbaseUrl: ${engine.baseUrl}\nengine:\n  kind: ollama\nmodels:\n  - id: ${MODEL}\n    contextWindow: 8192\n    capabilityClass: small\n`],
        ['claude', `apiVersion: syndicate/v1\nkind: Provider\nid: claude\nclass: approved_hosted\nwire: anthropic\nbaseUrl: ${claude.baseUrl}\nauth:\n  env: FAKE_CLAUDE_KEY\nmodels:\n  - id: claude-sonnet-4-20250514\n    contextWindow: 200000\n    capabilityClass: frontier\n    price:\n      inputPerMTok: 3\n      outputPerMTok: 15\n`],
      ];
      for (const [id, yaml] of records) writeFileSync(join(policyHome, `${id}.yaml`), yaml as string);
      await registerFilesInHome(policyHome, join(policyHome, 'ollama.yaml'), join(policyHome, 'claude.yaml'));
      const policyPath = join(policyHome, 'policy.yaml');
      // The fake hosted provider listens on loopback: the egress allow-list must name it.
      const original = readFileSync(policyPath, 'utf8').replace('allowHosts: [api.anthropic.com,', 'allowHosts: [127.0.0.1, api.anthropic.com,');
      expect(original).toContain('allowHosts: [127.0.0.1,');
      writeFileSync(policyPath, original);

      const { server, url, stderr, waitForStderr } = await startServe(['serve', '--port', '0'], env);
      const gatewayToken = readFileSync(join(policyHome, 'gateway.token'), 'utf8').trim();
      const ask = (model: string): Promise<Response> =>
        fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${gatewayToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
        });
      // The default policy lets public data reach an approved hosted provider.
      const first = await ask('claude:claude-sonnet-4-20250514');
      expect(first.status, await first.clone().text()).toBe(200);

      // The operator keeps public and internal data on this machine: the running gateway follows.
      writeFileSync(policyPath, original.replace('public: [local, approved_hosted, restricted_hosted]', 'public: [local]').replace('internal: [local, approved_hosted]', 'internal: [local]'));
      server.kill('SIGHUP');
      await waitForStderr('policy reloaded from');
      const refused = await ask('claude:claude-sonnet-4-20250514');
      expect(refused.status).toBe(403);
      // Refused for the rule the edit wrote: public data stays on local providers.
      expect(((await refused.json()) as { error: unknown }).error).toMatchObject({
        code: 'route_denied',
        message: expect.stringContaining('claude:claude-sonnet-4-20250514: class approved_hosted may not receive public data (allowed: local)'),
      });

      // Back to hosted-allowed but broken: the gateway fails closed until the file is fixed.
      const claudeCalls = claude.exchanges.length;
      writeFileSync(policyPath, original.replace('public: [local, approved_hosted, restricted_hosted]', 'public: [everywhere]'));
      server.kill('SIGHUP');
      await waitForStderr('requests go to local providers only');
      const stillRefused = await ask('claude:claude-sonnet-4-20250514');
      expect(stillRefused.status).toBe(403);
      // Refused because the policy failed closed, not for a rule of the broken file (which would allow it).
      const { error: stillRefusedError } = (await stillRefused.json()) as { error: { message: string } };
      expect(stillRefusedError).toMatchObject({
        code: 'route_denied',
        message: expect.stringContaining('claude:claude-sonnet-4-20250514: planning failed closed: only local providers are considered'),
      });
      // And says why, which the client could not otherwise learn: the file, what is wrong in it, what applies meanwhile.
      expect(stillRefusedError.message).toContain(`; ${policyPath} changed and is not a valid policy (/sensitivity/public/0 `);
      const local = await ask('auto');
      expect(local.status).toBe(200);
      expect(local.headers.get('x-syndicate-provider')).toBe('ollama');
      const explained = storedEnvelope(policyHome, local.headers.get('x-syndicate-evidence') ?? '');
      expect(explained).toBeDefined();
      expect(JSON.stringify(explained)).toContain('is not a valid policy');
      expect(claude.exchanges.length).toBe(claudeCalls);
      expect(stderr()).toContain('/sensitivity/public/0');
      const scrape = async (): Promise<string> => (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${gatewayToken}` } })).text();
      const failing = await scrape();
      expect(failing).toContain('syndicate_gateway_policy_failed_closed 1');
      expect(failing).toContain('syndicate_gateway_policy_reloads_total{outcome="invalid"} 1');

      // Fixed: hosted again.
      const reloads = (): number => stderr().split('policy reloaded from').length - 1;
      const reloadedBefore = reloads();
      writeFileSync(policyPath, original);
      server.kill('SIGHUP');
      // Until it says it reloaded, not a fixed 100 ms: a loaded machine may not have re-read it by then (still failed closed: 403).
      await vi.waitFor(() => expect(reloads()).toBeGreaterThan(reloadedBefore), { timeout: 20_000, interval: 20 });
      expect((await ask('claude:claude-sonnet-4-20250514')).status).toBe(200);
      const fixed = await scrape();
      expect(fixed).toContain('syndicate_gateway_policy_failed_closed 0');
      expect(fixed).toContain('syndicate_gateway_policy_reloads_total{outcome="reloaded"} 2');
      // Today's spend, read from evidence at scrape time, is what this gateway's answers cost; the ceilings are the policy's.
      // (An answer's evidence is committed just after it is sent: scrape until the last one is in.)
      await vi.waitFor(async () => {
        const text = await scrape();
        const value = (pattern: RegExp): number => Number(pattern.exec(text)?.[1]);
        const spent = value(/^syndicate_gateway_spend_usd_total\{provider="claude",model="claude-sonnet-4-20250514"\} (\S+)$/m);
        expect(spent).toBeGreaterThan(0);
        expect(value(/^syndicate_gateway_spend_today_usd (\S+)$/m)).toBeCloseTo(spent, 12);
      }, { timeout: 20_000, interval: 20 });
      expect(fixed).toContain('syndicate_gateway_spend_ceiling_usd{period="day"} 20');
      expect(fixed).toContain('syndicate_gateway_spend_ceiling_usd{period="request"} 1');
      expect(fixed).not.toContain('syndicate_gateway_held_back_seconds{');

      // A model's 429 holds it back for the time it asked; the scrape shows the hold and the seconds left.
      claude.setFault({ status: 429, headers: { 'retry-after': '30' }, body: '{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}' }, 1);
      expect((await ask('claude:claude-sonnet-4-20250514')).status).toBe(429);
      const held = Number(/^syndicate_gateway_held_back_seconds\{provider="claude",model="claude-sonnet-4-20250514",state="rate_limited"\} (\S+)$/m.exec(await scrape())?.[1]);
      expect(held).toBeGreaterThan(25);
      expect(held).toBeLessThanOrEqual(30);

      server.kill('SIGTERM');
      expect((await server).exitCode).toBe(0);
    } finally {
      await claude.close();
      cleanupHome();
    }
  });
});
