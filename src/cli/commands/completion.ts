import { Argument, Command } from 'commander';
import { COMPLETION_SHELLS, type CompletionShell } from '../completion-scripts.js';
import { contextFor } from '../context.js';

export function completionCommand(): Command {
  return new Command('completion')
    .description('print a shell completion script for every command, subcommand and option (static: completing never starts syndicate)')
    .addArgument(new Argument('<shell>', 'the shell to complete in').choices(COMPLETION_SHELLS))
    .addHelpText(
      'after',
      `
Install (then open a new shell; regenerate after an upgrade):
  bash  $ mkdir -p ~/.local/share/bash-completion/completions && syndicate completion bash > ~/.local/share/bash-completion/completions/syndicate
  zsh   $ mkdir -p ~/.zfunc && syndicate completion zsh > ~/.zfunc/_syndicate   # ~/.zshrc: fpath=(~/.zfunc $fpath) before compinit
  fish  $ mkdir -p ~/.config/fish/completions && syndicate completion fish > ~/.config/fish/completions/syndicate.fish`,
    )
    .action(async (shell: CompletionShell, _options: unknown, command: Command) => {
      const { output } = contextFor(command);
      // The whole tree: this line loaded only this command (see `namedCommand`).
      const { buildProgram } = await import('../program.js');
      const { helpDocument } = await import('../help-document.js');
      const { completionScript } = await import('../completion-scripts.js');
      const script = completionScript(shell, helpDocument(await buildProgram()));
      output.result({ shell, script }, () => output.write(script));
    });
}
