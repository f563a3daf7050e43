import { describe, expect, it } from 'vitest';
import { maskSecret } from '../../../src/classify/mask.js';
import { countProblems, formatInputProblem, InvalidInputError, type InputProblem } from '../../../src/errors.js';
import {
  LISTED_SCHEMA_PROBLEMS,
  LISTED_SYNTAX_ERRORS,
  parseYamlText,
  positionOf,
  problemAt,
  sortProblems,
  validateAgainstSchema,
} from '../../../src/validation/index.js';

const TEXT = `apiVersion: syndicate/v1
kind: Provider
id: demo
wire: openai
baseUrl: http://127.0.0.1:8080/v1
models:
  - id: first
    contextWindow: 4096
    capabilityClass: small
  - id: "a/b~c"
    contextWindow: 8192
    capabilityClass: medium
`;

describe('parseYamlText and positions', () => {
  it('maps JSON pointers to 1-based line and column of values and keys', () => {
    const { source } = parseYamlText(TEXT, 'demo.yaml');
    expect(positionOf(source, '/wire')).toEqual({ line: 4, column: 7 });
    expect(positionOf(source, '/wire', 'key')).toEqual({ line: 4, column: 1 });
    expect(positionOf(source, '/models/1')).toEqual({ line: 10, column: 5 });
    expect(positionOf(source, '/models/1/contextWindow')).toEqual({ line: 11, column: 20 });
    expect(positionOf(source, '')).toEqual({ line: 1, column: 1 });
  });

  it('falls back to the nearest existing ancestor for pointers deeper than the document', () => {
    const { source } = parseYamlText(TEXT, 'demo.yaml');
    expect(positionOf(source, '/models/0/price/inputPerMTok')).toEqual({ line: 7, column: 5 });
    expect(positionOf(source, '/models/7')).toEqual({ line: 7, column: 3 });
  });

  it('builds problems with positions, or without when only a label is known', () => {
    const { source } = parseYamlText(TEXT, 'demo.yaml');
    expect(problemAt(source, '/id', 'bad', 'fix it')).toEqual({ file: 'demo.yaml', pointer: '/id', line: 3, column: 5, message: 'bad', hint: 'fix it' });
    expect(problemAt('provider demo', '/id', 'bad')).toEqual({ file: 'provider demo', pointer: '/id', message: 'bad' });
  });

  it('reports a syntax error as InvalidInputError with line and column', () => {
    let caught: unknown;
    try {
      parseYamlText('id: demo\nmodels: [one, two\nwire: openai\n', 'broken.yaml');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    const problem = (caught as InvalidInputError).problems[0];
    expect(problem).toMatchObject({ file: 'broken.yaml', pointer: '' });
    expect(problem?.line).toBeGreaterThanOrEqual(2);
    expect(problem?.column).toBeGreaterThanOrEqual(1);
    expect(problem?.message).toMatch(/^YAML syntax error [A-Z_]+: /);
    expect(problem?.message).not.toContain('\n');
  });

  it('names the kind of an unexpected token and never echoes its text, at most a masked excerpt', () => {
    let caught: unknown;
    try {
      parseYamlText('{"a":1}\n{"k": "sk-proj-SECRETSECRETSECRET"}\n', 'x.yaml');
    } catch (error) {
      caught = error;
    }
    const error = caught as InvalidInputError;
    expect(error).toBeInstanceOf(InvalidInputError);
    const printed = error.problems.map(formatInputProblem).join('\n');
    expect(printed).not.toContain('SECRETSECRET');
    expect(printed).not.toContain('sk-proj-S');
    expect(JSON.stringify(error.toJSON())).not.toContain('SECRETSECRET');
    expect(error.problems.map((problem) => [problem.line, problem.column, problem.message])).toEqual([
      [2, 1, 'YAML syntax error UNEXPECTED_TOKEN: Unexpected `{` after the end of a value'],
      [2, 2, 'YAML syntax error UNEXPECTED_TOKEN: Unexpected double quoted scalar after the end of a value'],
      [2, 5, 'YAML syntax error UNEXPECTED_TOKEN: Unexpected `:`'],
      [2, 7, `YAML syntax error UNEXPECTED_TOKEN: Unexpected double quoted scalar (${maskSecret('"sk-proj-SECRETSECRETSECRET"')}, masked)`],
      [2, 35, 'YAML syntax error UNEXPECTED_TOKEN: Unexpected `}`'],
    ]);
    for (const problem of error.problems) expect(problem.hint).toBeTruthy();
  });

  it('points an unclosed `[`, `{` or quote at the line where it opened, naming the library code and a hint for what is missing', () => {
    const problemOf = (text: string): InputProblem => {
      try {
        parseYamlText(text, 'open.yaml');
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidInputError);
        return (error as InvalidInputError).problems[0] as InputProblem;
      }
      throw new Error('expected a refusal');
    };
    // The yaml library reports the missing `]` where it gave up: line 5, column 1, the end of the file.
    expect(problemOf('apiVersion: syndicate/v1\nkind: Policy\nsensitivity:\n  public: [local, approved_hosted\n')).toEqual({
      file: 'open.yaml',
      pointer: '',
      line: 4,
      column: 11,
      message:
        'YAML syntax error BAD_INDENT: Flow sequence in block collection must be sufficiently indented and end with a ]; the `[` opened here is never closed (the parser noticed at line 5, column 1)',
      hint: 'close the `[` with `]`; a `[...]` list that goes on over several lines continues on lines indented more than its key',
    });
    // The outer of two: the inner one closes.
    expect(problemOf('a: [1, [2, 3]\nb: 1\n')).toMatchObject({ line: 1, column: 4, message: expect.stringContaining('the `[` opened here is never closed') });
    // At the top of the document the library calls it MISSING_CHAR.
    expect(problemOf('[1, 2\n')).toMatchObject({ line: 1, column: 1, message: expect.stringMatching(/^YAML syntax error MISSING_CHAR: Flow sequence must end with a \]; the `\[` opened here/) });
    expect(problemOf('a: {b: 1\nc: 2\n')).toMatchObject({ line: 1, column: 4, hint: 'close the `{` with `}`; a `{...}` mapping that goes on over several lines continues on lines indented more than its key' });
    expect(problemOf('a: "abc\nb: 1\n')).toEqual({
      file: 'open.yaml',
      pointer: '',
      line: 1,
      column: 4,
      message: 'YAML syntax error MISSING_CHAR: Missing closing "quote; the `"` opened here is never closed (the parser noticed at line 3, column 1)',
      hint: 'close the quote with `"` where the value ends; a quote inside the value is written `\\"`',
    });
    expect(problemOf("a: 'it''s\nb: 1\n")).toMatchObject({ line: 1, column: 4, hint: "close the quote with `'` where the value ends; a quote inside the value is written `''`" });
  });

  it('names the yaml library code of every syntax error, with a hint for that code', () => {
    const problemOf = (text: string): InputProblem => {
      try {
        parseYamlText(text, 'code.yaml');
      } catch (error) {
        return (error as InvalidInputError).problems[0] as InputProblem;
      }
      throw new Error('expected a refusal');
    };
    expect(problemOf('a:\n  b: 1\n c: 2\n')).toMatchObject({ line: 3, column: 1, message: 'YAML syntax error BAD_INDENT: All mapping items must start at the same column', hint: 'align the indentation of keys at the same level' });
    expect(problemOf('a: 1\n]\n')).toMatchObject({ message: 'YAML syntax error UNEXPECTED_TOKEN: Unexpected `]`', hint: 'remove or quote the character named, or close what a line above left open' });
    expect(problemOf('a: b: c\n')).toMatchObject({ message: expect.stringMatching(/^YAML syntax error BLOCK_AS_IMPLICIT_KEY: /), hint: expect.stringContaining('one line holds one `key: value`') });
    expect(problemOf('a: 1\na: 2\n')).toMatchObject({ message: 'YAML syntax error DUPLICATE_KEY: Map keys must be unique', hint: 'each key may appear once per mapping; remove or rename the duplicate' });
  });

  it(`lists at most ${LISTED_SYNTAX_ERRORS} syntax errors and counts the rest`, () => {
    const text = Array.from({ length: 500 }, (_, index) => JSON.stringify({ id: index, prompt: `hello ${index}`, tags: ['a', 'b'] })).join('\n');
    let caught: unknown;
    try {
      parseYamlText(text, 'export.yaml');
    } catch (error) {
      caught = error;
    }
    const error = caught as InvalidInputError;
    expect(error.problems).toHaveLength(LISTED_SYNTAX_ERRORS + 1);
    const total = Number(/\((\d+) syntax errors\)$/.exec(error.message)?.[1]);
    expect(total).toBeGreaterThan(1000);
    const last = error.problems[LISTED_SYNTAX_ERRORS];
    expect(last).toEqual({
      file: 'export.yaml',
      pointer: '',
      message: `and ${total - LISTED_SYNTAX_ERRORS} more YAML syntax errors, not listed`,
      hint: 'fix the errors listed first: later ones often only follow from them',
      omitted: total - LISTED_SYNTAX_ERRORS,
    });
    expect(countProblems(error.problems)).toBe(total);
    expect(formatInputProblem(last as InputProblem)).toBe(
      `export.yaml: and ${total - LISTED_SYNTAX_ERRORS} more YAML syntax errors, not listed (hint: fix the errors listed first: later ones often only follow from them)`,
    );
    expect(error.hint).toContain('JSON Lines');
  });

  it('refuses several documents in one file, counting them and naming the line of the second `---`, in its own words', () => {
    const problemsOf = (text: string, hint?: string): InputProblem[] => {
      try {
        parseYamlText(text, 'many.yaml', hint === undefined ? {} : { multipleDocumentsHint: hint });
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidInputError);
        return (error as InvalidInputError).problems;
      }
      throw new Error('expected a refusal');
    };
    expect(problemsOf('id: a\n---\nid: b\n---\nid: c\n')).toEqual([
      {
        file: 'many.yaml',
        pointer: '',
        line: 2,
        column: 1,
        message: 'the file holds 3 YAML documents (the second starts at the `---` on line 2), but one is expected',
        hint: 'keep one document per file: remove the `---` line and what follows it, or move that to a file of its own',
      },
    ]);
    // A file that opens with `---`: the second document is the second `---`.
    const [opened] = problemsOf('---\nid: a\n---\nid: b\n', 'one record per file');
    expect(opened).toMatchObject({ line: 3, message: expect.stringContaining('holds 2 YAML documents (the second starts at the `---` on line 3)'), hint: 'one record per file' });
    expect(JSON.stringify(opened)).not.toContain('parseAllDocuments');
  });
});

