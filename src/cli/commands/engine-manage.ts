import { Command } from 'commander';
import { parseTimeout } from '../../common/duration.js';
import type { EngineReport, ReportedModel } from '../../engines/manage.js';
import { CheckFailedError, UsageError } from '../../errors.js';
import type { RegisteredProvider } from '../../registry/types.js';
import { describeHold } from '../../router/shared-holds.js';
import type { CommandContext } from '../context.js';
import { contextFor } from '../context.js';
import { positiveIntegerOption } from '../input.js';
import { cancellable } from '../interrupt.js';
import { counted, type Output } from '../output.js';

/** `PROVIDER:MODEL` (the model id may itself hold colons, e.g. ollama:llama3.2:3b). */
function providerAndModel(value: string): { providerId: string; model: string } {
  const index = value.indexOf(':');
  if (index <= 0 || index === value.length - 1) {
    throw new UsageError(`"${value}" is not PROVIDER:MODEL`, { hint: 'name the provider and the model, e.g. ollama:llama3.2:3b (`syndicate engine status` lists both)' });
  }
  return { providerId: value.slice(0, index), model: value.slice(index + 1) };
}

/** The local provider `id` from the store (see `requireLocalProvider`). */
async function localProvider(context: CommandContext, id: string, retired: 'refused' | 'allowed' = 'refused'): Promise<RegisteredProvider> {
  const { requireLocalProvider } = await import('../../engines/manage.js');
  return requireLocalProvider(await context.store({ existing: true }), id, retired);
}

function timeoutOption(text: string | undefined, fallbackMs: number): number {
  return text === undefined ? fallbackMs : parseTimeout(text);
}

function modelLine(model: ReportedModel): string {
  const parts = [model.state === 'loaded' ? undefined : model.state, model.vramGb === undefined ? undefined : `${model.vramGb} GB`, model.priority === undefined ? 'not in the record' : `priority ${model.priority}`];
  if (model.expiresAt !== undefined) parts.push(`until ${model.expiresAt}`);
  return `${model.model} (${parts.filter((part) => part !== undefined).join(', ')})`;
}

