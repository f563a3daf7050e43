/**
 * An auditor's negative claim — "no restricted request was answered by a hosted provider since the
 * head I kept" — proven from a filtered export alone: `evidence export --from <head>` writes every
 * chain position after that head, as an envelope or as the link of one its filter left out, even
 * when the filter selects nothing, and `evidence verify --export --from <head>` proves the file
 * complete from there. Local and hosted engines are fakes on loopback; every command is the built CLI.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { Scenario } from '../helpers/scenario.js';

const HOSTED_KEY = { FAKE_HOSTED_KEY: 'test-key-not-a-secret' };

describe('evidence export --from a kept head', () => {
  let scenario: Scenario;
  let local: FakeEngine;
  let hosted: FakeEngine;
  /** `seq:hash` of the head `evidence verify` printed after the first request. */
  let keptHead: string;
  let keptSeq: number;
  let lastHead: { seq: number; hash: string };

  const head = async (): Promise<{ seq: number; hash: string }> => {
    const { result, document } = await scenario.json(['evidence', 'verify']);
    expect(result.exitCode, result.stderr).toBe(0);
    return document.head as { seq: number; hash: string };
  };
  const run = async (args: string[], exitCode: number): Promise<void> => {
    const result = await scenario.cli(['run', ...args], { env: HOSTED_KEY });
    expect(result.exitCode, result.stderr).toBe(exitCode);
  };
  const lines = (file: string): Record<string, unknown>[] =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(async () => {
    local = await startFakeEngine({ kind: 'ollama', conforming: true });
    hosted = await startFakeEngine({ kind: 'openai' });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    await scenario.register({ id: 'local', engine: local }, { id: 'hosted', engine: hosted, class: 'approved_hosted', authEnv: 'FAKE_HOSTED_KEY', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } });
    await run(['my password is hunter2, why does login fail?'], 0);
    const kept = await head();
    keptSeq = kept.seq;
    keptHead = `${kept.seq}:${kept.hash}`;
    await run(['Name the capital of France.', '--provider', 'hosted'], 0);
    await run(['my password is hunter2, why does login fail?', '--provider', 'hosted'], 4);
    await run(['my password is hunter2, and again?'], 0);
    await run(['Name the capital of Spain.', '--provider', 'hosted'], 0);
    lastHead = await head();
  }, 90_000);
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([local?.close(), hosted?.close()]);
  });

  it('a filter that selects nothing still exports every position after the head, and the file proves that none is a row it selects', async () => {
    const file = join(scenario.home, 'none.jsonl');
    const exported = await scenario.json(['evidence', 'export', '--sensitivity', 'restricted', '--class', 'hosted', '--state', 'completed', '--from', keptHead, '--output', file]);
    expect(exported.result.exitCode, exported.result.stderr).toBe(0);
    expect(exported.document).toMatchObject({ rows: 0, leftOut: lastHead.seq - keptSeq + 1 });
    expect(lines(file).every((line) => line['leftOut'] !== undefined)).toBe(true);

    const { result, document } = await scenario.json(['evidence', 'verify', '--export', file, '--from', keptHead]);
    expect(result.exitCode, result.stdout).toBe(0);
    expect(document).toMatchObject({ envelopes: 0, chained: 0, head: lastHead, leftOut: { positions: lastHead.seq - keptSeq + 1, ranges: [[keptSeq, lastHead.seq]] } });
    const human = await scenario.cli(['evidence', 'verify', '--export', file, '--from', keptHead]);
    expect(human.stderr).toContain(`every chain position from #${keptSeq} to #${lastHead.seq} is in the file`);
  });

  it('an envelope the filter selects, taken out of such a file, fails — the first one too', async () => {
    const file = join(scenario.home, 'restricted.jsonl');
    const exported = await scenario.cli(['evidence', 'export', '--sensitivity', 'restricted', '--from', keptHead, '--output', file]);
    expect(exported.exitCode, exported.stderr).toBe(0);
    const whole = await scenario.cli(['evidence', 'verify', '--export', file, '--from', keptHead]);
    expect(whole.exitCode, whole.stderr).toBe(0);
    const all = readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
    const firstAfterHead = all.findIndex((line) => {
      const parsed = JSON.parse(line) as { id?: string; chainSeq?: number };
      return parsed.id !== undefined && (parsed.chainSeq ?? 0) > keptSeq;
    });
    expect(firstAfterHead).toBeGreaterThanOrEqual(0);
    const cut = join(scenario.home, 'restricted-cut.jsonl');
    writeFileSync(cut, `${all.filter((_, index) => index !== firstAfterHead).join('\n')}\n`);
    const { result, document } = await scenario.json(['evidence', 'verify', '--export', cut, '--from', keptHead]);
    expect(result.exitCode).toBe(1);
    expect((document.error as { details: { brokenAt: { reason: string } } }).details.brokenAt.reason).toBe('row missing');
  });

  it('a file that begins right after the head given proves it: the head is the first line\'s previous link', async () => {
    const file = join(scenario.home, 'after.jsonl');
    const exported = await scenario.cli(['evidence', 'export', '--class', 'hosted', '--state', 'completed', '--from', keptHead, '--output', file]);
    expect(exported.exitCode, exported.stderr).toBe(0);
    const next = lines(file).find((line) => (line['chainSeq'] ?? (line['leftOut'] as { chainSeq?: number } | undefined)?.chainSeq) === keptSeq + 1);
    expect(next).toBeDefined();
    // The same file without the head's own line: it starts at the position after the head.
    const trimmed = join(scenario.home, 'after-trimmed.jsonl');
    const rest = readFileSync(file, 'utf8').split('\n').filter((line) => line !== '' && (JSON.parse(line) as { leftOut?: { chainSeq: number } }).leftOut?.chainSeq !== keptSeq);
    writeFileSync(trimmed, `${rest.join('\n')}\n`);
    const { result, document } = await scenario.json(['evidence', 'verify', '--export', trimmed, '--from', keptHead]);
    expect(result.exitCode, result.stdout).toBe(0);
    expect(document).toMatchObject({ head: lastHead, first: { seq: keptSeq + 1 } });
  });

  it('a head the store no longer holds with that hash is refused before anything is written', async () => {
    const file = join(scenario.home, 'refused.jsonl');
    const wrong = `${keptSeq}:${'0'.repeat(64)}`;
    const { result, document } = await scenario.json(['evidence', 'export', '--sensitivity', 'restricted', '--from', wrong, '--output', file]);
    expect(result.exitCode).toBe(1);
    expect(document.error).toMatchObject({ code: 'check_failed' });
    expect(() => readFileSync(file)).toThrow();
  });
});
