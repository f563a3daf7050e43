/**
 * `--help --json`: a script asking for help gets one JSON document describing the command, built
 * from commander's tree (the text help's own source), and exit 0.
 */
import { describe, expect, it } from 'vitest';
import { parseJsonDocument, runCli } from '../helpers/cli.js';

interface DocumentedCommand {
  name: string;
  path: string;
  usage: string;
  description: string;
  arguments: { name: string; required: boolean; variadic: boolean }[];
  options: { flags: string; long?: string; short?: string; description: string; takesValue: boolean; default?: unknown; choices?: string[] }[];
  commands: DocumentedCommand[];
}

describe('--help --json', () => {
  it('prints the root as one document: its options, and every command with its subcommands and options', async () => {
    const [flagAfter, flagBefore] = await Promise.all([runCli(['--help', '--json']), runCli(['--json', '--help'])]);
    for (const result of [flagAfter, flagBefore]) {
      expect(result.exitCode).toBe(0);
      expect(result.stderr).toBe('');
      const document = parseJsonDocument(result.stdout) as { ok: boolean; command: DocumentedCommand };
      expect(document.ok).toBe(true);
      const root = document.command;
      expect(root).toMatchObject({ name: 'syndicate', path: 'syndicate', usage: 'syndicate [options] [command]' });
      // -V, --version is answered before commander parses anything, and is the program's option all the same (it was missing).
      expect(root.options.map((option) => option.flags)).toEqual(['--json', '--home <dir>', '-h, --help', '-V, --version']);
      expect(root.options.at(-1)).toMatchObject({ long: '--version', short: '-V', takesValue: false });
      expect(root.options[1]).toMatchObject({ long: '--home', takesValue: true });
      const provider = root.commands.find((command) => command.name === 'provider');
      expect(provider?.commands.map((command) => command.name)).toEqual(expect.arrayContaining(['register', 'release', 'remove', 'help']));
      const evidence = root.commands.find((command) => command.name === 'evidence');
      const exportCommand = evidence?.commands.find((command) => command.name === 'export');
      expect(exportCommand?.options.find((option) => option.long === '--format')).toMatchObject({ takesValue: true, default: 'jsonl', choices: ['jsonl'] });
      const list = evidence?.commands.find((command) => command.name === 'list');
      expect(list?.options.find((option) => option.long === '--state')).toMatchObject({ choices: ['pending', 'completed', 'failed', 'interrupted', 'denied'] });
      expect(list?.options.find((option) => option.long === '--sensitivity')).toMatchObject({ choices: ['public', 'internal', 'confidential', 'restricted'] });
      expect(list?.options.find((option) => option.long === '--class')).toMatchObject({ choices: ['local', 'approved_hosted', 'restricted_hosted', 'hosted'] });
    }
  });

  it('prints a nested command as its own document, whether asked with --help or `provider help show`', async () => {
    const [flag, helpCommand, human] = await Promise.all([
      runCli(['provider', 'show', '--help', '--json']),
      runCli(['--json', 'provider', 'help', 'show']),
      runCli(['provider', 'show', '--help']),
    ]);
    expect(flag.exitCode).toBe(0);
    const document = parseJsonDocument(flag.stdout) as { ok: boolean; command: DocumentedCommand };
    expect(document.command).toMatchObject({
      name: 'show',
      path: 'syndicate provider show',
      usage: 'syndicate provider show [options] <id>',
      arguments: [{ name: 'id', required: true, variadic: false }],
      commands: [],
    });
    expect(document.command.options.map((option) => option.flags)).toEqual(['--version <n>', '--at <n>', '-h, --help']);
    // The same text the human help shows, from the same tree.
    expect(human.stdout).toContain(document.command.description.slice(0, 40));
    expect(helpCommand.exitCode).toBe(0);
    expect(parseJsonDocument(helpCommand.stdout)).toEqual(document);
  });

  it('a group without its subcommand stays a usage error (exit 2), with its error document', async () => {
    const result = await runCli(['provider', '--json']);
    expect(result.exitCode).toBe(2);
    expect(parseJsonDocument(result.stdout)).toMatchObject({ ok: false, error: { code: 'usage' } });
  });
});
