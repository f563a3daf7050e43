import { Command } from 'commander';
import { CheckFailedError } from '../../errors.js';
import { contextFor } from '../context.js';
import { printHeldBack } from '../held-back.js';

export function doctorCommand(): Command {
  return new Command('doctor')
    .description(
      'check the store, the owner and mode of the data directory and its files, the permit key, that policy.yaml validates, Node version and every registered local engine; list what is held back from routes',
    )
    .addHelpText('after', '\nExample:\n  $ syndicate doctor --json')
    .action(async (_options: unknown, command: Command) => {
      const context = contextFor(command);
      const { doctorFailure, runDoctor } = await import('../../doctor/doctor.js');
      const { storeUpgradeReporter } = await import('../store-upgrade.js');
      const { checks, holds } = await runDoctor(context.home, { onStoreUpgrade: storeUpgradeReporter(context.output) });
      const failure = doctorFailure(checks);
      const { output } = context;
      if (output.json) {
        if (failure === undefined) output.document(output.hintsForHome({ checks, holds }));
      } else {
        const mark = (status: string): string =>
          status === 'pass' ? output.color.green('pass') : status === 'warn' ? output.color.yellow('warn') : output.color.red('FAIL');
        output.table(
          ['check', 'status', 'detail'],
          checks.map((check) => [check.name, mark(check.status), check.hint === undefined ? check.detail : `${check.detail} — ${output.forHome(check.hint)}`]),
        );
        output.line();
        printHeldBack(output, holds, 'nothing held back from routes');
      }
      if (failure !== undefined) throw new CheckFailedError(failure.message, { hint: failure.hint, details: { checks, holds } });
    });
}
