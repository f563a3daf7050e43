import { execa } from 'execa';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, parseJsonDocument, REPO_ROOT, runCli } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { initialisedHome } from '../helpers/prepared-home.js';
import { registeredEngineScenario } from '../helpers/scenario.js';
import { registerFilesInHome, storedEvidenceList, withStore } from '../helpers/store.js';
import { retireProvider } from '../../src/registry/registry.js';
import { seedDenial } from '../unit/evidence/seed.js';

/** syndicate as a shell script or CI job uses it: several commands at once, `--json` everywhere, exit codes checked. */

describe('commands started together on a home no command has created yet', () => {
  const parent = mkdtempSync(join(tmpdir(), 'syndicate-scripting-'));
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it('every parallel `init` exits 0 (they used to race applying the migrations: "table providers already exists", exit 6)', { timeout: 90_000 }, async () => {
    for (let round = 0; round < 5; round += 1) {
      const home = join(parent, `home-${round}`);
      const results = await Promise.all(Array.from({ length: 4 }, () => runCli(['--json', 'init'], { home, timeoutMs: 60_000 })));
      for (const result of results) {
        expect(result.exitCode, result.stdout).toBe(0);
        expect(parseJsonDocument(result.stdout).ok).toBe(true);
      }
      expect(readdirSync(home).sort()).toEqual(expect.arrayContaining(['gateway.token', 'permit.key', 'policy.yaml', 'syndicate.db']));
      const doctor = await runCli(['--json', 'doctor'], { home });
      expect(doctor.exitCode, doctor.stdout).toBe(0);
    }
  });
});

