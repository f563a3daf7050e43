import { Command } from 'commander';
import type { Policy } from '../../policy/types.js';
import { contextFor } from '../context.js';

export function policyCommand(): Command {
  const policy = new Command('policy')
    .description('validate and show the routing and privacy policy (policy.yaml)')
    .addHelpText('after', '\nExample:\n  $ syndicate policy check\n  $ syndicate policy show --json');

  policy
    .command('check')
    .description("validate a policy file (default: the home's policy.yaml; `-`: stdin) and print its digest; exit 3 with every problem located")
    .argument('[file]', 'policy file to check (`-`: stdin)')
    .addHelpText('after', '\nExample:\n  $ syndicate policy check ./policy.yaml\n  $ git show main:policy.yaml | syndicate policy check -')
    .action(async (file: string | undefined, _options: unknown, command: Command) => {
      const context = contextFor(command);
      const { path, source, policy } = await checkPolicyFile(file, context.home.policyPath);
      const { policyDigest } = await import('../../policy/digest.js');
      const digest = policyDigest(policy);
      context.output.result({ path, source, valid: true, digest }, () => {
        context.output.line(
          source === 'defaults'
            ? context.output.forHome(`${path} does not exist: the built-in default policy applies (run \`syndicate init\` to write it); digest ${digest}`)
            : `${path}: valid policy, digest ${digest}`,
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
      const { policyDigest } = await import('../../policy/digest.js');
      const digest = policyDigest(loaded.policy);
      context.output.result({ path: loaded.path, source: loaded.source, digest, policy: loaded.policy }, () => {
        context.output.line(`# effective policy (${loaded.source === 'file' ? loaded.path : 'built-in defaults; no policy file'}), digest ${digest}`);
        context.output.write(stringify(loaded.policy));
      });
    });

  return policy;
}

/**
 * Validates the policy `policy check` names (`-`: stdin; none: the home's, which may be absent and
 * then the defaults apply); throws on the first invalid one. What was checked, and from where.
 */
async function checkPolicyFile(file: string | undefined, homePolicyPath: string): Promise<{ path: string; source: 'stdin' | 'file' | 'defaults'; policy: Policy }> {
  const { loadPolicyWithSource, parsePolicyText } = await import('../../policy/load.js');
  if (file === '-') {
    const { readTextInput } = await import('../input.js');
    const input = await readTextInput(file, 'policy check');
    return { path: input.file, source: 'stdin', policy: parsePolicyText(input.text, input.file) };
  }
  const path = file ?? homePolicyPath;
  const loaded = loadPolicyWithSource(path, { mustExist: file !== undefined });
  return { path, source: loaded.source, policy: loaded.policy };
}
