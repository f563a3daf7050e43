/**
 * README's `--json` examples are laid out as the CLI prints its documents: indented by two spaces
 * a level (`Output.document`), so a reader comparing one with a terminal sees the same text.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempHome, runCli } from '../helpers/cli.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** Each ```json block of README that is a syndicate document (an object with `ok`), as written. */
function documentBlocks(): string[] {
  return [...readme.matchAll(/```json\n([\s\S]*?)```/g)]
    .map((match) => match[1] as string)
    .filter((block) => {
      const parsed: unknown = JSON.parse(block);
      return typeof parsed === 'object' && parsed !== null && typeof (parsed as { ok?: unknown }).ok === 'boolean';
    });
}

describe('README --json examples', () => {
  const temporary = makeTempHome();
  afterAll(() => temporary.cleanup());

  it('the CLI prints a document, result or error, indented by two spaces a level', async () => {
    for (const args of [['--version', '--json'], ['provider', 'show', 'nosuch', '--json']]) {
      const result = await runCli(args, { home: temporary.home });
      // (execa drops the last newline.)
      expect(result.stdout).toBe(JSON.stringify(JSON.parse(result.stdout), null, 2));
    }
  }, 90_000);

  it('shows every document as the CLI prints it', () => {
    const blocks = documentBlocks();
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) expect(block).toBe(`${JSON.stringify(JSON.parse(block), null, 2)}\n`);
  });
});
