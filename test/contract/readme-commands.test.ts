/**
 * README's "Every command and option" table is the CLI's own text: each row names a real command
 * with its arguments, its description and exactly its options (with their placeholders), and
 * every command has a row.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';

interface Row {
  command: string;
  /** The command cell as written: `provider show <id>`. */
  usage: string;
  description: string;
  /** Each option as written: `--port <port>`. */
  options: string[];
}

function readmeRows(): Row[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### Every command and option'), readme.indexOf('## Known limitations'));
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [name = '', description = '', options = ''] = line.slice(2, -2).split(' | ');
      const usage = name.replace(/`/g, '');
      return {
        command: usage.replace(/ [<[].*$/, ''),
        usage,
        description,
        options: [...options.matchAll(/`(--[^`]+)`/g)].map((match) => match[1] as string).sort(),
      };
    });
}

/** Every leaf command (one that runs), with its path from the root: `provider add`, `serve`, ... */
function leafCommands(command: Command, prefix: string[] = []): { path: string; command: Command }[] {
  return command.commands.flatMap((child) => {
    const path = [...prefix, child.name()];
    return child.commands.length === 0 ? [{ path: path.join(' '), command: child }] : leafCommands(child, path);
  });
}

const program = await buildProgram();

describe('README command table', () => {
  const rows = readmeRows();
  const commands = leafCommands(program).filter((entry) => entry.path !== 'help');

  it('has one row per command, in any order', () => {
    expect(rows.map((row) => row.command).sort()).toEqual(commands.map((entry) => entry.path).sort());
  });

  it('gives each command its own arguments, description and exactly its options', () => {
    for (const { path, command } of commands) {
      const row = rows.find((candidate) => candidate.command === path);
      const argumentsUsage = command.registeredArguments.map((argument) => {
        const name = `${argument.name()}${argument.variadic ? '...' : ''}`;
        return argument.required ? `<${name}>` : `[${name}]`;
      });
      expect(row?.usage, path).toBe([path, ...argumentsUsage].join(' '));
      expect(row?.description, path).toBe(command.description());
      const options = command.options.filter((option) => option.long !== '--help').map((option) => option.flags);
      expect(row?.options, path).toEqual(options.sort());
    }
  });
});
