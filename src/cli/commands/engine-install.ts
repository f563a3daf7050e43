import { Command, Option } from 'commander';
import { ENGINE_BACKENDS, type EngineBackend } from '../../engines/backends.js';
import { contextFor } from '../context.js';

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
        result = await installEngine({ backend: options.gpu, force: options.force === true, onProgress: (line) => spinner.update(`npm: ${line}`) });
      } catch (error) {
        spinner.fail('engine install failed');
        throw error;
      }
      const { installation } = result;
      spinner.succeed(result.changed ? `installed in ${(result.durationMs / 1000).toFixed(1)} s` : 'already installed');
      output.result(
        {
          changed: result.changed,
          directory: installation.directory,
          version: installation.version,
          binaryPackages: installation.binaryPackages,
          packages: result.packages,
          durationMs: result.durationMs,
        },
        () => {
          output.line(`node-llama-cpp ${installation.version} in ${installation.directory}`);
          output.line(`binaries: ${installation.binaryPackages.join(', ')}`);
        },
      );
    });
}

/** `syndicate engine status`: whether the embedded engine is installed and which backend it would use. */
export function engineStatusCommand(): Command {
  return new Command('status')
    .description('show whether the embedded engine is installed, where, and which backend it loads (cpu, cuda, vulkan, metal)')
    .addHelpText(
      'after',
      '\nExits 1 when node-llama-cpp is absent or is not the release syndicate uses (error code engine_not_installed),\nor when its bindings do not load (engine_backend_unavailable); each error names the fix.\n\nExample:\n  $ syndicate engine status --json',
    )
    .action(async (_options: unknown, command: Command) => {
      const context = contextFor(command);
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
    });
}
