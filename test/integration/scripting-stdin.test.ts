import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';

/** `-` as stdin wherever a command takes a file of input, as a shell pipeline or CI job feeds it. */

const RECORD = [
  'apiVersion: syndicate/v1',
  'kind: Provider',
  'id: piped',
  'class: local',
  'wire: openai',
  'baseUrl: http://127.0.0.1:9/v1',
  'models:',
  '  - { id: chat, contextWindow: 8192, capabilityClass: small }',
  'deviations: []',
  '',
].join('\n');

interface ProblemDocument {
  ok: false;
  error: { code: string; message: string; details?: { problems?: Array<{ file: string; pointer: string; line?: number; message: string }> } };
}

describe('`-` reads a file of input from stdin', () => {
  const { home, cleanup } = makeTempHome('syndicate-stdin-');
  beforeAll(async () => {
    expect((await runCli(['init'], { home })).exitCode).toBe(0);
  });
  afterAll(cleanup);

  it('provider register - registers the record piped in; its problems are located in <stdin>; several documents are refused as in a file', { timeout: 90_000 }, async () => {
    const registered = await runCli(['--json', 'provider', 'register', '-'], { home, input: RECORD });
    expect(registered.exitCode, registered.stderr).toBe(0);
    expect(parseJsonDocument(registered.stdout)).toMatchObject({ ok: true, results: [{ id: 'piped', version: 1 }] });

    const invalid = await runCli(['--json', 'provider', 'register', '-'], { home, input: RECORD.replace('class: local', 'class: nearby') });
    expect(invalid.exitCode).toBe(3);
    const problems = (parseJsonDocument(invalid.stdout) as unknown as ProblemDocument).error.details?.problems ?? [];
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((problem) => problem.file === '<stdin>')).toBe(true);
    expect(problems.find((problem) => problem.pointer === '/class')).toMatchObject({ line: 4 });
    const human = await runCli(['provider', 'register', '-'], { home, input: RECORD.replace('class: local', 'class: nearby') });
    expect(human.stderr).toMatch(/<stdin>:4:\d+ \/class/);

    const twoDocuments = await runCli(['provider', 'register', '-'], { home, input: `${RECORD}---\n${RECORD.replace('id: piped', 'id: other')}` });
    expect(twoDocuments.exitCode).toBe(3);
    expect(twoDocuments.stderr).toContain('<stdin>');
    expect(twoDocuments.stderr).toContain('holds 2 YAML documents');

    const twice = await runCli(['provider', 'register', '-', '-'], { home, input: RECORD });
    expect(twice.exitCode).toBe(2);
    expect(twice.stderr).toContain('can be read only once');
  });

  it('policy check - validates the policy piped in; an invalid one is located in <stdin> with a re-check hint that pipes again', async () => {
    const policy = 'apiVersion: syndicate/v1\nkind: Policy\n';
    const valid = await runCli(['--json', 'policy', 'check', '-'], { home, input: policy });
    expect(valid.exitCode, valid.stderr).toBe(0);
    expect(parseJsonDocument(valid.stdout)).toEqual({ ok: true, path: '<stdin>', source: 'stdin', valid: true, digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect((await runCli(['policy', 'check', '-'], { home, input: policy })).stdout).toMatch(/^<stdin>: valid policy, digest sha256:[0-9a-f]{64}$/);

    const invalid = await runCli(['policy', 'check', '-'], { home, input: `${policy}not_a_key: true\n` });
    expect(invalid.exitCode).toBe(3);
    expect(invalid.stderr).toMatch(/<stdin>:3:1 \/not_a_key unknown key/);
    expect(invalid.stderr).toContain('`syndicate policy check -`');
  });

  it('classify --file - classifies the text piped in; bytes that are no text are an invalid input named <stdin>', async () => {
    const classified = await runCli(['--json', 'classify', '--file', '-'], { home, input: 'my password is hunter2\n' });
    expect(classified.exitCode, classified.stderr).toBe(0);
    expect(parseJsonDocument(classified.stdout)).toMatchObject({ ok: true, level: expect.stringMatching(/confidential|restricted/) });
    const binary = await runCli(['classify', '--file', '-'], { home, input: new Uint8Array([0x00, 0xff, 0x00, 0x10, 0x89]) });
    expect(binary.exitCode).toBe(3);
    expect(binary.stderr).toContain('<stdin>');
  });

  it('route --request - locates a JSON syntax error in <stdin>', async () => {
    const result = await runCli(['route', '--request', '-'], { home, input: '{"model": "auto", "messages": [}' });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/<stdin>:1:\d+/);
  });

  it('run and route --image - read the image from stdin, its type told by its bytes', async () => {
    const notAnImage = await runCli(['route', 'What is this?', '--image', '-'], { home, input: 'plain text, not an image' });
    expect(notAnImage.exitCode).toBe(2);
    expect(notAnImage.stderr).toContain('--image <stdin>');
  });

  it('stdin named twice in one command line is a usage error before anything is read or sent (exit 2)', { timeout: 90_000 }, async () => {
    const cases: string[][] = [
      ['run', '--schema', '-', '--no-stream'],
      ['run', '-', '--tools', '-', '--no-stream'],
      ['run', 'hi', '--schema', '-', '--tools', '-', '--no-stream'],
      ['route', 'hi', '--image', '-', '--image', '-'],
      ['route', '--schema', '-'],
    ];
    const results = await Promise.all(cases.map((args) => runCli(args, { home, input: '{"type": "object"}' })));
    for (const [index, result] of results.entries()) {
      expect(result.exitCode, `${cases[index]?.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toContain('can be read only once');
    }
  });
});

describe('session approve --json', () => {
  const { home, cleanup } = makeTempHome('syndicate-approve-json-');
  beforeAll(async () => {
    expect((await runCli(['init'], { home })).exitCode).toBe(0);
    // From a file: this test stands apart from `provider register -`.
    writeFileSync(join(home, 'piped.yaml'), RECORD);
    expect((await runCli(['provider', 'register', join(home, 'piped.yaml')], { home })).exitCode).toBe(0);
  });
  afterAll(cleanup);

  it('returns the checkpoint it made (id, number, max capability, reason, time) beside the session', async () => {
    const started = await runCli(['--json', 'session', 'start', '--model', 'piped:chat'], { home });
    expect(started.exitCode, started.stderr).toBe(0);
    const id = (parseJsonDocument(started.stdout).session as { id: string }).id;
    const approved = await runCli(['--json', 'session', 'approve', id, '--max-capability', 'large'], { home });
    expect(approved.exitCode, approved.stderr).toBe(0);
    const document = parseJsonDocument(approved.stdout);
    expect(document).toMatchObject({ ok: true, session: { id, envelope: { maxCapability: 'large', state: 'approved' } } });
    expect(document.checkpoint).toEqual({ id: expect.any(Number), number: 2, maxCapability: 'large', reason: 'approve', approvedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const shown = parseJsonDocument((await runCli(['--json', 'session', 'show', id], { home })).stdout);
    expect((shown.session as { checkpoints: unknown[] }).checkpoints.at(-1)).toEqual(document.checkpoint);
  });
});
