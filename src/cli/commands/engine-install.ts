import { Command, Option } from 'commander';
import { ENGINE_BACKENDS, type EngineBackend } from '../../engines/backends.js';
import { contextFor } from '../context.js';
import { cancellable } from '../interrupt.js';

/** `syndicate engine install`: node-llama-cpp and one backend's prebuilt binaries into the engine directory. */
export function engineInstallCommand(): Command {
  return new Command('install')
    .description('install the embedded engine (node-llama-cpp with llama.cpp prebuilt binaries) from the npm registry')
    .addOption(new Option('--gpu <backend>', 'binaries to add besides the CPU build').choices(ENGINE_BACKENDS).default('cpu'))
    .option('--force', 'reinstall from scratch even when present')
    .addHelpText(
      'after',
      [
        '',
        'The engine lives outside syndicate\'s own node_modules, in $SYNDICATE_ENGINE_DIR or',
        '~/.cache/syndicate/engine/node-llama-cpp-<version>: ~85 MB for CPU on linux-x64, while',
        'CUDA adds ~540 MB and Vulkan ~70 MB. Only what you ask for is downloaded.',
        '',
        'Examples:',
        '  $ syndicate engine install',
        '  $ syndicate engine install --gpu cuda',
      ].join('\n'),
    )
    .action(async (options: { gpu: EngineBackend; force?: boolean }, command: Command) => {
      const context = contextFor(command);
      const { output } = context;
      const { installEngine, engineDirectory } = await import('../../engines/runtime.js');
      const message = `installing node-llama-cpp (${options.gpu}) into ${engineDirectory()}`;
      const spinner = await output.spinner(message);
      if (!output.stderrIsTty) output.info(`${message} ...`);
      let result;
      try {
        // Ctrl-C or SIGTERM stops npm and removes the half-downloaded install (exit 130 / 143).
        result = await cancellable(
          (signal) => installEngine({ backend: options.gpu, force: options.force === true, signal, onProgress: (line) => spinner.update(`npm: ${line}`) }),
          { otherWork: { name: '`engine install`', hint: 'npm was stopped, and a fresh install\'s half-downloaded directory removed; run `syndicate engine install` again' } },
        );
      } catch (error) {
        spinner.fail('engine install failed');
        throw error;
      }
      const { installation } = result;
      const outcome = result.changed ? `installed in ${(result.durationMs / 1000).toFixed(1)} s` : 'already installed: nothing was downloaded';
      spinner.succeed(outcome);
      // Off a terminal there is no spinner to end: say how it ended after the "installing …" line.
      if (!output.stderrIsTty) output.info(outcome);
      for (const scratch of result.removedAbandoned) output.info(`removed ${scratch}: the unfinished download of an install that was killed`);
      output.result(
        {
          changed: result.changed,
          directory: installation.directory,
          version: installation.version,
          binaryPackages: installation.binaryPackages,
          packages: result.packages,
          durationMs: result.durationMs,
          removedAbandoned: result.removedAbandoned,
        },
        () => {
          output.line(`node-llama-cpp ${installation.version} in ${installation.directory}`);
          output.line(`binaries: ${installation.binaryPackages.join(', ')}`);
        },
      );
    });
}
