import { Command, Option } from 'commander';
import { formatDuration, parseTimeout } from '../../common/duration.js';
import { ENGINE_GPU_CHOICES, type EngineGpuChoice } from '../../engines/backends.js';
import type { LoadedModelInfo } from '../../engines/server/engine.js';
import { InterruptedError, UsageError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { contextFor } from '../context.js';
import { DEFAULT_DRAIN_TIMEOUT, drainTimeoutOption, drainWithin } from '../drain.js';
import { checkEachOption, filePathOption, hostOption, portOption } from '../input.js';
import { exitCodeFor, takeOverStopSignals } from '../interrupt.js';
import { counted } from '../output.js';
import { engineInstallCommand } from './engine-install.js';
import { engineManagementCommands } from './engine-manage.js';

interface ServeOptions {
  model: string;
  host: string;
  port: string;
  threads?: string;
  gpu: EngineGpuChoice;
  context?: string;
  parallel: string;
  register?: string;
  allowHost?: string[];
  drainTimeout: string;
}

function integerOption(name: string, text: string, minimum: number, maximum = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < minimum || value > maximum) {
    throw new UsageError(`--${name} must be an integer from ${minimum} to ${maximum === Number.MAX_SAFE_INTEGER ? 'any size' : maximum}, got "${text}"`, {
      hint: `give a whole number, e.g. --${name} ${minimum}, or leave --${name} out for its default`,
    });
  }
  return value;
}

/**
 * `syndicate engine`: local engines — status, load/unload (hot-swap), start/stop — and the
 * embedded engine (node-llama-cpp): install, serve, make-test-model.
 */
export function engineCommand(): Command {
  const engine = new Command('engine').description('local engines: what they hold, load and unload (hot-swap), start and stop; and the embedded engine (llama.cpp through node-llama-cpp) serving a GGUF model on loopback');
  for (const subcommand of engineManagementCommands()) engine.addCommand(subcommand);
  engine.addCommand(engineInstallCommand());
  engine.addCommand(serveCommand());
  engine.addCommand(makeTestModelCommand());
  return engine;
}

