/**
 * README's "Every command and option" table is the CLI's own text: each row names a real command
 * with its description and exactly its options, and every command has a row.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';

interface Row {
  command: string;
  description: string;
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
      return {
        command: name.replace(/`/g, '').replace(/ [<[].*$/, ''),
        description,
        options: [...options.matchAll(/`(--[a-z-]+)/g)].map((match) => match[1] as string).sort(),
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

describe('README command table', () => {
  const rows = readmeRows();
  const commands = leafCommands(buildProgram()).filter((entry) => entry.path !== 'help');

  it('has one row per command, in any order', () => {
    expect(rows.map((row) => row.command).sort()).toEqual(commands.map((entry) => entry.path).sort());
  });

  it('gives each command its own description and exactly its options', () => {
    for (const { path, command } of commands) {
      const row = rows.find((candidate) => candidate.command === path);
      expect(row?.description, path).toBe(command.description());
      const options = command.options.map((option) => option.long).filter((flag): flag is string => flag !== undefined && flag !== '--help');
      expect(row?.options, path).toEqual(options.sort());
    }
  });
});