function printReport(output: Output, report: EngineReport): void {
  const state = report.reachable ? output.color.green('up') : output.color.red(report.cause === 'failing' ? 'failing' : 'down');
  const detail = [report.kind, report.engineVersion, report.mode].filter((part) => part !== undefined).join(' ');
  output.line(`${output.color.bold(report.provider)} v${report.providerVersion}  ${state}  ${detail}  ${report.baseUrl}`);
  if (!report.reachable) output.line(`  ${report.reason ?? 'unreachable'}`);
  if (report.resident !== null) output.line(`  resident: ${report.resident.length === 0 ? 'none' : report.resident.map(modelLine).join('; ')}`);
  if (report.available !== null && report.available.length > 0) output.line(`  available: ${report.available.join(', ')}`);
  if (report.vramBudgetGb !== null) output.line(`  VRAM: ${report.residentVramGb === null ? 'unknown' : `${report.residentVramGb} GB`} in use of a ${report.vramBudgetGb} GB budget`);
  if (report.process !== null) {
    // A row whose process has exited (or whose pid another program now has) is not the engine: what answers there, if anything, was not started by syndicate.
    const exited = report.reachable || report.cause === 'failing' ? ' (exited; what answers there now was not started by syndicate)' : ' (exited)';
    output.line(`  process: pid ${report.process.pid}${report.process.alive ? '' : exited}, started by syndicate ${report.process.startedAt}, log ${report.process.logPath}`);
  } else if (report.launch !== null) {
    output.line(`  launch: ${report.launch}${report.reachable || report.cause === 'failing' ? ' (running, not started by syndicate)' : output.forHome(` (\`syndicate engine start ${report.provider}\`)`)}`);
  }
}

async function embeddedStatus(context: CommandContext): Promise<void> {
  const { output } = context;
  const { checkEngineReadiness } = await import('../../engines/runtime.js');
  const readiness = await checkEngineReadiness();
  output.result(
    {
      directory: readiness.installation.directory,
      source: readiness.installation.source,
      version: readiness.installation.version,
      binaryPackages: readiness.installation.binaryPackages,
      backend: readiness.backend,
      loadMs: readiness.loadMs,
    },
    () => {
      output.line(`node-llama-cpp ${readiness.installation.version} (${readiness.installation.source}: ${readiness.installation.directory})`);
      output.line(`binaries: ${readiness.installation.binaryPackages.join(', ')}`);
      output.line(`backend: ${readiness.backend} (bindings loaded in ${readiness.loadMs} ms)`);
    },
  );
}

function statusCommand(): Command {
  return new Command('status')
    .description('show each local engine: up or down, the models it holds (size, priority, keep-alive), its VRAM budget, and the process syndicate started; --embedded: the embedded engine\'s installation')
    .argument('[provider]', 'one local provider (default: every registered local provider)')
    .option('--embedded', 'whether the embedded engine (node-llama-cpp) is installed, where, and which backend it loads (cpu, cuda, vulkan, metal)')
    .addHelpText(
      'after',
      `
Exits 1 when an engine it reports does not answer, or answers with an error (error code
check_failed, every report in its details, cause unreachable or failing). With --embedded it
exits 1 when node-llama-cpp is absent or not the release syndicate uses (engine_not_installed),
or when its bindings do not load (engine_backend_unavailable).

Examples:
  $ syndicate engine status
  $ syndicate engine status ollama --json
  $ syndicate engine status --embedded`,
    )
    .action(async (providerId: string | undefined, options: { embedded?: boolean }, command: Command) => {
      const context = contextFor(command);
      const { output } = context;
      if (options.embedded === true) {
        if (providerId !== undefined) throw new UsageError('--embedded reports the embedded engine\'s installation: give no provider with it', {
          hint: `run \`syndicate engine status --embedded\` for the installation, or \`syndicate engine status ${providerId}\` for that engine`,
        });
        await embeddedStatus(context);
        return;
      }
      const { engineDownHint, engineFailingHint, engineReport, localEngineProviders } = await import('../../engines/manage.js');
      const store = await context.store({ existing: true });
      const providers = providerId === undefined ? localEngineProviders(store) : [await localProvider(context, providerId)];
      const reports = await Promise.all(providers.map((provider) => engineReport(store, provider)));
      const down = reports.filter((report) => !report.reachable);
      if (output.json) {
        if (down.length === 0) output.document({ engines: reports });
      } else if (reports.length === 0) {
        output.line('no local providers registered');
        output.info(output.forHome('hint: register one (`syndicate provider add ollama`, or `syndicate engine serve --model FILE --register ID`); `syndicate engine status --embedded` shows the embedded engine'));
      } else {
        reports.forEach((report, index) => {
          if (index > 0) output.line();
          printReport(output, report);
        });
      }
      if (down.length > 0) {
        const first = down[0]!;
        const firstProvider = providers.find((provider) => provider.id === first.provider)!;
        const silent = down.filter((report) => report.cause !== 'failing');
        const failing = down.filter((report) => report.cause === 'failing');
        const named = (group: EngineReport[]): string => group.map((report) => report.provider).join(', ');
        const parts = [silent.length === 0 ? '' : `did not answer: ${named(silent)}`, failing.length === 0 ? '' : `answered with an error: ${named(failing)}`].filter((part) => part !== '');
        throw new CheckFailedError(`${down.length} of ${counted(reports.length, 'engine')} ${parts.join('; ')}`, {
          hint: first.cause === 'failing' ? engineFailingHint(firstProvider, first.process) : engineDownHint(firstProvider, first.process),
          details: { engines: reports },
        });
      }
    });
}

