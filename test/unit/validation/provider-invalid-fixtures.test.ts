import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatInputProblem } from '../../../src/errors.js';
import { prepareProviderFile } from '../../../src/registry/register.js';

const FIXTURES = resolve(import.meta.dirname, '..', '..', 'fixtures', 'providers', 'invalid');

interface ExpectedProblem {
  pointer: string;
  line: number;
  column: number;
  message: string;
}

const cases = JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as Record<string, ExpectedProblem>;

describe('invalid provider fixtures', () => {
  it('has at least 25 cases and a case for every fixture file', () => {
    const files = readdirSync(FIXTURES).filter((file) => file.endsWith('.yaml')).map((file) => file.replace(/\.yaml$/, ''));
    expect(files.length).toBeGreaterThanOrEqual(25);
    expect(Object.keys(cases).sort()).toEqual(files.sort());
  });

  it.each(Object.entries(cases))('%s is refused at the right pointer, line and column', async (name, expected) => {
    const file = join(FIXTURES, `${name}.yaml`);
    const { prepared, problems } = await prepareProviderFile(file);
    expect(prepared).toBeUndefined();
    const match = problems.find((problem) => problem.pointer === expected.pointer && problem.message.includes(expected.message));
    expect(match, `problems were:\n${problems.map(formatInputProblem).join('\n')}`).toBeDefined();
    expect(match).toMatchObject({ file, line: expected.line, column: expected.column });
    // Every problem tells the operator how to fix it.
    for (const problem of problems) expect(problem.hint ?? '').not.toBe('');
  });

  it('never echoes a literal secret in any problem', async () => {
    for (const name of ['literal-api-key', 'key-in-auth-env', 'token-under-auth', 'credentials-in-url', 'token-in-description']) {
      const { problems } = await prepareProviderFile(join(FIXTURES, `${name}.yaml`));
      const printed = problems.map(formatInputProblem).join('\n');
      for (const secret of ['FAKEfakeFAKEfake', 'hunter2']) expect(printed).not.toContain(secret);
    }
  });
});
