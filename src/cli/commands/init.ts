import { Command } from 'commander';
import { CheckFailedError } from '../../errors.js';
import { contextFor } from '../context.js';
import { counted } from '../output.js';
import { shellWord } from '../../common/shell-word.js';

export function initCommand(): Command {
  return new Command('init')
    .description('create the data directory, store, default policy, permit key and gateway token (idempotent); exit 1 when a kept file or directory cannot be used')
    .addHelpText('after', '\nExample:\n  $ syndicate init --home ./.syndicate')
    .action(async (_options: unknown, command: Command) => {
      const context = contextFor(command);
      const { output } = context;
      const { initializeHome } = await import('../../home/init.js');
      const { storeUpgradeReporter } = await import('../store-upgrade.js');
      const result = initializeHome(context.home, { onStoreUpgrade: storeUpgradeReporter(output) });
      const withHint = (finding: { detail: string; hint?: string }): string => (finding.hint === undefined ? finding.detail : `${finding.detail} — ${output.forHome(finding.hint)}`);
      for (const warning of result.warnings) output.warn(warning.fixed === true ? withHint(warning) : `${withHint(warning)}; then run \`syndicate doctor\``);
      const problemAt = new Map(result.problems.map((problem) => [problem.path, problem]));
      if (!output.json) {
        for (const path of result.created) output.line(`created ${path}`);
        for (const path of result.kept) {
          const problem = problemAt.get(path);
          output.line(problem === undefined ? `kept    ${path}` : `kept    ${path}, but: ${withHint(problem)}`);
        }
      }
      if (result.problems.length > 0) {
        const count = result.problems.length;
        const directories = result.problems.filter((problem) => problem.kind === 'directory').length;
        const kept = [count - directories > 0 ? counted(count - directories, 'file') : '', directories === 1 ? '1 directory' : directories > 1 ? `${directories} directories` : ''].filter((part) => part !== '').join(' and ');
        const { fixesOf } = await import('../../home/checks.js');
        // Each kept file's fix (two files' used to be the first's alone), as `doctor` gives them.
        const fixes = fixesOf(result.problems.map((problem) => ({ name: problem.name, hint: problem.hint ?? `fix ${shellWord(problem.path)}` })), directories === count ? 'for each directory:' : directories > 0 ? 'for each:' : 'for each file:') ?? '';
        throw new CheckFailedError(
          `init kept ${kept} that cannot be used as ${count === 1 ? 'it is' : 'they are'}: ${result.problems.map((problem) => problem.name).join(', ')}`,
          { hint: `${fixes}${fixes.includes('\n') ? '\n' : '; '}then run \`syndicate doctor\``, details: { ...result } },
        );
      }
      if (output.json) output.document(output.hintsForHome({ ...result }));
      else if (result.warnings.length === 0) output.line(`syndicate is ready in ${result.dataDir}`);
      else {
        const toFix = result.warnings.some((warning) => warning.fixed !== true) ? output.forHome(': fix them, then run `syndicate doctor`') : '';
        output.line(`syndicate is set up in ${result.dataDir}, with ${counted(result.warnings.length, 'warning')} (stderr)${toFix}`);
      }
    });
}
