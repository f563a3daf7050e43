import { Command } from 'commander';
import { contextFor } from '../context.js';

export function initCommand(): Command {
  return new Command('init')
    .description('create the data directory, store, default policy, permit key and gateway token (idempotent)')
    .addHelpText('after', '\nExample:\n  $ syndicate init --home ./.syndicate')
    .action(async (_options: unknown, command: Command) => {
      const context = contextFor(command);
      const { initializeHome } = await import('../../home/init.js');
      const result = initializeHome(context.home);
      context.output.result({ ...result }, () => {
        for (const path of result.created) context.output.line(`created ${path}`);
        for (const path of result.kept) context.output.line(`kept    ${path}`);
        context.output.line(`syndicate is ready in ${result.dataDir}`);
      });
    });
}