function loadCommand(): Command {
  return new Command('load')
    .description('load a model into its local engine; with a VRAM budget declared, evict lower-priority models first when the budget requires it (hot-swap)')
    .argument('<provider:model>', 'the provider and one of its declared models, e.g. ollama:llama3.2:3b')
    .option('--task <tag>', 'the task at hand: a model tagged for it outranks one that is not when choosing what to evict')
    .option('--keep-alive <duration>', 'Ollama: how long the engine keeps the model after its last use (5m, 1h, -1 for ever)')
    .option('--num-ctx <tokens>', "Ollama: the context to load the model with (num_ctx), at most the record's contextWindow; a model loaded with another is loaded again")
    .option('--force', 'evict whatever the budget requires, lowest priority first, even models that outrank this one')
    .option('--dry-run', 'print the swap plan (what would be evicted) and change nothing')
    .option('--timeout <duration>', 'how long to wait for each load and unload (a bare number is seconds)', '10m')
    .addHelpText(
      'after',
      `
Hot-swap: when the provider record declares engine.vramBudgetGb and the model's vramGb, and the
models the engine holds (their size as the engine reports it, else their declared vramGb) leave
too little room, models are unloaded first — only ones this model outranks: with --task, a model
tagged for the task outranks one that is not; then the higher priority wins; equal never evicts.
If that cannot free enough the load is refused (exit 4, engine_swap_refused) and nothing changes.
A model Ollama holds with another context than --num-ctx is loaded again through the same plan.
Other engines keep the context they were started with: there --num-ctx is ignored, with a warning.
Every unload and the load are recorded (syndicate metrics shows load times).

Examples:
  $ syndicate engine load ollama:qwen2.5-coder:7b --task code
  $ syndicate engine load ollama:llama3.2:3b --num-ctx 16384
  $ syndicate engine load llamacpp:qwen2.5-7b-instruct-q4_k_m --dry-run --json`,
    )
    .action(async (target: string, options: { task?: string; keepAlive?: string; numCtx?: string; force?: boolean; dryRun?: boolean; timeout: string }, command: Command) => {
      const context = contextFor(command);
      const { output } = context;
      const { providerId, model } = providerAndModel(target);
      const timeoutMs = timeoutOption(options.timeout, 600_000);
      const contextLength = positiveIntegerOption(options.numCtx, '--num-ctx', 8192);
      if (options.keepAlive !== undefined && !/^-?(\d+|(\d+(\.\d+)?(ms|s|m|h))+)$/.test(options.keepAlive)) {
        throw new UsageError(`--keep-alive ${options.keepAlive}: expected a duration like 30s, 5m, 1h, or seconds (-1 keeps the model for ever)`, {
          hint: 'e.g. --keep-alive 30m; leave it out for the engine\'s own default',
        });
      }
      const provider = await localProvider(context, providerId);
      const { loadEngineModel } = await import('../../engines/manage.js');
      const spinner = options.dryRun === true ? undefined : await output.spinner(`loading ${model} into ${providerId}`);
      let outcome;
      try {
        outcome = await loadEngineModel(await context.store(), provider, model, {
          timeoutMs,
          ...(options.task === undefined ? {} : { task: options.task }),
          ...(options.keepAlive === undefined ? {} : { keepAlive: options.keepAlive }),
          ...(contextLength === undefined ? {} : { contextLength }),
          force: options.force === true,
          dryRun: options.dryRun === true,
        });
      } catch (error) {
        spinner?.fail(`${model} was not loaded`);
        throw error;
      }
      spinner?.stop();
      if (outcome.ignored !== undefined) output.warn(`--num-ctx ignored: ${providerId}'s engine is ${provider.record.engine?.kind ?? 'openai-compatible'}, which keeps the context it was started with (set it there)`);
      output.result({ ...outcome }, () => {
        for (const line of outcome.explanation) output.info(`  ${line}`);
        if (outcome.alreadyResident) output.line(`${outcome.model} is already loaded in ${outcome.provider}`);
        else if (outcome.dryRun) output.line(`would ${outcome.evicted.length === 0 ? '' : `unload ${outcome.evicted.map((entry) => entry.model).join(', ')}, then `}load ${outcome.model} into ${outcome.provider}`);
        else {
          for (const evicted of outcome.evicted) output.line(`unloaded ${evicted.model} (${evicted.unloadMs} ms)`);
          output.line(`loaded ${outcome.model} into ${outcome.provider} in ${((outcome.loadMs ?? 0) / 1000).toFixed(1)} s`);
        }
      });
    });
}