function serveCommand(): Command {
  return new Command('serve')
    .description('serve a GGUF model as an OpenAI-compatible engine on loopback (POST /v1/chat/completions, GET /v1/models, /health, /props)')
    .requiredOption('--model <file>', 'the GGUF model file')
    .option('--host <host>', 'loopback address to bind', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '8090')
    .option('--threads <n>', 'generation threads (default: 1 on a machine with at most 2 cores, else half the cores)')
    .addOption(new Option('--gpu <backend>', 'llama.cpp backend').choices(ENGINE_GPU_CHOICES).default('auto'))
    .option('--context <n>', "tokens per request, prompt and answer (default: the model's trained context, at most 8192)")
    .option('--parallel <n>', 'requests generated at the same time (one context sequence each); more wait in a FIFO queue', '1')
    .option('--register <id>', "register (or update) a local provider record with this id pointing at the engine; refused over another provider's record or a model a session is on")
    .option('--allow-host <name...>', "answer requests whose Host is this name too, and pages served under it (a reverse proxy that keeps the client's Host); loopback names and addresses always work")
    .addOption(drainTimeoutOption())
    .addHelpText(
      'after',
      `
Once the model is loaded it prints "syndicate engine serving MODEL at BASE_URL" on stdout (with
--json, one JSON line: url, baseUrl, model, backend, contextWindow, loadMs, threads, parallel,
chatTemplate, pid, provider); everything else goes to stderr.

Web pages: it takes no token, so against DNS rebinding a request whose Host is not an address,
localhost, *.localhost, this machine's host name or a name --allow-host gives is refused (403
host_not_allowed), and so is a browser page's request (it sends Origin) unless the page was served
from localhost, a loopback address or such a name (403 origin_not_allowed). Clients outside
browsers (SDKs, curl, syndicate itself) send no Origin.

Signals: SIGTERM or Ctrl-C stop after the generations in flight finish (exit 0), for at most
--drain-timeout (default ${DEFAULT_DRAIN_TIMEOUT}): those still running then are stopped and their clients
get an error (a stream ends with an error event, never [DONE]); a second signal stops them and
closes every connection at once. When it stopped any, engine serve exits 130 (Ctrl-C) or 143 (SIGTERM).

Example:
  $ syndicate engine make-test-model --out tiny.gguf
  $ syndicate engine serve --model tiny.gguf --port 8090 --register embedded
  $ syndicate run --provider embedded "Say hello"`,
    )
    .action(async (options: ServeOptions, command: Command) => {
      const context = contextFor(command);
      const { output } = context;
      const modelPath = filePathOption(options.model, '--model', 'tiny.gguf');
      const port = portOption(options.port, 8090);
      const drainTimeoutMs = parseTimeout(options.drainTimeout, '--drain-timeout');
      const host = hostOption(options.host);
      const parallel = integerOption('parallel', options.parallel, 1, 64);
      const threadsGiven = options.threads === undefined ? undefined : integerOption('threads', options.threads, 1, 1024);
      const contextSize = options.context === undefined ? undefined : integerOption('context', options.context, 64);
      if (options.register !== undefined && !/^[a-z0-9][a-z0-9._-]{0,62}$/.test(options.register)) {
        throw new UsageError(`--register ${options.register}: a provider id is 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit`, {
          hint: 'e.g. --register llamacpp-local',
        });
      }
      let allowedHosts = options.allowHost ?? [];
      if (allowedHosts.length > 0) {
        const { normalizeHostName } = await import('../../common/host-check.js');
        checkEachOption(allowedHosts, normalizeHostName, '--allow-host', 'name the host a reverse proxy passes on in Host; "*" is not accepted');
        allowedHosts = allowedHosts.map(normalizeHostName);
      }
      if (options.register !== undefined) {
        // Before the model loads: a record the engine may not replace is refused in a moment, not after minutes of loading.
        const { refuseEngineRegistrationOver } = await import('../../engines/embedded-registration.js');
        refuseEngineRegistrationOver(await context.store(), options.register);
      }
      const { startEngineServer, defaultThreads } = await import('../../engines/server/index.js');
      const threads = threadsGiven ?? defaultThreads();

      const spinner = await output.spinner(`starting the engine for ${options.model}`);
      // Before the model loads: the socket already answers (GET /health is 503 "Loading model" until it is ready).
      let running;
      try {
        running = await startEngineServer({
          modelPath,
          host,
          port,
          gpu: options.gpu,
          threads,
          parallel,
          allowedHosts,
          ...(contextSize === undefined ? {} : { contextSize }),
          onListening: (url) => {
            if (output.stderrIsTty) spinner.update(`listening on ${url}, loading the model`);
            else output.info(`listening on ${url}, loading the model ...`);
          },
          onProgress: (message) => spinner.update(message),
          onInternalError: (error) => output.warn(`internal engine error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
        });
      } catch (error) {
        spinner.fail('the engine did not start');
        throw error;
      }
      const { info } = running;
      spinner.succeed(`model loaded in ${(info.loadMs / 1000).toFixed(1)} s`);

      let registered: { id: string; version: number; status: string } | undefined;
      if (options.register !== undefined) {
        try {
          // What a restart repeats (`engine status`, `doctor`): the options that differ from their defaults.
          const { servedArguments } = await import('../../engines/server/description.js');
          const servedWith = servedArguments({
            host,
            gpu: options.gpu,
            parallel,
            threads: threadsGiven,
            contextSize,
            allowedHosts,
            drainTimeout: drainTimeoutMs === parseTimeout(DEFAULT_DRAIN_TIMEOUT) ? undefined : formatDuration(drainTimeoutMs),
          });
          registered = await register(await context.store(), options.register, running.baseUrl, info, servedWith);
        } catch (error) {
          await running.close();
          throw error;
        }
        try {
          const { recordModelLoad } = await import('../../engines/events.js');
          recordModelLoad(await context.store(), { providerId: registered.id, model: info.id, loadMs: info.loadMs });
        } catch (error) {
          // The engine serves and is registered; only `syndicate metrics` misses this load time.
          output.warn(`could not record the model's load time for \`syndicate metrics\`: ${error instanceof Error ? error.message : String(error)}`);
        }
      }

      const document = {
        url: running.url,
        baseUrl: running.baseUrl,
        model: info.id,
        backend: info.backend,
        contextWindow: info.contextWindow,
        loadMs: info.loadMs,
        threads: info.threads,
        parallel: info.parallel,
        chatTemplate: info.chatWrapper,
        pid: process.pid,
        ...(registered === undefined ? {} : { provider: registered }),
      };
      // What it serves and where is the result (stdout, one line for a script waiting on it, as
      // `syndicate serve` prints); how it runs and how to use it is guidance (stderr).
      if (output.json) output.documentLine(document);
      else output.line(`syndicate engine serving ${info.id} at ${running.baseUrl}`);
      output.info(`  backend ${info.backend}, context ${info.contextWindow} tokens (trained ${info.trainedContextWindow}), ${counted(info.threads, 'thread')}, ${info.parallel} parallel, chat template: ${info.chatWrapper}, loaded in ${info.loadMs} ms`);
      if (allowedHosts.length > 0) output.info(`  it also answers to Host ${allowedHosts.join(', ')}`);
      if (registered !== undefined) {
        output.info(output.forHome(`  provider ${registered.id} v${registered.version} ${registered.status}: \`syndicate run --provider ${registered.id} "..."\``));
      }
      output.info(`  SIGTERM or Ctrl-C stops after the generations in flight finish (at most --drain-timeout ${formatDuration(drainTimeoutMs)}); a second one stops at once`);

      // The CLI's default SIGINT handler exits at once; the engine stops gracefully on either signal
      // instead, and a second signal cuts every connection (as `syndicate serve` does).
      // SIGHUP: its terminal or SSH session closed; drain as for SIGTERM (a second hangup does not cut it short).
      const stopSignal = await takeOverStopSignals(['SIGTERM', 'SIGINT', 'SIGHUP']);
      const cutShort = await drainWithin({
        output,
        stopSignal,
        drainTimeoutMs,
        inFlightNote: `${counted(running.pending, 'request')} in flight`,
        close: () => running.close(),
        cancelInFlight: (why, secondSignal) => {
          const cancelled = running.cancelInFlight(new InterruptedError(`the engine stopped (${why}) before the answer ended`));
          if (secondSignal) running.forceClose();
          return cancelled;
        },
      });
      context.close();
      // Only requests cut short make the stop an interruption: a second signal on an idle engine is still a clean stop.
      if (cutShort !== undefined && cutShort.cancelled > 0) {
        throw new InterruptedError(`engine stopped (${cutShort.why}): ${counted(cutShort.cancelled, 'request')} in flight cut short`, {
          hint: 'their clients got an error instead of the rest of the answer; give the generations more time with `engine serve --drain-timeout`',
          exitCode: exitCodeFor(stopSignal),
        });
      }
      output.info('engine stopped');
    });
}

async function register(store: Store, id: string, baseUrl: string, info: LoadedModelInfo, servedWith: readonly string[]): Promise<{ id: string; version: number; status: string }> {
  const { registerEmbeddedEngine } = await import('../../engines/embedded-registration.js');
  const outcome = await registerEmbeddedEngine(store, id, baseUrl, info, servedWith);
  return { id: outcome.id, version: outcome.version, status: outcome.status };
}

function makeTestModelCommand(): Command {
  return new Command('make-test-model')
    .description('write a small deterministic GGUF (llama architecture, random weights, real tokenizer and chat template) for tests and a first run')
    .requiredOption('--out <file>', 'where to write the .gguf file')
    .option('--seed <n>', 'seed of the weights (the same seed always writes the same bytes)')
    .addHelpText('after', '\nIts answers are gibberish; tokenisation, token counts, streaming and timings are real.\n\nExample:\n  $ syndicate engine make-test-model --out tiny.gguf --json')
    .action(async (options: { out: string; seed?: string }, command: Command) => {
      const { output } = contextFor(command);
      const seed = options.seed === undefined ? undefined : integerOption('seed', options.seed, 0, 2 ** 32 - 1);
      const { resolve } = await import('node:path');
      const { writeTestModel } = await import('../../engines/test-model.js');
      const summary = await writeTestModel(resolve(filePathOption(options.out, '--out', 'tiny.gguf')), seed === undefined ? {} : { seed });
      output.result(
        { path: summary.path, bytes: summary.bytes, sha256: summary.sha256, vocabularySize: summary.vocabularySize, contextLength: summary.contextLength, name: summary.name },
        () => {
          output.line(`wrote ${summary.path}`);
          output.line(`  ${summary.bytes} bytes, sha256 ${summary.sha256}`);
          output.line(`  vocabulary ${summary.vocabularySize} tokens, context ${summary.contextLength}, llama architecture`);
        },
      );
    });
}
