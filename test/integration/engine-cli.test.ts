import { execa, type ResultPromise } from 'execa';
import OpenAI, { APIError } from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shellWord } from '../../src/common/shell-word.js';
import { binaryPackagesFor } from '../../src/engines/runtime.js';

import { BIN, makeTempHome, parseJsonDocument, REPO_ROOT, runCli } from '../helpers/cli.js';
import { writeFakeNodeLlamaCpp } from '../helpers/fake-node-llama-cpp.js';

/**
 * `syndicate engine ...` around the engine: exit codes and hints for what an operator gets wrong
 * (a busy port, an unwritable --out, a foreign $SYNDICATE_ENGINE_DIR), and the two-signal stop.
 * node-llama-cpp is the fake from test/helpers (no llama.cpp); the real engine is in test/engines.
 */
/** Whether node-llama-cpp has no metal binaries for this machine (anything but macOS on arm64). */
const metalOffPlatform = (() => {
  try {
    binaryPackagesFor('metal');
    return false;
  } catch {
    return true;
  }
})();

describe('syndicate engine (fake node-llama-cpp)', () => {
  let temporary: { home: string; cleanup: () => void };
  let engineDirectory: string;
  let modelPath: string;
  const env = (): Record<string, string> => ({ SYNDICATE_ENGINE_DIR: engineDirectory });

  beforeAll(() => {
    temporary = makeTempHome('syndicate-engine-cli-');
    engineDirectory = join(temporary.home, 'engine');
    writeFakeNodeLlamaCpp(engineDirectory);
    modelPath = join(temporary.home, 'model.gguf');
    writeFileSync(modelPath, 'not read by the fake engine');
  });
  afterAll(() => temporary?.cleanup());

  it('engine status reports the fake engine, without an `installed` field', async () => {
    const result = await runCli(['--json', 'engine', 'status', '--embedded'], { home: temporary.home, env: env() });
    expect(result.exitCode, result.stderr).toBe(0);
    const document = parseJsonDocument(result.stdout);
    expect(document).toMatchObject({ ok: true, directory: engineDirectory, source: 'env', backend: 'cpu' });
    expect(document).not.toHaveProperty('installed');
  });

  it('engine status: bindings that do not load are exit 1 with the fix, not an internal error', async () => {
    const result = await runCli(['--json', 'engine', 'status', '--embedded'], { home: temporary.home, env: { ...env(), FAKE_LLAMA_FAIL: 'no prebuilt binary for this platform' } });
    expect(result.exitCode).toBe(1);
    expect(parseJsonDocument(result.stdout)).toEqual({
      ok: false,
      error: {
        code: 'engine_backend_unavailable',
        message: 'llama.cpp cannot start on the auto backend: no prebuilt binary for this platform',
        hint: 'reinstall the engine with `syndicate engine install --force`',
      },
    });
  });

  it('under --home, the hint to reinstall the engine names no home: engine install ignores --home (its binaries are per machine)', async () => {
    const result = await runCli(['--home', temporary.home, 'engine', 'status', '--embedded'], { env: { ...env(), FAKE_LLAMA_FAIL: 'no prebuilt binary for this platform' } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe('error: llama.cpp cannot start on the auto backend: no prebuilt binary for this platform\nhint: reinstall the engine with `syndicate engine install --force`');
  });

  it('engine status: a node-llama-cpp of another release is exit 1, engine_not_installed', async () => {
    const other = join(temporary.home, 'other-release');
    writeFakeNodeLlamaCpp(other, '3.0.0');
    const result = await runCli(['--json', 'engine', 'status', '--embedded'], { home: temporary.home, env: { SYNDICATE_ENGINE_DIR: other } });
    expect(result.exitCode).toBe(1);
    expect((parseJsonDocument(result.stdout)['error'] as { code: string }).code).toBe('engine_not_installed');
  });

  it('engine status --embedded with a provider is a usage error whose hint gives both commands', async () => {
    const result = await runCli(['--json', 'engine', 'status', 'ollama', '--embedded'], { home: temporary.home, env: env() });
    expect(result.exitCode).toBe(2);
    expect((parseJsonDocument(result.stdout)['error'] as { hint?: string }).hint).toBe(
      'run `syndicate engine status --embedded` for the installation, or `syndicate engine status ollama` for that engine',
    );
  });

  it('engine install of an engine already there says so off a terminal too, instead of only "installing …"', async () => {
    const result = await runCli(['engine', 'install'], { home: temporary.home, env: env() });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe(`installing node-llama-cpp (cpu) into ${engineDirectory} ...\nalready installed: nothing was downloaded`);
    expect(result.stdout).toContain(`in ${engineDirectory}`);
  });

  it('engine install --force refuses a directory it did not create, exit 2, and leaves it alone', async () => {
    const project = join(temporary.home, 'my-app');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), '{"name":"my-app"}');
    const result = await runCli(['engine', 'install', '--force'], { home: temporary.home, env: { SYNDICATE_ENGINE_DIR: project } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`refusing to install the engine into ${project}`);
    expect(result.stderr).toContain('hint: point $SYNDICATE_ENGINE_DIR at a new or empty directory');
    expect(readFileSync(join(project, 'package.json'), 'utf8')).toBe('{"name":"my-app"}');
  });

  it('engine make-test-model: an --out that cannot be written is exit 2 with a hint', async () => {
    const file = join(temporary.home, 'a-file');
    writeFileSync(file, 'x');
    const result = await runCli(['engine', 'make-test-model', '--out', join(file, 'tiny.gguf')], { home: temporary.home });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`cannot write the test model to ${join(file, 'tiny.gguf')}`);
    expect(result.stderr).toContain('hint: pass --out a file path in a directory you can write to');
  });

  it('engine make-test-model --out and engine serve --model with an empty value: exit 2 naming the flag, not the current directory', async () => {
    // A script's `--out "$MODEL"` with MODEL unset: resolved, '' named the current directory, which
    // make-test-model tried to write (EISDIR) and engine serve read ("is a directory", exit 3).
    const [out, model] = await Promise.all([
      runCli(['--json', 'engine', 'make-test-model', '--out', ''], { home: temporary.home, cwd: temporary.home }),
      runCli(['--json', 'engine', 'serve', '--model', '', '--port', '0'], { home: temporary.home, cwd: temporary.home, env: env() }),
    ]);
    for (const [flag, result] of [['--out', out], ['--model', model]] as const) {
      expect(result.exitCode, result.stdout).toBe(2);
      expect(parseJsonDocument(result.stdout)).toEqual({
        ok: false,
        error: { code: 'usage', message: `${flag} must name a file, got an empty value`, hint: `give a path, e.g. ${flag} tiny.gguf` },
      });
    }
  });

  describe('engine serve', () => {
    /** `syndicate [globalArgs] engine serve` on a free port, its stdout and stderr collected as they arrive. */
    const startEngineServe = (
      globalArgs: string[],
      serveArgs: string[] = ['--model', modelPath],
      extraEnv: Record<string, string> = {},
    ): { server: ResultPromise; output: { stdout: string; stderr: string } } => {
      return startCollecting('node', [BIN, ...globalArgs, 'engine', 'serve', ...serveArgs, '--port', '0'], extraEnv);
    };
    /** `command args` in the test's home, its stdout and stderr collected as they arrive. */
    const startCollecting = (command: string, args: string[], extraEnv: Record<string, string> = {}): { server: ResultPromise; output: { stdout: string; stderr: string } } => {
      const server: ResultPromise = execa(command, args, {
        cwd: REPO_ROOT,
        env: { SYNDICATE_HOME: temporary.home, FORCE_COLOR: '0', NO_COLOR: '1', ...env(), ...extraEnv },
        extendEnv: true,
        reject: false,
        stdin: 'ignore',
      });
      const output = { stdout: '', stderr: '' };
      server.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')));
      server.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString('utf8')));
      return { server, output };
    };

    let busy: Server;
    let busyPort: number;
    beforeAll(async () => {
      busy = createServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', () => resolve()));
      busyPort = (busy.address() as { port: number }).port;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    });

    it('a port in use is exit 2 with "use another --port, or --port 0"', async () => {
      const result = await runCli(['engine', 'serve', '--model', modelPath, '--port', String(busyPort)], { home: temporary.home, env: env() });
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${busyPort}: the port is already in use`);
      expect(result.stderr).toContain('hint: use another --port, or --port 0 to pick a free one');
      expect(result.stderr).not.toContain('internal');
    });

    it.runIf(metalOffPlatform)('--gpu metal off macOS/arm64 is exit 2 gpu_backend_unavailable, decided before node-llama-cpp loads (none is installed here)', async () => {
      const nowhere = join(temporary.home, 'no-engine');
      const [human, json] = await Promise.all([
        runCli(['engine', 'serve', '--model', modelPath, '--port', '0', '--gpu', 'metal'], { home: temporary.home, env: { SYNDICATE_ENGINE_DIR: nowhere } }),
        runCli(['--json', 'engine', 'serve', '--model', modelPath, '--port', '0', '--gpu', 'metal'], { home: temporary.home, env: { SYNDICATE_ENGINE_DIR: nowhere } }),
      ]);
      const message = `no prebuilt llama.cpp binary for the metal GPU backend on this machine: node-llama-cpp has no prebuilt metal binary for ${process.platform}-${process.arch}`;
      const hint = 'use `--gpu cpu`, or build llama.cpp for this machine and register it as a provider';
      expect(human.exitCode, human.stderr).toBe(2);
      expect(human.stderr).toBe(`error: ${message}\nhint: ${hint}`);
      expect(human.stdout).toBe('');
      expect(json.exitCode).toBe(2);
      expect(parseJsonDocument(json.stdout)).toEqual({ ok: false, error: { code: 'gpu_backend_unavailable', message, hint, details: { gpu: 'metal' } } });
    });

    it('--gpu vulkan that node-llama-cpp starts on the CPU instead (no device or driver) is exit 2 gpu_backend_unavailable; --gpu auto serves on the CPU quietly', async () => {
      const message = 'llama.cpp started on the CPU, not the requested vulkan GPU backend: found no vulkan GPU or driver to run on';
      const hint = "use `--gpu cpu` (or `--gpu auto`, the best backend that loads here), or install the vulkan driver for this machine's GPU";
      const [human, json] = await Promise.all([
        runCli(['engine', 'serve', '--model', modelPath, '--port', '0', '--gpu', 'vulkan'], { home: temporary.home, env: env() }),
        runCli(['--json', 'engine', 'serve', '--model', modelPath, '--port', '0', '--gpu', 'vulkan'], { home: temporary.home, env: env() }),
      ]);
      expect(human.exitCode, human.stderr).toBe(2);
      expect(human.stderr).toContain(`error: ${message}\nhint: ${hint}`);
      expect(human.stdout).toBe('');
      expect(json.exitCode, json.stderr).toBe(2);
      expect(parseJsonDocument(json.stdout)).toEqual({ ok: false, error: { code: 'gpu_backend_unavailable', message, hint, details: { gpu: 'vulkan', loadedBackend: 'cpu' } } });
      for (const gpu of ['auto', 'vulkan']) {
        // The fake machine has a Vulkan GPU: asked for, it serves on it; auto serves without one, on the CPU.
        const { server, output } = startEngineServe(['--json'], ['--model', modelPath, '--gpu', gpu], gpu === 'vulkan' ? { FAKE_LLAMA_GPUS: 'vulkan' } : {});
        try {
          await until(() => output.stdout.endsWith('\n'), () => `engine serve --gpu ${gpu} to be ready; output.stderr: ${output.stderr}`);
          expect(parseJsonDocument(output.stdout)).toMatchObject({ backend: gpu === 'auto' ? 'cpu' : 'vulkan' });
          expect(output.stderr).not.toContain('warning');
          server.kill('SIGTERM');
          expect((await server).exitCode, output.stderr).toBe(0);
        } finally {
          if (server.exitCode === null) server.kill('SIGKILL');
        }
      }
    }, 90_000);

    it('a directory given as --model is exit 3 (as every input file that cannot be read) saying so, not "not found"', async () => {
      const result = await runCli(['engine', 'serve', '--model', temporary.home, '--port', '0'], { home: temporary.home, env: env() });
      expect(result.exitCode, result.stderr).toBe(3);
      expect(result.stderr).toContain(`error: cannot read ${temporary.home}: is a directory`);
      expect(result.stderr).toContain(`hint: pass the .gguf file inside it (\`ls ${shellWord(temporary.home)}/*.gguf\`)`);
    });

    it('without --json prints "syndicate engine serving MODEL at URL" on stdout, the rest on stderr', async () => {
      const { server, output } = startEngineServe([]);
      try {
        await until(() => output.stdout.endsWith('\n'), () => `engine serve to be ready; output.stderr: ${output.stderr}`);
        expect(output.stdout).toMatch(/^syndicate engine serving \S+ at http:\/\/127\.0\.0\.1:\d+\/v1\n$/);
        await until(() => output.stderr.includes('SIGTERM or Ctrl-C stops'), () => `the guidance on output.stderr; output.stderr: ${output.stderr}`);
        expect(output.stderr).not.toContain('syndicate engine serving');
        server.kill('SIGTERM');
        const result = await server;
        expect(result.exitCode, output.stderr).toBe(0);
        expect(output.stdout.split('\n')).toHaveLength(2);
      } finally {
        if (server.exitCode === null) server.kill('SIGKILL');
      }
    });

    it('answers through the fake, and a second signal closes the connections the first one waits for', async () => {
      const { server, output } = startEngineServe(['--json']);
      try {
        await until(() => output.stdout.endsWith('\n'), () => `engine serve to be ready; output.stderr: ${output.stderr}`);
        // The ready document is one line on output.stdout (a script reads it line by line, as with `syndicate serve`); guidance is on output.stderr.
        expect(output.stdout.split('\n')).toHaveLength(2);
        const { baseUrl, url } = parseJsonDocument(output.stdout) as { baseUrl: string; url: string };
        // The two streams are separate pipes: the guidance may reach us after the ready line.
        await until(() => output.stderr.includes('SIGTERM or Ctrl-C stops'), () => `the guidance on output.stderr; output.stderr: ${output.stderr}`);
        const answer = await fetch(`${baseUrl}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'model', messages: [{ role: 'user', content: 'hello' }] }) });
        expect(((await answer.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe('hi');

        // A client that sends half a body keeps its request in flight, so the first signal waits for it.
        const held = request(`${baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': 1000 } });
        const heldOutcome = new Promise<string>((resolve) => {
          held.on('response', (response) => resolve(`answered ${response.statusCode ?? 0}`));
          held.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        });
        held.write('{"model":"model","messages":[');
        await new Promise<void>((resolve) => held.once('socket', (socket) => (socket.connecting ? socket.once('connect', () => resolve()) : resolve())));
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect((await fetch(`${url}/health`)).status).toBe(200);

        server.kill('SIGTERM');
        await until(() => output.stderr.includes('shutting down'), () => `the first signal to be seen; output.stderr: ${output.stderr}`);
        expect(output.stderr).toContain('shutting down: 1 request in flight (at most 1m)');
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(server.exitCode, "still draining after the first signal").toBeNull();

        server.kill('SIGTERM');
        const result = await server;
        // The request it cut off makes the stop an interruption, as for `syndicate serve`.
        expect(result.exitCode, output.stderr).toBe(143);
        expect(output.stderr).toContain('second signal: cancelling the requests in flight and closing every connection now');
        // With --json the error is the second document on stdout, after the ready line.
        expect(JSON.parse(output.stdout.slice(output.stdout.indexOf('\n') + 1))).toMatchObject({ ok: false, error: { code: 'interrupted', message: 'engine stopped (a second SIGTERM): 1 request in flight cut short' } });
        expect(await heldOutcome).toBe('ECONNRESET');
      } finally {
        if (server.exitCode === null) server.kill('SIGKILL');
      }
    });

    /** Waits for `engine serve --json` to be ready and opens a streamed chat through the official client, collecting its chunks. */
    async function streamFrom(output: { stdout: string; stderr: string }): Promise<{ chunks: ChatCompletionChunk[]; outcome: Promise<'ended' | unknown> }> {
      await until(() => output.stdout.endsWith('\n'), () => `engine serve to be ready; output.stderr: ${output.stderr}`);
      const { baseUrl } = parseJsonDocument(output.stdout) as { baseUrl: string };
      await until(() => output.stderr.includes('SIGTERM or Ctrl-C stops'), () => `the guidance on output.stderr; output.stderr: ${output.stderr}`);
      const client = new OpenAI({ baseURL: baseUrl, apiKey: 'unused', maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: 'model', messages: [{ role: 'user', content: 'hello' }], stream: true });
      const chunks: ChatCompletionChunk[] = [];
      const outcome = (async () => {
        for await (const chunk of stream) chunks.push(chunk);
        return 'ended' as const;
      })().catch((error: unknown) => error);
      await until(() => chunks.some((chunk) => chunk.choices[0]?.delta.content === 'hi'), () => `the first token; output.stderr: ${output.stderr}`);
      return { chunks, outcome };
    }

    for (const [signal, exitCode] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
    ] as const) {
      it(`--drain-timeout: a generation still running when it passes is stopped, its stream ending with an error event (no finish_reason, no [DONE]), and ${signal} exits ${exitCode}`, { timeout: 90_000 }, async () => {
        // A generation that never ends by itself: a token every 50 ms until it is stopped.
        const { server, output } = startEngineServe(['--json'], ['--model', modelPath, '--drain-timeout', '300ms'], { FAKE_LLAMA_TOKENS: 'Infinity', FAKE_LLAMA_TOKEN_MS: '50' });
        try {
          const { chunks, outcome } = await streamFrom(output);
          const chunksAtSignal = chunks.length;
          server.kill(signal);
          const ended = await outcome;
          expect(ended).toBeInstanceOf(APIError);
          const why = `${signal}, and the requests in flight did not finish within --drain-timeout 300ms`;
          expect((ended as APIError).message).toBe(`the engine stopped (${why}) before the answer ended`);
          // It kept generating during the drain, and nothing said the answer had finished.
          expect(chunks.length).toBeGreaterThan(chunksAtSignal);
          expect(chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.finish_reason)).filter((reason) => reason !== null)).toEqual([]);
          const result = await server;
          expect(result.exitCode, output.stderr).toBe(exitCode);
          expect(output.stderr).toContain('shutting down: 1 request in flight (at most 300ms)');
          expect(output.stderr).toContain('the requests in flight did not finish within --drain-timeout 300ms: cancelling them');
          expect(JSON.parse(output.stdout.slice(output.stdout.indexOf('\n') + 1))).toEqual({
            ok: false,
            error: {
              code: 'interrupted',
              message: `engine stopped (${why}): 1 request in flight cut short`,
              hint: 'their clients got an error instead of the rest of the answer; give the generations more time with `engine serve --drain-timeout`',
            },
          });
        } finally {
          if (server.exitCode === null) server.kill('SIGKILL');
        }
      });
    }

    it('a generation that ends within the drain (default --drain-timeout 60s) is answered in full, and SIGTERM exits 0', { timeout: 90_000 }, async () => {
      const { server, output } = startEngineServe(['--json'], ['--model', modelPath], { FAKE_LLAMA_TOKENS: '6', FAKE_LLAMA_TOKEN_MS: '100' });
      try {
        const { chunks, outcome } = await streamFrom(output);
        server.kill('SIGTERM');
        expect(await outcome).toBe('ended');
        expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('hi'.repeat(6));
        expect(chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.finish_reason)).filter((reason) => reason !== null)).toEqual(['stop']);
        const result = await server;
        expect(result.exitCode, output.stderr).toBe(0);
        expect(output.stderr).toContain('shutting down: 1 request in flight (at most 1m)');
        expect(output.stderr).toContain('engine stopped');
        expect(output.stderr).not.toContain('cancelling');
      } finally {
        if (server.exitCode === null) server.kill('SIGKILL');
      }
    });

    it('--drain-timeout that is not a duration is exit 2 naming the option, before the model loads', async () => {
      const result = await runCli(['engine', 'serve', '--model', modelPath, '--port', '0', '--drain-timeout', 'soon'], { home: temporary.home, env: env() });
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toContain('invalid --drain-timeout "soon"');
      expect(result.stderr).not.toContain('listening');
    });

    describe('--register over an existing provider record', () => {
      /** `engine serve --register ID` until it is ready, then SIGTERM: the provider it registered. */
      async function serveAndStop(serveArgs: string[]): Promise<{ id: string; version: number; status: string }> {
        const { server, output } = startEngineServe(['--json'], serveArgs);
        try {
          await until(() => output.stdout.endsWith('\n') || server.exitCode !== null, () => `engine serve to be ready; output.stderr: ${output.stderr}`);
          expect(server.exitCode, output.stderr).toBeNull();
          const { provider } = parseJsonDocument(output.stdout) as { provider: { id: string; version: number; status: string } };
          server.kill('SIGTERM');
          expect((await server).exitCode, output.stderr).toBe(0);
          return provider;
        } finally {
          if (server.exitCode === null) server.kill('SIGKILL');
        }
      }

      it('refuses a hosted record of the same id (exit 2, its class and models and the fix), before loading, and leaves it as it was', async () => {
        const hosted = join(REPO_ROOT, 'providers', 'examples', 'anthropic-hosted.yaml');
        expect((await runCli(['provider', 'register', hosted], { home: temporary.home })).exitCode).toBe(0);

        const result = await runCli(['--json', 'engine', 'serve', '--model', modelPath, '--port', '0', '--register', 'anthropic-hosted'], { home: temporary.home, env: env() });
        expect(result.exitCode, result.stderr).toBe(2);
        expect(parseJsonDocument(result.stdout)['error']).toEqual({
          code: 'provider_id_taken',
          message:
            'provider anthropic-hosted v1 is of class approved_hosted (anthropic wire) with models claude-sonnet-5-5, claude-haiku-5-5; --register anthropic-hosted would replace it with the local embedded engine, so nothing was registered',
          hint: 'register the engine under another id (--register anthropic-hosted-local), or retire anthropic-hosted first if you mean to replace it: `syndicate provider remove anthropic-hosted`',
          details: { provider: 'anthropic-hosted', version: 1, class: 'approved_hosted', wire: 'anthropic', models: ['claude-sonnet-5-5', 'claude-haiku-5-5'] },
        });
        // Refused before the engine starts: it never listened.
        expect(result.stderr).not.toContain('listening on');
        const shown = parseJsonDocument((await runCli(['--json', 'provider', 'history', 'anthropic-hosted'], { home: temporary.home })).stdout);
        expect((shown['versions'] as unknown[]).length).toBe(1);
      });

      it('a stopped engine: `engine status` prints the command that serves it again with the options it was served with, and that command does', { timeout: 90_000 }, async () => {
        const first = await serveAndStop(['--model', modelPath, '--register', 'proxied', '--allow-host', 'LLM.Example.org', '--parallel', '2', '--drain-timeout', '8s']);
        expect(first).toMatchObject({ id: 'proxied', version: 1, status: 'registered' });
        const status = await runCli(['--json', 'engine', 'status', 'proxied'], { home: temporary.home, env: env() });
        expect(status.exitCode, status.stderr).toBe(1);
        const hint = (parseJsonDocument(status.stdout)['error'] as { hint: string }).hint;
        const command = /`(syndicate engine serve [^`]*)`/.exec(hint)?.[1];
        expect(command).toMatch(
          new RegExp(`^syndicate engine serve --model ${escapeRegExp(shellWord(modelPath))} --port \\d+ --parallel 2 --allow-host llm\\.example\\.org --drain-timeout 8s --register proxied$`),
        );
        // Run as printed: the same record (unchanged), answering the proxy's Host as before.
        const { server: restarted, output } = startCollecting('sh', ['-c', `exec ${command!.replace(/^syndicate /, `node ${shellWord(BIN)} --json `)}`]);
        try {
          await until(() => output.stdout.endsWith('\n') || restarted.exitCode !== null, () => `the restarted engine to be ready; output.stderr: ${output.stderr}`);
          expect(restarted.exitCode, output.stderr).toBeNull();
          const ready = parseJsonDocument(output.stdout) as { port?: number; url: string; parallel: number; provider: { version: number; status: string } };
          expect(ready.provider).toMatchObject({ version: 1, status: 'unchanged' });
          expect(ready.parallel).toBe(2);
          const port = Number(new URL(ready.url).port);
          expect(await healthStatus(port, `llm.example.org:${port}`)).toBe(200);
          expect(await healthStatus(port, `elsewhere.example:${port}`)).toBe(403);
          restarted.kill('SIGTERM');
          expect((await restarted).exitCode, output.stderr).toBe(0);
        } finally {
          if (restarted.exitCode === null) restarted.kill('SIGKILL');
        }
      });

      it('re-registers its own record on a restart, and refuses to drop the model a session is on', async () => {
        const first = await serveAndStop(['--model', modelPath, '--register', 'embedded']);
        expect(first).toMatchObject({ id: 'embedded', version: 1, status: 'registered' });
        // A restart: the same model on another port is a new version of the engine's own record.
        const restarted = await serveAndStop(['--model', modelPath, '--register', 'embedded']);
        expect(restarted.id).toBe('embedded');
        expect(['updated', 'unchanged']).toContain(restarted.status);

        const started = await runCli(['--json', 'session', 'start', '--model', 'embedded:model'], { home: temporary.home });
        expect(started.exitCode, started.stderr).toBe(0);
        const session = (parseJsonDocument(started.stdout)['session'] as { id: string }).id;
        const otherModel = join(temporary.home, 'other.gguf');
        writeFileSync(otherModel, 'another model file');
        const refused = await runCli(['--json', 'engine', 'serve', '--model', otherModel, '--port', '0', '--register', 'embedded'], { home: temporary.home, env: env() });
        expect(refused.exitCode, refused.stderr).toBe(2);
        const error = parseJsonDocument(refused.stdout)['error'] as { code: string; message: string; hint: string };
        expect(error.code).toBe('provider_models_in_use');
        expect(error.message).toBe(`--register embedded would drop models sessions are on (${session} on embedded:model): this engine serves other; nothing was registered`);
        expect(error.hint).toContain(`syndicate provider switch PROVIDER:MODEL --session ${session}`);
        const shown = parseJsonDocument((await runCli(['--json', 'provider', 'show', 'embedded'], { home: temporary.home })).stdout);
        expect(JSON.stringify(shown)).toContain('"model"');
        expect(JSON.stringify(shown)).not.toContain('"other"');
      });
    });
  });
});

async function until(condition: () => boolean, what: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The status of `GET /health` sent with this `Host`. */
async function healthStatus(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, path: '/health', headers: { host } }, (incoming) => {
      incoming.resume();
      incoming.on('end', () => resolve(incoming.statusCode ?? 0));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}