function unloadCommand(): Command {
  return new Command('unload')
    .description('unload a model from its local engine (Ollama, llama.cpp in router mode, llama-swap, LM Studio, vLLM in sleep mode)')
    .argument('<provider:model>', 'the provider and a model its engine holds')
    .option('--timeout <duration>', 'how long to wait for the engine to release it (a bare number is seconds)', '2m')
    .addHelpText('after', '\nA model the engine does not hold is not an error (nothing to do). Engines that keep one model for\ntheir whole life refuse with what to do instead (exit 2, engine_operation_unsupported).\n\nExample:\n  $ syndicate engine unload ollama:llama3.2')
    .action(async (target: string, options: { timeout: string }, command: Command) => {
      const context = contextFor(command);
      const { output } = context;
      const { providerId, model } = providerAndModel(target);
      const timeoutMs = timeoutOption(options.timeout, 120_000);
      const provider = await localProvider(context, providerId);
      const { unloadEngineModel } = await import('../../engines/manage.js');
      const outcome = await unloadEngineModel(await context.store(), provider, model, { timeoutMs });
      output.result({ ...outcome }, () => {
        output.line(outcome.wasResident ? `unloaded ${outcome.model} from ${outcome.provider} (${outcome.unloadMs} ms)` : `${outcome.provider} does not hold ${outcome.model}: nothing to unload`);
      });
    });
}

function startCommand(): Command {
  return new Command('start')
    .description("start a local provider's engine process as its record declares (engine.launch), and wait until it answers")
    .argument('<provider>', 'a local provider whose record declares engine.launch')
    .option('--timeout <duration>', 'how long to wait for readyPath to answer; a bare number is seconds (default: twice engine.launch.coldStartSeconds, at least 30s; else 2m)')
    .addHelpText(
      'after',
      `
The process runs detached, in its own process group, writing stdout and stderr to
engines/PROVIDER.log beside the store; syndicate records its pid so that engine stop can stop it
(and only it). An engine that already answers is left alone (exit 0). One that exits, or does not
answer in time, is stopped and reported with the end of its log (exit 5).

Example:
  $ syndicate engine start llamacpp`,
    )
    .action(async (providerId: string, options: { timeout?: string }, command: Command) => {
      const context = contextFor(command);
      const { output } = context;
      const provider = await localProvider(context, providerId);
      const timeoutMs = options.timeout === undefined ? undefined : parseTimeout(options.timeout);
      const { startProviderEngine } = await import('../../engines/manage.js');
      const spinner = await output.spinner(`starting ${providerId}'s engine`);
      let outcome;
      try {
        const store = await context.store();
        // Ctrl-C or SIGTERM while it loads stops the engine rather than leaving it starting unseen.
        outcome = await cancellable((signal) =>
          startProviderEngine(store, provider, {
            storePath: context.home.storePath,
            ...(timeoutMs === undefined ? {} : { timeoutMs }),
            signal,
            onWaiting: (seconds) => {
              if (output.stderrIsTty) spinner.update(`starting ${providerId}'s engine (${seconds} s)`);
              else output.info(`waiting for ${providerId}'s engine (${seconds} s) ...`);
            },
          }),
          { timeoutOption: `syndicate engine start ${providerId} --timeout` },
        );
      } catch (error) {
        spinner.fail(`${providerId}'s engine did not start`);
        throw error;
      }
      spinner.stop();
      const { released } = outcome;
      const printReleased = (): void => {
        for (const hold of released) output.line(`  released ${describeHold(hold)}`);
      };
      if (!outcome.started) {
        const former = outcome.takenOverFrom;
        const body = { provider: providerId, started: false, reason: outcome.reason, ...(outcome.process === undefined ? {} : { pid: outcome.process.pid, logPath: outcome.process.logPath }), ...(former === undefined ? {} : { takenOverFrom: former.pid }), released };
        output.result(body, () => {
          if (outcome.process === undefined) output.line(`${providerId}'s engine is already running (not started by syndicate)`);
          else if (former === undefined) output.line(`${providerId}'s engine is already running (pid ${outcome.process.pid}, started by syndicate)`);
          else output.line(`${providerId}'s engine is already running (pid ${outcome.process.pid}), started by a gateway (pid ${former.pid}) that is gone: it now runs until \`syndicate engine stop ${providerId}\``);
          printReleased();
        });
        return;
      }
      const { process: started } = outcome;
      output.result({ provider: providerId, started: true, pid: started.pid, readyMs: outcome.readyMs, logPath: started.logPath, command: started.command, loaded: outcome.loaded, released }, () => {
        output.line(`started ${providerId}'s engine: pid ${started.pid}, ready in ${(outcome.readyMs / 1000).toFixed(1)} s`);
        if (outcome.loaded.length > 0) output.line(`  holds ${outcome.loaded.join(', ')}`);
        output.line(`  log ${started.logPath}`);
        printReleased();
      });
    });
}