describe('a command stopped by a signal while it waits', () => {
  let home: string;
  let cleanup: () => void;
  let silent: Server;
  let connections = 0;
  beforeAll(async () => {
    ({ home, cleanup } = await initialisedHome('syndicate-scripting-signal-'));
    // Accepts connections and never answers: `provider add` waits on its discovery request.
    // Reads what it is sent (and never answers): a socket left unread never sees the client's end, and `close` would wait for it.
    silent = createServer((socket) => {
      connections += 1;
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    cleanup?.();
  });

  for (const [signal, exitCode, said] of [
    ['SIGINT', 130, 'interrupted (Ctrl-C) before the command ended'],
    ['SIGTERM', 143, 'terminated (SIGTERM) before the command ended'],
  ] as const) {
    it(`${signal}: exit ${exitCode} with the error document on stdout (it printed nothing there)`, { timeout: 90_000 }, async () => {
      const { port } = silent.address() as AddressInfo;
      const before = connections;
      const child = execa('node', [BIN, '--json', 'provider', 'add', 'ollama', '--id', `silent-${exitCode}`, '--base-url', `http://127.0.0.1:${port}`], {
        cwd: REPO_ROOT,
        env: { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' },
        reject: false,
      });
      await expect.poll(() => connections, { timeout: 30_000, interval: 10 }).toBeGreaterThan(before);
      child.kill(signal);
      const ended = await child;
      expect(ended.exitCode, ended.stderr).toBe(exitCode);
      expect(parseJsonDocument(String(ended.stdout))).toEqual({
        ok: false,
        error: { code: 'interrupted', message: said, hint: 'run it again: each command writes in one transaction, so nothing it had not finished was kept' },
      });
    });
  }

  it('without --json: one line on stderr says what was stopped and what it left (it printed a bare "interrupted")', { timeout: 90_000 }, async () => {
    const { port } = silent.address() as AddressInfo;
    const before = connections;
    const child = execa('node', [BIN, 'provider', 'add', 'ollama', '--id', 'silent-plain', '--base-url', `http://127.0.0.1:${port}`], {
      cwd: REPO_ROOT,
      env: { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' },
      reject: false,
    });
    await expect.poll(() => connections, { timeout: 30_000, interval: 10 }).toBeGreaterThan(before);
    child.kill('SIGINT');
    const ended = await child;
    expect(ended.exitCode, String(ended.stderr)).toBe(130);
    expect(String(ended.stdout)).toBe('');
    expect(String(ended.stderr)).toContain('interrupted (Ctrl-C) before the command ended; run it again: each command writes in one transaction, so nothing it had not finished was kept');
  });
});

describe('--version', () => {
  it('with --json is one JSON document (it printed the bare version, which `jq` cannot read)', async () => {
    for (const args of [['--version', '--json'], ['--json', '-V']]) {
      const result = await runCli(args);
      expect(result.exitCode).toBe(0);
      expect(parseJsonDocument(result.stdout)).toEqual({ ok: true, version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    }
    expect((await runCli(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\S*\n?$/);
  });
});

describe('serve --json stopped with a stream in flight', () => {
  const setup = registeredEngineScenario('slow', { kind: 'ollama', answer: 'one two three four five six seven eight nine ten eleven twelve' }, 'in-process');

  it('stdout stays JSON lines: the ready line, then the error document on one line (it was pretty-printed over nine)', { timeout: 90_000 }, async () => {
    const { scenario, engine } = setup;
    const token = readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim();
    const server = execa('node', [BIN, '--json', 'serve', '--port', '0', '--drain-timeout', '1s'], {
      cwd: REPO_ROOT,
      env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1', FORCE_COLOR: '0' },
      reject: false,
      timeout: 60_000,
    });
    const ready = await new Promise<{ url: string }>((resolve) => {
      let stdout = '';
      server.stdout?.on('data', (data: Buffer) => {
        stdout += data.toString();
        if (stdout.includes('\n')) resolve(JSON.parse(stdout.slice(0, stdout.indexOf('\n'))) as { url: string });
      });
    });
    engine.setFault({ slowStreamMs: 400 });
    try {
      const response = await fetch(`${ready.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', stream: true, messages: [{ role: 'user', content: 'Count to twelve.' }] }),
      });
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      server.kill('SIGTERM');
      const ended = await server;
      await reader.cancel().catch(() => {});
      expect(ended.exitCode, String(ended.stderr)).toBe(143);
      const lines = String(ended.stdout).split('\n').filter((line) => line !== '');
      expect(lines).toHaveLength(2);
      expect(JSON.parse(lines[0]!)).toMatchObject({ ok: true, url: ready.url });
      expect(JSON.parse(lines[1]!)).toMatchObject({ ok: false, error: { code: 'interrupted', message: expect.stringContaining('1 request in flight cancelled') } });
    } finally {
      engine.setFault('ok');
    }
  });
});

describe('run --json refused by policy', () => {
  let home: string;
  let cleanup: () => void;
  /** Stored in this process, as `provider register` stores it (not this block's subject). */
  async function registerHosted(id: string): Promise<void> {
    const record = join(home, `${id}.yaml`);
    writeFileSync(
      record,
      ['apiVersion: syndicate/v1', 'kind: Provider', `id: ${id}`, 'class: approved_hosted', 'wire: openai', 'baseUrl: https://api.example.com/v1', 'auth:', '  env: EXAMPLE_API_KEY', 'models:', '  - id: big', '    contextWindow: 8192', '    capabilityClass: large', ''].join('\n'),
    );
    await registerFilesInHome(home, record);
  }
  beforeAll(async () => {
    ({ home, cleanup } = await initialisedHome('syndicate-scripting-refusal-'));
    await registerHosted('hosted');
  });
  afterAll(() => cleanup?.());

  /** The newest row, as `evidence list --limit 1` lists it (read in this process). */
  function newestRow(): { id: string; requestId: string; kind: string; state: string } {
    return storedEvidenceList(home, { limit: 1 })[0] as unknown as { id: string; requestId: string; kind: string; state: string };
  }

  it('the error names the evidence id of the refusal row beside its request id (a script had to search the evidence for it)', async () => {
    const result = await runCli(['--json', 'run', 'deploy with password: hunter2', '--provider', 'hosted'], { home });
    expect(result.exitCode).toBe(4);
    const error = parseJsonDocument(result.stdout).error as { code: string; details: { requestId: string; evidenceId: string } };
    expect(error.code).toBe('route_denied');
    expect(newestRow()).toMatchObject({ id: error.details.evidenceId, requestId: error.details.requestId, kind: 'denial', state: 'denied' });
  });

  it('so does a retired provider\'s refusal', async () => {
    // A provider of its own to retire: the other test's stays registered, whatever their order.
    await registerHosted('retiring');
    withStore(home, (store) => retireProvider(store, 'retiring'));
    const result = await runCli(['--json', 'run', 'hello', '--provider', 'retiring'], { home });
    expect(result.exitCode).toBe(4);
    const error = parseJsonDocument(result.stdout).error as { code: string; details: { requestId: string; evidenceId: string } };
    expect(error.code).toBe('provider_retired');
    expect(newestRow()).toMatchObject({ id: error.details.evidenceId, requestId: error.details.requestId, kind: 'denial' });
  });
});

describe('run --json --stream whose stream breaks mid-answer', () => {
  let engine: FakeEngine;
  let home: string;
  let cleanup: () => void;
  beforeAll(async () => {
    // One engine serving two models: the first streamed request breaks, whichever model it asks for.
    engine = await startFakeEngine({ kind: 'ollama', models: [{ id: 'alpha:latest' }, { id: 'beta:latest' }] });
    ({ home, cleanup } = await initialisedHome('syndicate-scripting-stream-'));
    const record = join(home, 'local.yaml');
    const models = ['alpha:latest', 'beta:latest'].flatMap((id) => [`  - id: "${id}"`, '    contextWindow: 32768', '    capabilityClass: small']);
    writeFileSync(record, ['apiVersion: syndicate/v1', 'kind: Provider', 'id: local', 'class: local', 'wire: openai', `baseUrl: ${engine.baseUrl}`, 'models:', ...models, ''].join('\n'));
    await registerFilesInHome(home, record);
  });
  afterAll(async () => {
    cleanup?.();
    await engine?.close();
  });

  it('falls back like a call nothing was printed from: --json prints the answer only at the end (it exited 5, stream_broken, "the partial answer above")', async () => {
    engine.setFault('truncate-stream', 1, 'streams');
    try {
      const result = await runCli(['--json', 'run', 'hello', '--stream'], { home });
      expect(result.exitCode, result.stdout).toBe(0);
      const document = parseJsonDocument(result.stdout);
      expect(document).toMatchObject({ ok: true, answer: expect.any(String) });
      const attempts = document.attempts as { outcome: string; evidenceId: string }[];
      expect(attempts.map((attempt) => attempt.outcome)).toEqual(['failed', 'completed']);
      expect(document.evidenceId).toBe(attempts[1]!.evidenceId);
    } finally {
      engine.setFault('ok');
    }
  });

  it('without --json the answer was printed as it came: no fallback, exit 5', async () => {
    engine.setFault('truncate-stream', 1, 'streams');
    try {
      const result = await runCli(['run', 'hello', '--stream'], { home });
      expect(result.exitCode).toBe(5);
      expect(result.stderr).toContain('the partial answer above is incomplete');
    } finally {
      engine.setFault('ok');
    }
  });
});

describe('run, route and embed given an empty --model or --provider (a script\'s unset variable)', () => {
  const setup = registeredEngineScenario('llama', { kind: 'llama.cpp' }, 'in-process');

  it('is a usage error (exit 2) before anything is routed or sent: an empty --model ran on the policy\'s choice, exit 0', async () => {
    const before = setup.engine.exchanges.length;
    const lines: string[][] = [
      ['run', 'hello', '--model', ''],
      ['route', 'hello', '--model', ''],
      ['embed', 'hello', '--model', ' '],
      ['run', 'hello', '--provider', ''],
      ['route', 'hello', '--provider', ''],
      ['embed', 'hello', '--provider', ''],
    ];
    const results = await Promise.all(lines.map((line) => setup.scenario.json(line)));
    for (const [index, { result, document }] of results.entries()) {
      const flag = lines[index]!.includes('--model') ? '--model' : '--provider';
      expect(result.exitCode, lines[index]!.join(' ')).toBe(2);
      expect(document, lines[index]!.join(' ')).toMatchObject({ ok: false, error: { code: 'usage', message: `${flag} must not be empty`, hint: expect.stringContaining(`leave ${flag} out`) } });
    }
    expect(setup.engine.exchanges.slice(before)).toEqual([]);
    // Nothing was recorded either (what `evidence list` would list, read in this process).
    expect(storedEvidenceList(setup.scenario.home)).toEqual([]);
  });
});

describe('evidence list and metrics given an empty --session (a script\'s unset variable)', () => {
  let temporary: { home: string; cleanup: () => void };
  beforeAll(async () => {
    temporary = await initialisedHome('syndicate-empty-session-');
  }, 90_000);
  afterAll(() => temporary?.cleanup());

  it('is a usage error (exit 2), as for run, embed, route and permit: it warned and exited 0 with nothing listed', { timeout: 90_000 }, async () => {
    const lines = [
      ['evidence', 'list', '--session', ''],
      ['metrics', '--session', ''],
      ['evidence', 'list', '--session', ' '],
      ['metrics', '--since', '7d', '--session', ' '],
    ];
    const results = await Promise.all(lines.map((line) => runCli(['--json', ...line], { home: temporary.home })));
    for (const [index, result] of results.entries()) {
      expect(result.exitCode, lines[index]!.join(' ')).toBe(2);
      expect(result.stderr, lines[index]!.join(' ')).toBe('');
      expect(parseJsonDocument(result.stdout), lines[index]!.join(' ')).toMatchObject({
        ok: false,
        error: { code: 'usage', message: '--session must not be empty', hint: expect.stringContaining('or leave --session out for every session') },
      });
    }
  });
});

describe('evidence export whose stdout cannot be written', () => {
  let home: string;
  let cleanup: () => void;
  beforeAll(async () => {
    ({ home, cleanup } = await initialisedHome('syndicate-scripting-export-pipe-'));
    // Far more than a pipe holds (64 KiB): the export is still writing when its reader goes away.
    withStore(home, (store) => store.transaction(() => {
      for (let index = 0; index < 2000; index += 1) seedDenial(store);
    }));
  }, 90_000);
  afterAll(() => cleanup?.());

  it('stops quietly with the exit code it had, 0, as `evidence list | head` does (it exited 13: its wait for the closed pipe to drain never ended)', { timeout: 90_000 }, async () => {
    const child = execa('node', [BIN, 'evidence', 'export'], { cwd: REPO_ROOT, env: { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' }, reject: false, stdin: 'ignore' });
    await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
    // What `head -1` does once it has its line: close the reading end of the pipe.
    child.stdout?.destroy();
    const ended = await child;
    expect(ended.stderr).toBe('');
    expect(ended.exitCode).toBe(0);
  });

  it('into a full disk (`> evidence.jsonl`; /dev/full here) is one error, exit 2, as `--output` reports its file (it was a stack trace, exit 1: "a check found a problem")', { timeout: 90_000 }, async () => {
    for (const words of [['evidence', 'export'], ['run', 'hello', '--json'], ['completion', 'bash']]) {
      // The shell's redirection: the device itself is the process's stdout (not a pipe through the test).
      const ended = await execa('sh', ['-c', 'exec node "$0" "$@" > /dev/full', BIN, ...words], { cwd: REPO_ROOT, env: { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' }, reject: false, stdin: 'ignore' });
      expect(ended.stderr, words.join(' ')).toBe(
        'error: cannot write stdout: ENOSPC: no space left on device\nhint: stdout goes to a file or device that refuses the output: free space there, or redirect it elsewhere',
      );
      expect(ended.exitCode, words.join(' ')).toBe(2);
    }
  });
});