describe('validateAgainstSchema', () => {
  it('accepts a valid record and returns no problems', () => {
    const { value, source } = parseYamlText(TEXT, 'demo.yaml');
    expect(validateAgainstSchema('provider', value, source)).toEqual([]);
  });

  it('escapes pointer segments and lists allowed keys in the hint for unknown keys', () => {
    const { value, source } = parseYamlText(`${TEXT}    "we/ird": 1\n`, 'demo.yaml');
    const problems = validateAgainstSchema('provider', value, source);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ pointer: '/models/1/we~1ird', line: 13, column: 5, message: 'unknown key "we/ird"' });
    expect(problems[0]?.hint).toBe('remove it; allowed keys here: id, contextWindow, kind, capabilityClass, vramGb, priority, tags, price, deviations, reasoningEfforts, family, aliases');
  });

  it('reports every problem at once, sorted by position', () => {
    const { value, source } = parseYamlText(TEXT.replace('wire: openai', 'wire: soap').replace('contextWindow: 8192', 'contextWindow: -5'), 'demo.yaml');
    const problems = validateAgainstSchema('provider', value, source);
    expect(problems.map((problem) => [problem.pointer, problem.line])).toEqual([
      ['/wire', 4],
      ['/models/1/contextWindow', 11],
    ]);
    expect(problems[0]?.hint).toBe('use one of: "openai", "anthropic"');
  });

  it(`lists the first ${LISTED_SCHEMA_PROBLEMS} problems in file order and counts the rest; sorting keeps the count last`, () => {
    const unknownKeys = Array.from({ length: 45 }, (_, index) => `extra${index}: 1\n`).join('');
    const { value, source } = parseYamlText(`${TEXT}${unknownKeys}`, 'demo.yaml');
    const problems = validateAgainstSchema('provider', value, source);
    expect(problems).toHaveLength(LISTED_SCHEMA_PROBLEMS + 1);
    expect(problems[0]).toMatchObject({ pointer: '/extra0', line: 13 });
    expect(problems.at(-1)).toMatchObject({ file: 'demo.yaml', pointer: '', omitted: 45 - LISTED_SCHEMA_PROBLEMS, message: `and ${45 - LISTED_SCHEMA_PROBLEMS} more schema problems, not listed` });
    expect(countProblems(problems)).toBe(45);
    const resorted = sortProblems([{ file: 'demo.yaml', pointer: '', line: 1, column: 1, message: 'first' }, ...problems]);
    expect(resorted[0]?.message).toBe('first');
    expect(resorted.at(-1)?.omitted).toBe(45 - LISTED_SCHEMA_PROBLEMS);
    // One left over is one more problem, not problems.
    const oneOver = Array.from({ length: LISTED_SCHEMA_PROBLEMS + 1 }, (_, index) => `extra${index}: 1\n`).join('');
    const parsed = parseYamlText(`${TEXT}${oneOver}`, 'demo.yaml');
    expect(validateAgainstSchema('provider', parsed.value, parsed.source).at(-1)).toMatchObject({ omitted: 1, message: 'and 1 more schema problem, not listed' });
  });

  it('works without positions when given a bare label', () => {
    const problems = validateAgainstSchema('provider', { apiVersion: 'syndicate/v1' }, 'catalog demo');
    expect(problems.every((problem) => problem.file === 'catalog demo' && problem.line === undefined)).toBe(true);
    expect(problems.map((problem) => problem.message)).toContain('missing required key "models"');
  });
});