function stopCommand(): Command {
  return new Command('stop')
    .description('stop an engine process syndicate started (SIGTERM to its process group, SIGKILL after the grace period)')
    .argument('<provider>', 'a local provider whose engine syndicate started')
    .option('--grace <duration>', 'how long to wait after SIGTERM before SIGKILL (a bare number is seconds)', '15s')
    .addHelpText('after', '\nAn engine syndicate did not start is refused (exit 2, engine_not_managed): stop it the way it was\nstarted. One that is not running is not an error.\n\nExample:\n  $ syndicate engine stop llamacpp')
    .action(async (providerId: string, options: { grace: string }, command: Command) => {
      const context = contextFor(command);
      const { output } = context;
      const graceMs = parseTimeout(options.grace, '--grace');
      const provider = await localProvider(context, providerId, 'allowed');
      const { stopProviderEngine } = await import('../../engines/manage.js');
      const outcome = await stopProviderEngine(await context.store(), provider, { graceMs });
      output.result(
        outcome.stopped
          ? { provider: providerId, stopped: true, pid: outcome.process.pid, stopMs: outcome.stopMs, killed: outcome.killed }
          : { provider: providerId, stopped: false, reason: outcome.reason, ...(outcome.process === undefined ? {} : { pid: outcome.process.pid, logPath: outcome.process.logPath }) },
        () => {
          if (outcome.stopped) output.line(`stopped ${providerId}'s engine (pid ${outcome.process.pid}) in ${(outcome.stopMs / 1000).toFixed(1)} s${outcome.killed ? ` — still running ${graceMs / 1000} s after SIGTERM, so killed (an engine may wait for the requests it is answering: llama-server may wait for an open stream until it is killed; --grace sets the wait)` : ''}`);
          else output.line(outcome.reason === 'exited' ? `${providerId}'s engine (pid ${outcome.process?.pid}) had already exited: nothing was signalled (its log: ${outcome.process?.logPath})` : `${providerId}'s engine is not running`);
        },
      );
    });
}

/** The engine-management subcommands of `syndicate engine`. */
export function engineManagementCommands(): Command[] {
  return [statusCommand(), loadCommand(), unloadCommand(), startCommand(), stopCommand()];
}
