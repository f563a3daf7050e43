import { execa } from 'execa';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { BIN, makeTempHome, runCli } from '../helpers/cli.js';
import { HOUR, seedMetricsStore } from '../unit/metrics/seed.js';

/**
 * The CLI on a real terminal: util-linux `script` gives the command a pseudo-terminal, as CI
 * runners that want colour and a developer's shell do. `stty cols` sizes it; left alone, a
 * pseudo-terminal whose creator has no terminal of its own reports 0 columns.
 */
async function onTerminal(command: string, options: { home: string; columns?: number; env?: Record<string, string> }): Promise<{ exitCode: number | undefined; timedOut: boolean; output: string }> {
  const sized = options.columns === undefined ? '' : `stty cols ${options.columns}; `;
  const result = await execa('script', ['-qec', `${sized}node ${BIN} ${command}`, '/dev/null'], {
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
    // The runner's own CI (set by .ci/run) or TERM must not decide what a test's terminal is.
    env: { SYNDICATE_HOME: options.home, NO_COLOR: undefined, FORCE_COLOR: undefined, CI: undefined, TERM: 'xterm-256color', ...options.env },
  });
  return { exitCode: result.exitCode, timedOut: result.timedOut, output: String(result.stdout) };
}

describe('syndicate on a terminal', () => {
  const temporary = makeTempHome();
  const home = temporary.home;

  beforeAll(async () => {
    expect((await runCli(['init'], { home })).exitCode).toBe(0);
  });
  afterAll(() => temporary.cleanup());

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
  const temporary = makeTempHome();
  const home = temporary.home;

  beforeAll(async () => {
    expect((await runCli(['init'], { home })).exitCode).toBe(0);
    // Evidence from a week ago on: the requests-per-hour chart has its most points (72).
    const store = openStore(join(home, 'syndicate.db'));
    seedMetricsStore(store, Math.floor(Date.now() / HOUR) * HOUR - 7 * 24 * HOUR);
    store.close();
  });
  afterAll(() => temporary.cleanup());

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
    const piped = await runCli(['metrics', '--since', '8d'], { home });
    expect(piped.exitCode).toBe(0);
    expect(Math.max(...chartLines(piped.stdout).map((line) => [...line.trimEnd()].length))).toBeGreaterThan(60);
  }, 90_000);
});
