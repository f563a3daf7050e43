import { Command } from 'commander';
import { contextFor } from '../context.js';

export function policyCommand(): Command {
  const policy = new Command('policy')
    .description('validate and show the routing and privacy policy (policy.yaml)')
    .addHelpText('after', '\nExample:\n  $ syndicate policy check\n  $ syndicate policy show --json');

  policy
    .command('check')
    .description("validate a policy file (default: the home's policy.yaml; `-`: stdin); exit 3 with every problem located")
    .argument('[file]', 'policy file to check (`-`: stdin)')
    .addHelpText('after', '\nExample:\n  $ syndicate policy check ./policy.yaml\n  $ git show main:policy.yaml | syndicate policy check -')
    .action(async (file: string | undefined, _options: unknown, command: Command) => {
      const context = contextFor(command);
      const { loadPolicyWithSource, parsePolicyText } = await import('../../policy/load.js');
      if (file === '-') {
        const { readTextInput } = await import('../input.js');
        const input = await readTextInput(file, 'policy check');
        parsePolicyText(input.text, input.file);
        context.output.result({ path: input.file, source: 'stdin', valid: true }, () => context.output.line(`${input.file}: valid policy`));
        return;
      }
      const path = file ?? context.home.policyPath;
      const loaded = loadPolicyWithSource(path, { mustExist: file !== undefined });
      context.output.result({ path, source: loaded.source, valid: true }, () => {
        context.output.line(
          loaded.source === 'file' ? `${path}: valid policy` : context.output.forHome(`${path} does not exist: the built-in default policy applies (run \`syndicate init\` to write it)`),
        );
      });
    });

  policy
    .command('show')
    .description('print the effective policy: the file merged over the built-in defaults')
    .addHelpText('after', '\nExample:\n  $ syndicate policy show --json')
    .action(async (_options: unknown, command: Command) => {
      const context = contextFor(command);
      const { loadPolicyWithSource } = await import('../../policy/load.js');
      const loaded = loadPolicyWithSource(context.home.policyPath);
      const { stringify } = await import('yaml');
      context.output.result({ path: loaded.path, source: loaded.source, policy: loaded.policy }, () => {
        context.output.line(`# effective policy (${loaded.source === 'file' ? loaded.path : 'built-in defaults; no policy file'})`);
        context.output.write(stringify(loaded.policy));
      });
    });

  return policy;
}
