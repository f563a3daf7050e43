import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { onTerminal } from '../helpers/terminal.js';
import { initialisedHome } from '../helpers/prepared-home.js';
import { HOUR, seedMetricsStore } from '../unit/metrics/seed.js';

describe('syndicate on a terminal', () => {
  let home: string;
  let cleanup: () => void;

  beforeAll(async () => {
    ({ home, cleanup } = await initialisedHome());
  });
  afterAll(() => cleanup?.());

  it('ends on a terminal that reports no width (a spinner there never stopped clearing lines)', async () => {
    const result = await onTerminal('evidence verify', { home });
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain('evidence chain intact: 0 rows');
  }, 90_000);

  it('shows a spinner on a sized terminal, and none with NO_COLOR: the output is plain text', async () => {
    const spinning = await onTerminal('evidence verify', { home, columns: 80 });
    expect(spinning.exitCode).toBe(0);
    expect(spinning.output).toContain('verifying the evidence chain');
    const plain = await onTerminal('evidence verify', { home, columns: 80, env: { NO_COLOR: '1' } });
    expect(plain.exitCode).toBe(0);
    expect(plain.output).toContain('evidence chain intact: 0 rows');
    expect(plain.output).not.toContain('verifying the evidence chain');
    expect(plain.output).not.toContain('\u001b');
  }, 90_000);

  it('TERM=dumb (a terminal that prints escape codes as text) gets no colour and no spinner; CI=true no spinner', async () => {
    const coloured = await onTerminal('doctor', { home, columns: 80, env: { TERM: 'xterm-256color' } });
    expect(coloured.output).toContain('CHECK');
    expect(coloured.output).toContain('\u001b[');
    const dumb = await onTerminal('doctor', { home, columns: 80, env: { TERM: 'dumb' } });
    expect(dumb.output).toContain('CHECK');
    expect(dumb.output).not.toContain('\u001b');
    const dumbVerify = await onTerminal('evidence verify', { home, columns: 80, env: { TERM: 'dumb' } });
    expect(dumbVerify.exitCode).toBe(0);
    expect(dumbVerify.output).toContain('evidence chain intact: 0 rows');
    expect(dumbVerify.output).not.toContain('verifying the evidence chain');
    expect(dumbVerify.output).not.toContain('\u001b');
    const ci = await onTerminal('evidence verify', { home, columns: 80, env: { TERM: 'xterm-256color', CI: 'true' } });
    expect(ci.exitCode).toBe(0);
    expect(ci.output).toContain('evidence chain intact: 0 rows');
    expect(ci.output).not.toContain('verifying the evidence chain');
  }, 90_000);

  it('stderr sent to a file from a terminal (`2>run.log`) gets no escape codes, while stdout on the terminal is coloured', async () => {
    const log = join(home, 'stderr.log');
    // A finding's note (dim) and a warning (yellow) on stderr, the level (coloured) on stdout.
    const classified = await onTerminal(`classify "password: hunter2" 2>${log}`, { home, columns: 80 });
    expect(classified.exitCode).toBe(0);
    expect(classified.output).toContain('\u001b[');
    expect(readFileSync(log, 'utf8')).toMatch(/^\d+ findings?; --explain lists them\n$/);
    expect(readFileSync(log, 'utf8')).not.toContain('\u001b');
    const warned = await onTerminal(`evidence list --session nosuch 2>${log}`, { home, columns: 80 });
    expect(warned.exitCode).toBe(0);
    expect(readFileSync(log, 'utf8')).toContain('warning:');
    expect(readFileSync(log, 'utf8')).not.toContain('\u001b');
  }, 90_000);

  it('FORCE_COLOR=0 (or false) turns colour off on a terminal too, as for Node and chalk', async () => {
    for (const value of ['0', 'false']) {
      const table = await onTerminal('doctor', { home, columns: 80, env: { FORCE_COLOR: value } });
      expect(table.output).toContain('CHECK');
      expect(table.output).not.toContain('\u001b');
      const error = await onTerminal('provider show nosuch', { home, columns: 80, env: { FORCE_COLOR: value } });
      expect(error.exitCode).toBe(2);
      expect(error.output).toContain('error: unknown provider "nosuch"');
      expect(error.output).not.toContain('\u001b');
    }
  }, 90_000);

  it('FORCE_COLOR colours an error as it colours a table: on TERM=dumb and through a pipe; NO_COLOR still wins', async () => {
    const dumb = await onTerminal('provider show nosuch', { home, columns: 80, env: { TERM: 'dumb', FORCE_COLOR: '1' } });
    expect(dumb.exitCode).toBe(2);
    expect(dumb.output).toContain('\u001b[31merror:\u001b[39m unknown provider "nosuch"');
    const piped = await runCli(['provider', 'show', 'nosuch'], { home, env: { FORCE_COLOR: '1', NO_COLOR: '' } });
    expect(piped.exitCode).toBe(2);
    expect(piped.stderr).toContain('\u001b[31merror:\u001b[39m unknown provider "nosuch"');
    const table = await runCli(['doctor'], { home, env: { FORCE_COLOR: '1', NO_COLOR: '' } });
    expect(table.stdout).toContain('\u001b[1mCHECK');
    const noColor = await runCli(['provider', 'show', 'nosuch'], { home, env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
    expect(noColor.stderr).not.toContain('\u001b');
  }, 90_000);
});

describe('syndicate metrics on a narrow terminal', () => {
  let home: string;
  let cleanup: () => void;
  /** `metrics --since 8d` piped (no terminal), run once for the tests that read it. */
  let piped: CliResult;

  beforeAll(async () => {
    ({ home, cleanup } = await initialisedHome());
    // Evidence from a week ago on: the requests-per-hour chart has its most points (72).
    const store = openStore(join(home, 'syndicate.db'));
    seedMetricsStore(store, Math.floor(Date.now() / HOUR) * HOUR - 7 * 24 * HOUR);
    store.close();
    piped = await runCli(['metrics', '--since', '8d'], { home });
  });
  afterAll(() => cleanup?.());

  const chartLines = (output: string): string[] =>
    output
      .replace(/\u001b\[[0-9;]*m/g, '')
      .split(/\r?\n/)
      .filter((line) => line.includes('┤') || line.includes('┼'));

  it('draws the requests-per-hour chart within the terminal\'s width, coloured or not; piped, at its full width', async () => {
    const environments: Record<string, string>[] = [{}, { NO_COLOR: '1' }];
    for (const env of environments) {
      const result = await onTerminal('metrics --since 8d', { home, columns: 40, env });
      expect(result.exitCode).toBe(0);
      expect(chartLines(result.output).length).toBeGreaterThan(0);
      // Every line of the chart and its legend or titles: from the first axis label to the end.
      const chart = result.output.replace(/\u001b\[[0-9;]*m/g, '').split(/\r?\n/);
      const from = chart.findIndex((line) => /^\s*\d+ [┤┼]/.test(line)) - (env.NO_COLOR === undefined ? 0 : 1);
      for (const line of chart.slice(from)) expect([...line.trimEnd()].length, line).toBeLessThanOrEqual(40);
    }
    expect(piped.exitCode).toBe(0);
    expect(Math.max(...chartLines(piped.stdout).map((line) => [...line.trimEnd()].length))).toBeGreaterThan(60);
  }, 90_000);

  const lines = (output: string): string[] => output.replace(/\u001b\[[0-9;]*m/g, '').split(/\r?\n/);
  const LATENCY_HEADER = /^PROVIDER +MODEL +CLASS +REQUESTS +FIRST TOKEN P50 +P95 +TOTAL P50 +P95$/;

  it('prints a table wider than the terminal as records, every value whole (COLUMNS too); piped, every table as it was', async () => {
    for (const run of [{ columns: 60 }, { columns: 200, env: { COLUMNS: '60' } }]) {
      const result = await onTerminal('metrics --since 8d', { home, ...run });
      expect(result.exitCode).toBe(0);
      const printed = lines(result.output);
      // The latency table (over 80 columns): one record per provider and model, no row wrapped.
      expect(printed.some((line) => LATENCY_HEADER.test(line))).toBe(false);
      expect(printed).toContain('PROVIDER         claude');
      expect(printed).toContain('MODEL            claude-sonnet');
      expect(printed).toContain('CLASS            approved_hosted');
      expect(printed).toContain('FIRST TOKEN P50  500 ms');
      // The tables that fit stay tables.
      expect(printed.some((line) => /^SENSITIVITY +LOCAL +HOSTED +DENIED$/.test(line))).toBe(true);
      const records = printed.slice(printed.indexOf('PROVIDER         claude'), printed.indexOf('cold starts: answers from a model its engine reported not loaded when routed (the first token includes the load)'));
      for (const line of records) expect([...line.trimEnd()].length, line).toBeLessThanOrEqual(60);
    }
    const piped = await runCli(['metrics', '--since', '8d'], { home, env: { COLUMNS: '60' } });
    expect(piped.exitCode).toBe(0);
    expect(piped.stdout.split('\n').some((line) => LATENCY_HEADER.test(line))).toBe(true);
    expect(piped.stdout).not.toContain('PROVIDER         claude');
  }, 90_000);

  it('says the newest point of the chart counts its hour so far', async () => {
    const result = await onTerminal('metrics --since 8d', { home, columns: 80 });
    expect(result.exitCode).toBe(0);
    expect(lines(result.output).filter((line) => line !== '').at(-1)).toMatch(/^newest point: \d\d:00–\d\d:\d\d UTC, so far$/);
    expect(piped.exitCode).toBe(0);
    expect(piped.stdout.trimEnd().split('\n').at(-1)).toMatch(/^newest point: \d\d:00–\d\d:\d\d UTC, so far$/);
  }, 90_000);

  it('evidence list on an 80-column terminal: a record per row, its id whole; piped, the table', async () => {
    const result = await onTerminal('evidence list --limit 3', { home, columns: 80 });
    expect(result.exitCode).toBe(0);
    const printed = lines(result.output);
    const ids = printed.filter((line) => line.startsWith('ID ')).map((line) => line.split(/ +/)[1]);
    expect(ids).toHaveLength(3);
    for (const id of ids) expect(id).toMatch(/^ev_[0-9a-z]{20}$/);
    for (const line of printed) expect([...line.trimEnd()].length, line).toBeLessThanOrEqual(80);
    const piped = await runCli(['evidence', 'list', '--limit', '3'], { home });
    expect(piped.stdout.split('\n')[0]).toMatch(/^ID +TIME \(UTC\) +STATE +SENSITIVITY +PROVIDER +CLASS +MODEL +STATUS +TOKENS +TTFT\/TOTAL MS +MARKERS/);
  }, 90_000);
});
