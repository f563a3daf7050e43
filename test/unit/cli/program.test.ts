import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram, namedCommand } from '../../../src/cli/program.js';

function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((child) => [[...prefix, child.name()], ...commandPaths(child, [...prefix, child.name()])]);
}

function find(program: Command, path: readonly string[]): Command {
  let current = program;
  for (const name of path) current = current.commands.find((child) => child.name() === name)!;
  return current;
}

describe('the program loads only the command a line names', () => {
  it('reads the command word after the program options only', () => {
    const line = (...words: string[]) => namedCommand(['node', 'syndicate', ...words]);
    expect(line('route', 'hi')).toBe('route');
    expect(line('--json', '--home', 'run', 'provider', 'list')).toBe('provider');
    expect(line('--help', 'route')).toBeUndefined();
    expect(line('--home=/tmp/x', 'route')).toBeUndefined();
    expect(line('--stream', 'run', 'hi')).toBeUndefined();
    expect(line('help', 'route')).toBeUndefined();
    expect(line('--', 'route')).toBeUndefined();
    expect(line('nosuch')).toBeUndefined();
    expect(line()).toBeUndefined();
  });

  it('builds a named command alone, with the same help as in the whole program', async () => {
    const whole = await buildProgram();
    expect(whole.commands.length).toBeGreaterThan(10);
    for (const top of whole.commands) {
      const alone = await buildProgram(top.name());
      expect(alone.commands.map((command) => command.name())).toEqual([top.name()]);
      for (const path of [[top.name()], ...commandPaths(top, [top.name()])]) {
        expect(find(alone, path).helpInformation(), path.join(' ')).toBe(find(whole, path).helpInformation());
      }
    }
  });
});
