import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidInputError, type InputProblem } from '../../../src/errors.js';
import { DEFAULT_POLICY_YAML } from '../../../src/policy/default-policy.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { loadPolicy, loadPolicyWithSource, parsePolicyText } from '../../../src/policy/load.js';

const HEADER = 'apiVersion: syndicate/v1\nkind: Policy\n';

function problemsOf(text: string): InputProblem[] {
  try {
    parsePolicyText(text, 'policy.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as InvalidInputError).problems;
  }
  throw new Error('expected the policy to be rejected');
}

describe('default policy', () => {
  it('the commented default file validates and equals the built-in defaults', () => {
    expect(parsePolicyText(DEFAULT_POLICY_YAML)).toEqual(defaultPolicy());
  });

  it('encodes the sensitivity map, indicator words, egress list and interactive budget the issue asks for', () => {
    const policy = defaultPolicy();
    expect(policy.sensitivity).toEqual({
      public: ['local', 'approved_hosted', 'restricted_hosted'],
      internal: ['local', 'approved_hosted'],
      confidential: ['local'],
      restricted: ['local'],
    });
    expect(policy.indicatorWords).toEqual(['password', 'credential', 'screenshot', 'camera']);
    expect(policy.egress.allowHosts).toEqual(['api.anthropic.com', 'api.openai.com', 'open.bigmodel.cn']);
    expect(policy.workflows.interactive.latencyBudget.firstTokenMs).toBe(1500);
    expect(policy.trustTiers[policy.defaultTrustTier]).toBeDefined();
  });

  it('a minimal file gets every default', () => {
    expect(parsePolicyText(HEADER)).toEqual(defaultPolicy());
  });
});

describe('merging a file over the defaults', () => {
  it('keeps the default indicator words when the file adds its own', () => {
    const policy = parsePolicyText(`${HEADER}indicatorWords: [atlas, Password]\n`);
    expect(policy.indicatorWords).toEqual(['password', 'credential', 'screenshot', 'camera', 'atlas']);
  });

  it('overrides one sensitivity level and keeps the others', () => {
    const policy = parsePolicyText(`${HEADER}sensitivity:\n  public: [local]\n  internal: [local]\n`);
    expect(policy.sensitivity.public).toEqual(['local']);
    expect(policy.sensitivity.confidential).toEqual(['local']);
  });

  it('replaces the egress list, so an operator can remove a default host', () => {
    const policy = parsePolicyText(`${HEADER}egress:\n  allowHosts: [api.anthropic.com]\n`);
    expect(policy.egress.allowHosts).toEqual(['api.anthropic.com']);
  });

  it('overrides one workflow field and keeps the other', () => {
    const policy = parsePolicyText(`${HEADER}workflows:\n  batch:\n    prefer: [local]\n`);
    expect(policy.workflows.batch).toEqual({ prefer: ['local'], latencyBudget: {} });
    expect(policy.workflows.interactive.prefer).toEqual(['fastest', 'priority']);
  });

  it('accepts operator patterns with regex or keywords', () => {
    const policy = parsePolicyText(
      `${HEADER}patterns:\n  - name: atlas\n    level: confidential\n    keywords: [atlas]\n  - name: customer-ids\n    level: restricted\n    regex: "CUST-[0-9]{6}"\n`,
    );
    expect(policy.patterns.map((pattern) => pattern.name)).toEqual(['atlas', 'customer-ids']);
  });
});

describe('loading from disk', () => {
  const directory = mkdtempSync(join(tmpdir(), 'syndicate-policy-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('a missing file means the defaults', () => {
    const path = join(directory, 'missing.yaml');
    expect(loadPolicy(path)).toEqual(defaultPolicy());
    expect(loadPolicyWithSource(path).source).toBe('defaults');
  });

  it('a missing file is an error when it must exist', () => {
    expect(() => loadPolicyWithSource(join(directory, 'missing.yaml'), { mustExist: true })).toThrow(InvalidInputError);
  });

  it('an invalid file is never replaced by the defaults', () => {
    const path = join(directory, 'bad.yaml');
    writeFileSync(path, `${HEADER}sensitivity:\n  restricted: [approved_hosted]\n`);
    expect(() => loadPolicy(path)).toThrow(InvalidInputError);
  });

  it('reads a valid file', () => {
    const path = join(directory, 'good.yaml');
    writeFileSync(path, `${HEADER}cost:\n  perRequestUsd: 0.05\n`);
    const loaded = loadPolicyWithSource(path);
    expect(loaded.source).toBe('file');
    expect(loaded.policy.cost).toEqual({ perRequestUsd: 0.05, perDayUsd: 20, defaultOutputTokens: 1024 });
  });
});

interface InvalidCase {
  name: string;
  text: string;
  pointer: string;
  line: number;
  column: number;
  message: string;
}

const INVALID: InvalidCase[] = [
  { name: 'unknown top-level key', text: `${HEADER}sensitivty: {}\n`, pointer: '/sensitivty', line: 3, column: 1, message: 'unknown key "sensitivty"' },
  {
    // YAML 1.1's merge key is no key of YAML 1.2: "remove it" would drop what the author meant to merge.
    name: 'a YAML merge key',
    text: `${HEADER}workflows:\n  interactive: &quick\n    prefer: [fastest]\n    latencyBudget: { firstTokenMs: 900 }\n  batch:\n    <<: *quick\n    prefer: [cheapest]\n`,
    pointer: '/workflows/batch/<<',
    line: 8,
    column: 5,
    message: 'the YAML merge key "<<" is not read (syndicate reads YAML 1.2, which has no merge keys), so nothing would be merged here',
  },
  {
    name: 'two capability rules of one name',
    text: `${HEADER}capabilities:\n  rules:\n    - { name: big, when: { tools: true }, require: { minCapabilityClass: medium } }\n    - { name: big, when: { json: true }, require: { minCapabilityClass: large } }\n`,
    pointer: '/capabilities/rules/1/name',
    line: 6,
    column: 15,
    message: 'duplicate capability rule name "big"',
  },
  {
    // `.inf` is a YAML number JSON Schema's numbers leave out: "must be a number, got the number Infinity" contradicted itself.
    name: 'an infinite cost ceiling',
    text: `${HEADER}cost:\n  perRequestUsd: .inf\n`,
    pointer: '/cost/perRequestUsd',
    line: 4,
    column: 18,
    message: 'must be a finite number, got .inf',
  },
  { name: 'wrong apiVersion', text: 'apiVersion: syndicate/v2\nkind: Policy\n', pointer: '/apiVersion', line: 1, column: 13, message: 'must be "syndicate/v1"' },
  { name: 'missing kind', text: 'apiVersion: syndicate/v1\n', pointer: '', line: 1, column: 1, message: 'missing required key "kind"' },
  {
    name: 'blocked is not a class a level can allow',
    text: `${HEADER}sensitivity:\n  public: [local, blocked]\n`,
    pointer: '/sensitivity/public/1',
    line: 4,
    column: 19,
    message: 'must be one of',
  },
  {
    name: 'restricted mapped to a hosted class',
    text: `${HEADER}sensitivity:\n  restricted: [local, approved_hosted]\n`,
    pointer: '/sensitivity/restricted',
    line: 4,
    column: 15,
    message: 'restricted data may only go to local providers',
  },
  {
    name: 'a more sensitive level wider than a less sensitive one',
    text: `${HEADER}sensitivity:\n  internal: [local]\n  confidential: [local, approved_hosted]\n`,
    pointer: '/sensitivity/confidential',
    line: 5,
    column: 17,
    message: 'confidential allows approved_hosted, which the less sensitive level internal does not',
  },
  {
    name: 'a level that allows nothing',
    text: `${HEADER}sensitivity:\n  public: []\n  internal: []\n  confidential: []\n  restricted: []\n`,
    pointer: '/sensitivity/confidential',
    line: 6,
    column: 17,
    message: 'no provider class may receive confidential data',
  },
  {
    name: 'invalid operator regex',
    text: `${HEADER}patterns:\n  - name: atlas\n    level: confidential\n    regex: "atlas(("\n`,
    pointer: '/patterns/0/regex',
    line: 6,
    column: 12,
    message: 'invalid regular expression',
  },
  {
    name: 'regex that matches everything',
    text: `${HEADER}patterns:\n  - name: anything\n    level: internal\n    regex: ".*"\n`,
    pointer: '/patterns/0/regex',
    line: 6,
    column: 12,
    message: 'matches the empty string',
  },
  {
    name: 'regex that sweeps every line from every position',
    text: `${HEADER}patterns:\n  - {name: sweep, level: internal, regex: ".*secret.*"}\n`,
    pointer: '/patterns/0/regex',
    line: 4,
    column: 43,
    message: 'pattern "sweep" can backtrack catastrophically, so one prompt could hang classification (ReDoS): it can start with `.*`, an unbounded repetition of almost any character',
  },
  {
    name: 'regex that can backtrack catastrophically (ReDoS)',
    text: `${HEADER}patterns:\n  - {name: redos, level: internal, regex: "(a+)+$"}\n`,
    pointer: '/patterns/0/regex',
    line: 4,
    column: 43,
    message: 'pattern "redos" can backtrack catastrophically, so one prompt could hang classification (ReDoS): nested quantifiers: `a+` inside the repeated `(a+)+`',
  },
  {
    name: 'pattern with neither regex nor keywords',
    text: `${HEADER}patterns:\n  - name: empty\n    level: internal\n`,
    pointer: '/patterns/0',
    line: 4,
    column: 5,
    message: 'has neither regex nor keywords',
  },
  {
    name: 'pattern with an unknown level',
    text: `${HEADER}patterns:\n  - name: atlas\n    level: secret\n    keywords: [atlas]\n`,
    pointer: '/patterns/0/level',
    line: 5,
    column: 12,
    message: 'must be one of',
  },
  {
    name: 'pattern with a level in the wrong case is told the one it meant',
    text: `${HEADER}patterns:\n  - name: atlas\n    level: Confidential\n    keywords: [atlas]\n`,
    pointer: '/patterns/0/level',
    line: 5,
    column: 12,
    message: 'got "Confidential" (did you mean "confidential"?)',
  },
  {
    name: 'default trust tier misspelt is told the one it meant',
    text: `${HEADER}trustTiers:\n  code-review:\n    maxSensitivity: internal\n    allowedClasses: [local, approved_hosted]\ndefaultTrustTier: code_review\n`,
    pointer: '/defaultTrustTier',
    line: 7,
    column: 19,
    message: 'default trust tier "code_review" is not defined (did you mean "code-review"?)',
  },
  {
    name: 'an empty file (comments only) is said to be empty, with the keys it needs at least',
    text: '# policy for the code-review gateway\n',
    pointer: '',
    line: 1,
    column: 1,
    message: 'the file is empty (no YAML document, or only comments)',
  },
  {
    name: 'duplicate pattern names',
    text: `${HEADER}patterns:\n  - name: atlas\n    level: internal\n    keywords: [a]\n  - name: atlas\n    level: internal\n    keywords: [b]\n`,
    pointer: '/patterns/1/name',
    line: 7,
    column: 11,
    message: 'duplicate pattern name "atlas"',
  },
  {
    name: 'unknown workflow preference',
    text: `${HEADER}workflows:\n  interactive:\n    prefer: [local, nearest]\n`,
    pointer: '/workflows/interactive/prefer/1',
    line: 5,
    column: 21,
    message: 'must be one of',
  },
  {
    name: 'negative latency budget',
    text: `${HEADER}workflows:\n  interactive:\n    latencyBudget:\n      firstTokenMs: -5\n`,
    pointer: '/workflows/interactive/latencyBudget/firstTokenMs',
    line: 6,
    column: 21,
    message: 'must be >= 1',
  },
  {
    name: 'default trust tier not defined',
    text: `${HEADER}trustTiers:\n  ci:\n    maxSensitivity: internal\n    allowedClasses: [local]\n`,
    pointer: '/trustTiers',
    line: 4,
    column: 3,
    message: 'default trust tier "operator" is not defined',
  },
  {
    name: 'trust tier missing allowedClasses',
    text: `${HEADER}trustTiers:\n  operator:\n    maxSensitivity: internal\n`,
    pointer: '/trustTiers/operator',
    line: 5,
    column: 5,
    message: 'missing required key "allowedClasses"',
  },
  {
    name: 'negative cost ceiling',
    text: `${HEADER}cost:\n  perDayUsd: -1\n`,
    pointer: '/cost/perDayUsd',
    line: 4,
    column: 14,
    message: 'must be >= 0',
  },
  {
    name: 'per-request ceiling above the per-day one',
    text: `${HEADER}cost:\n  perRequestUsd: 5\n  perDayUsd: 1\n`,
    pointer: '/cost/perRequestUsd',
    line: 4,
    column: 18,
    message: 'above the per-day ceiling',
  },
  {
    name: 'egress host with a scheme',
    text: `${HEADER}egress:\n  allowHosts: ["https://api.openai.com"]\n`,
    pointer: '/egress/allowHosts/0',
    line: 4,
    column: 16,
    message: 'does not have the expected form',
  },
  {
    name: 'fractional maxHops',
    text: `${HEADER}fallback:\n  maxHops: 1.5\n`,
    pointer: '/fallback/maxHops',
    line: 4,
    column: 12,
    message: 'must be a whole number',
  },
  {
    name: 'capability rule naming an unknown task',
    text: `${HEADER}capabilities:\n  rules:\n    - name: big\n      when: { task: poetry }\n      require: { minCapabilityClass: large }\n`,
    pointer: '/capabilities/rules/0/when/task',
    line: 6,
    column: 21,
    message: 'refers to unknown task "poetry"',
  },
  {
    name: 'unknown weakJson mode',
    text: `${HEADER}capabilities:\n  weakJson: ignore\n`,
    pointer: '/capabilities/weakJson',
    line: 4,
    column: 13,
    message: 'must be one of "demote", "exclude"',
  },
];

describe('invalid policies are rejected with the pointer and position of each problem', () => {
  it.each(INVALID)('$name', (testCase) => {
    const problems = problemsOf(testCase.text);
    const problem = problems.find((candidate) => candidate.pointer === testCase.pointer);
    expect(problem, JSON.stringify(problems)).toBeDefined();
    expect(problem?.file).toBe('policy.yaml');
    expect(problem?.message).toContain(testCase.message);
    expect({ line: problem?.line, column: problem?.column }).toEqual({ line: testCase.line, column: testCase.column });
    expect(problem?.hint).toBeTruthy();
  });

  it('a regex that matches one character on its own (or an empty match beside one) is refused: it would match almost every prompt', () => {
    const cases: [string, string][] = [
      ['.', 'matches "a" alone'],
      ['[a-z]', 'matches "a" alone'],
      ['\\\\d', 'matches "0" alone'],
      ['\\\\s', 'matches a space alone'],
      ['.{1,3}', 'matches "a" alone'],
      ['x|acme-prod', 'matches "x" alone'],
      ['\\\\b', 'matches the empty string beside "a"'],
      ['(?=a)', 'matches the empty string beside "a"'],
    ];
    for (const [regex, said] of cases) {
      const problems = problemsOf(`${HEADER}patterns:\n  - name: wide\n    level: confidential\n    regex: "${regex}"\n`);
      expect(problems, regex).toEqual([
        expect.objectContaining({ pointer: '/patterns/0/regex', line: 6, column: 12, message: `pattern "wide" ${said}, so it would match almost every request` }),
      ]);
      expect(problems[0]?.hint, regex).toContain('CUST-[0-9]{6}');
    }
    // Real detectors need more than one character, wherever they stand.
    for (const regex of ['\\\\b[a-z0-9-]+\\\\.corp\\\\.acme\\\\.example\\\\b', 'CUST-[0-9]{6}', '\\\\d{16}', 'ab', '[a-z]+@acme\\\\.example']) {
      expect(() => parsePolicyText(`${HEADER}patterns:\n  - name: real\n    level: confidential\n    regex: "${regex}"\n`), regex).not.toThrow();
    }
  });

  it('an egress host written as a URL, with a port, in capitals or as a wildcard is told how to write it', () => {
    for (const written of ['https://api.anthropic.com', 'api.anthropic.com:443', 'API.Anthropic.com', '"*.anthropic.com"']) {
      const [problem] = problemsOf(`${HEADER}egress:\n  allowHosts: [${written}]\n`);
      expect(problem, written).toMatchObject({ pointer: '/egress/allowHosts/0', line: 4, column: 16 });
      expect(problem?.hint, written).toContain('without scheme, port, path or wildcard: write api.anthropic.com');
    }
  });

  it('a trust tier name of the wrong form is one problem, at that name, saying how names are written', () => {
    const problems = problemsOf(`${HEADER}trustTiers:\n  operator:\n    maxSensitivity: restricted\n    allowedClasses: [local]\n  Agent:\n    maxSensitivity: internal\n    allowedClasses: [local]\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ pointer: '/trustTiers/Agent', line: 7, column: 3, message: 'the name "Agent" does not have the expected form (pattern ^[a-z0-9][a-z0-9_-]{0,63}$)' });
    expect(problems[0]?.hint).toContain("1-64 lower-case letters, digits, '_' or '-'");
  });

  it('a YAML syntax error carries its line and column', () => {
    const problems = problemsOf(`${HEADER}sensitivity:\n  public: [local\n`);
    expect(problems[0]?.message).toContain('YAML syntax error');
    expect(problems[0]?.line).toBeGreaterThanOrEqual(4);
  });

  it('reports every problem at once, in file order', () => {
    const problems = problemsOf(`${HEADER}sensitivty: {}\ncost:\n  perDayUsd: -1\n`);
    expect(problems.map((problem) => problem.pointer)).toEqual(['/sensitivty', '/cost/perDayUsd']);
  });

  it('lists the first 20 schema problems of a file and counts the rest', () => {
    const unknownKeys = Array.from({ length: 30 }, (_, index) => `unknown${index}: 1\n`).join('');
    let caught: unknown;
    try {
      parsePolicyText(`${HEADER}${unknownKeys}`);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    const error = caught as InvalidInputError;
    expect(error.message).toBe('policy.yaml is not a valid policy (30 problems)');
    expect(error.problems).toHaveLength(21);
    expect(error.problems[19]).toMatchObject({ pointer: '/unknown19', line: 22 });
    expect(error.problems[20]).toMatchObject({ file: 'policy.yaml', omitted: 10, message: 'and 10 more schema problems, not listed' });
  });

  it('a policy.yaml overwritten with JSON Lines lists 5 syntax errors, counts the rest and never echoes a value', () => {
    const lines = Array.from({ length: 200 }, (_, index) => JSON.stringify({ id: index, apiKey: `sk-proj-SECRET${index}SECRETSECRETSECRET` }));
    let caught: unknown;
    try {
      parsePolicyText(`${lines.join('\n')}\n`);
    } catch (error) {
      caught = error;
    }
    const error = caught as InvalidInputError;
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toMatch(/^policy\.yaml is not valid YAML \(\d+ syntax errors\)$/);
    expect(error.hint).toContain('JSON Lines');
    expect(error.problems).toHaveLength(6);
    expect(error.problems.at(-1)).toMatchObject({ omitted: expect.any(Number), message: expect.stringMatching(/^and \d+ more YAML syntax errors, not listed$/) });
    expect(JSON.stringify(error.toJSON())).not.toContain('SECRET');
  });
});

describe('one problem per value', () => {
  it('a retention that is not a whole number is that problem alone, not also below its minimum', () => {
    const problems = problemsOf(`${HEADER}evidence:\n  retentionDays: 0.5\n`);
    expect(problems.map((problem) => problem.pointer)).toEqual(['/evidence/retentionDays']);
    expect(problems[0]?.message).toMatch(/whole number/);
  });

  it('a whole number below the minimum still says so', () => {
    const problems = problemsOf(`${HEADER}evidence:\n  retentionDays: 0\n`);
    expect(problems.map((problem) => problem.pointer)).toEqual(['/evidence/retentionDays']);
    expect(problems[0]?.message).toMatch(/>= 1|at least 1/);
  });
});

describe('savings reference with input-length tiers', () => {
  it('takes the reference model price as a provider record gives it, tiers included', () => {
    const policy = parsePolicyText(
      `${HEADER}savings:\n  referenceModel: anthropic:claude-haiku-5-5\n  inputPerMTok: 0.1\n  outputPerMTok: 0.5\n  cachedInputPerMTok: 0.01\n  tiers:\n    - { aboveInputTokens: 100000, inputPerMTok: 0.5, outputPerMTok: 2.5, cachedInputPerMTok: 0.05 }\n`,
    );
    expect(policy.savings).toEqual({
      referenceModel: 'anthropic:claude-haiku-5-5',
      inputPerMTok: 0.1,
      outputPerMTok: 0.5,
      cachedInputPerMTok: 0.01,
      tiers: [{ aboveInputTokens: 100000, inputPerMTok: 0.5, outputPerMTok: 2.5, cachedInputPerMTok: 0.05 }],
    });
  });

  it('refuses tiers out of order, at the tier that is', () => {
    const problems = problemsOf(
      `${HEADER}savings:\n  inputPerMTok: 2\n  outputPerMTok: 10\n  tiers:\n    - { aboveInputTokens: 272000, inputPerMTok: 4, outputPerMTok: 15 }\n    - { aboveInputTokens: 128000, inputPerMTok: 3, outputPerMTok: 12 }\n`,
    );
    expect(problems.map((problem) => [problem.pointer, problem.message])).toEqual([
      ['/savings/tiers/1/aboveInputTokens', "tiers must be in ascending order of aboveInputTokens: 128000 is not above the previous tier's 272000"],
    ]);
  });

  it('refuses a rate given without its pair, which would be priced at the built-in reference', () => {
    for (const [section, given, missing, missingRates] of [
      ['  referenceModel: openai:gpt-5.5\n  inputPerMTok: 1.25\n', 'inputPerMTok', 'outputPerMTok', 'the missing rate would be'],
      ['  outputPerMTok: 10\n  cachedInputPerMTok: 0.125\n', 'outputPerMTok, cachedInputPerMTok', 'inputPerMTok', 'the missing rate would be'],
      ['  tiers:\n    - { aboveInputTokens: 200000, inputPerMTok: 4, outputPerMTok: 15 }\n', 'tiers', 'inputPerMTok and outputPerMTok', 'the missing rates would be'],
    ] as const) {
      const problems = problemsOf(`${HEADER}savings:\n${section}`);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ pointer: '/savings', message: expect.stringContaining(`savings gives ${given} without ${missing}: ${missingRates} the built-in reference's`) });
      expect(problems[0]?.hint).toMatch(/give inputPerMTok and outputPerMTok together/);
    }
    expect(parsePolicyText(`${HEADER}savings:\n  referenceModel: openai:gpt-5.5\n`).savings).toMatchObject({ referenceModel: 'openai:gpt-5.5', priceFromRegistry: true });
  });
});
