import Database from 'better-sqlite3';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../helpers/cli.js';
import { inferenceExchanges, registeredEngineScenario, type Scenario } from '../helpers/scenario.js';

interface ListedRow {
  id: string;
  state: string;
  verbatimCapture: string | null;
  firstTokenMs: number | null;
  markers: string[];
  error: { code: string; message: string } | null;
}

const ANSWER = 'one two three four five six seven eight nine ten eleven twelve';

/**
 * The slow engine's frames this far apart (the first at once): the rest of the answer takes longer
 * than any test here may run, so a test shows the run did not wait for it by the engine seeing the
 * stream cut, and the signal's prompt handling by no frame following it, not by a wall-clock bound.
 */
const REST_FAR_AWAY_MS = 10_000;

/**
 * Starts a streaming `run` against the slow engine and resolves once some of the answer was
 * printed (wrapped: the subprocess itself is a promise, which an async function would await).
 */
async function startStreamingRun(scenario: Scenario, extraArgs: string[] = []) {
  const child = execa('node', [BIN, ...extraArgs, 'run', 'Count to twelve.', '--provider', 'slow', '--stream'], {
    cwd: REPO_ROOT,
    env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1', FORCE_COLOR: '0' },
    reject: false,
  });
  await new Promise<void>((resolve, reject) => {
    // A bound on how soon a failure shows, not on the run: its start takes seconds on a loaded machine.
    const timer = setTimeout(() => reject(new Error('no output from run within 60 s')), 60_000);
    child.stdout?.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { child };
}

/** How many response chunks of pending rows the store holds (read by this process while the run writes). */
function pendingResponseChunks(scenario: Scenario): number {
  const db = new Database(join(scenario.home, 'syndicate.db'), { readonly: true });
  try {
    return db.prepare("SELECT count(*) FROM evidence e JOIN evidence_chunks c ON c.evidence_id = e.id WHERE e.state = 'pending' AND c.seq > 0").pluck().get() as number;
  } finally {
    db.close();
  }
}

async function metricsRequests(scenario: Scenario): Promise<{ failedAttempts: number; cancelled: number }> {
  const { result, document } = await scenario.json(['metrics', '--since', '1h']);
  expect(result.exitCode, result.stderr).toBe(0);
  return (document.metrics as { requests: { failedAttempts: number; cancelled: number } }).requests;
}

describe('a run killed mid-stream', () => {
  const setup = registeredEngineScenario('slow', { kind: 'ollama', answer: ANSWER }, 'in-process');

  it('leaves an interrupted row with the partial bytes, counted as a failed attempt, and the chain verifies', { timeout: 90_000 }, async () => {
    const { scenario, engine } = setup;
    engine.setFault({ slowStreamMs: REST_FAR_AWAY_MS });
    const { child } = await startStreamingRun(scenario);
    // Once the bytes printed are in the store (written every 50 ms; a fixed 500 ms wait before),
    // kill without any chance to clean up: the next process recovers the pending row.
    await expect.poll(() => pendingResponseChunks(scenario), { timeout: 20_000, interval: 20 }).toBeGreaterThan(0);
    child.kill('SIGKILL');
    const killed = await child;
    expect(killed.signal).toBe('SIGKILL');

    const { result, document } = await scenario.json(['evidence', 'list']);
    expect(result.exitCode, result.stderr).toBe(0);
    const rows = document.evidence as ListedRow[];
    const row = rows.find((entry) => entry.state === 'interrupted');
    expect(row, JSON.stringify(rows)).toBeDefined();
    expect(row!.verbatimCapture).toBe('partial');
    expect(row!.error?.message).toMatch(/^the process \(pid \d+\) making this call ended before recording its outcome$/);
    const raw = scenario.storedRawEvidence(row!.id, 'response');
    const sent = engine.exchanges.filter((exchange) => exchange.method === 'POST').at(-1)!;
    expect(raw.length).toBeGreaterThan(0);
    // What was kept is a prefix of what the engine sent, byte for byte, and not the whole of it.
    expect(sent.responseBody.subarray(0, raw.length)).toEqual(raw);
    expect(raw.toString()).not.toContain('[DONE]');
    const verify = await scenario.cli(['evidence', 'verify']);
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    // Nothing says who ended the process: a killed run is not counted as the caller's cancellation.
    expect(await metricsRequests(scenario)).toMatchObject({ failedAttempts: 1, cancelled: 0 });
  });
});

describe('a run killed mid-stream whose parent has not reaped it yet (a zombie)', () => {
  const setup = registeredEngineScenario('slow', { kind: 'ollama', answer: ANSWER }, 'in-process');

  it('is recovered as interrupted by the next command all the same: a zombie answers signal 0 but never runs again', { timeout: 90_000 }, async () => {
    const { scenario, engine } = setup;
    engine.setFault({ slowStreamMs: 400 });
    // The run's parent becomes `sleep`, which never reaps a child: once killed, the run stays a zombie until sleep ends.
    const command = `node ${JSON.stringify(BIN)} run 'Count to twelve.' --provider slow --stream & echo "pid $!"; exec sleep 1000`;
    const parent = execa('sh', ['-c', command], { cwd: REPO_ROOT, env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1', FORCE_COLOR: '0' }, reject: false });
    try {
      const pid = await new Promise<number>((resolve) => {
        let stdout = '';
        parent.stdout?.on('data', (data: Buffer) => {
          stdout += data.toString();
          const match = /^pid (\d+)\n([^]+)/.exec(stdout);
          // Some of the answer was printed: the row is pending, with bytes.
          if (match?.[1] !== undefined && match[2] !== undefined && match[2].length > 0) resolve(Number(match[1]));
        });
      });
      process.kill(pid, 'SIGKILL');
      await new Promise<void>((resolve) => {
        const check = (): void => (/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) ? resolve() : void setTimeout(check, 20));
        check();
      });

      const { result, document } = await scenario.json(['evidence', 'list']);
      expect(result.exitCode, result.stderr).toBe(0);
      const rows = document.evidence as ListedRow[];
      expect(rows.map((row) => row.state)).toEqual(['interrupted']);
      expect(rows[0]!.error?.message).toBe(`the process (pid ${pid}) making this call ended before recording its outcome`);
    } finally {
      parent.kill('SIGKILL');
      await parent;
    }
  });
});

describe('a run cancelled with Ctrl-C mid-stream', () => {
  const setup = registeredEngineScenario('slow', { kind: 'ollama', answer: ANSWER }, 'in-process');

  it('exits 130 after recording the attempt as cancelled by the caller, with the first-token time and the bytes so far', { timeout: 90_000 }, async () => {
    const { scenario, engine } = setup;
    engine.setFault({ slowStreamMs: REST_FAR_AWAY_MS });
    const { child } = await startStreamingRun(scenario);
    const sentBeforeSignal = inferenceExchanges(engine).at(-1)!.responseChunks.length;
    child.kill('SIGINT');
    const ended = await child;
    expect(ended.exitCode, ended.stderr).toBe(130);
    // The call stopped within the 2 s deadline and was recorded, shown by what it printed (else:
    // '… again: quit at once', the row left pending), not by the time taken (< 2.5 s: within a loaded machine's reach).
    expect(ended.stderr).toContain('cancelled by the operator (Ctrl-C)');
    expect(ended.stderr).not.toContain('again: quit at once');
    // Not after the rest of the answer: the engine saw the stream cut before its next frame.
    expect(inferenceExchanges(engine).at(-1)!.responseChunks.length).toBe(sentBeforeSignal);

    // No row is left pending for a later process to recover.
    const { result, document } = await scenario.json(['evidence', 'list']);
    expect(result.exitCode, result.stderr).toBe(0);
    const rows = document.evidence as ListedRow[];
    expect(rows, JSON.stringify(rows)).toHaveLength(1);
    const row = rows[0]!;
    expect(row.state).toBe('failed');
    expect(row.error?.code).toBe('interrupted');
    expect(row.error?.message).toContain('cancelled by the operator');
    expect(row.verbatimCapture).toBe('partial');
    expect(row.markers).toContain('partial_response');
    expect(row.firstTokenMs).toBeGreaterThan(0);
    const raw = scenario.storedRawEvidence(row.id, 'response');
    const sent = engine.exchanges.filter((exchange) => exchange.method === 'POST').at(-1)!;
    expect(raw.length).toBeGreaterThan(0);
    expect(sent.responseBody.subarray(0, raw.length)).toEqual(raw);
    expect(raw.toString()).not.toContain('[DONE]');
    // The upstream call was aborted, not left to stream into a process that stopped reading.
    expect(sent.abortedByClient).toBe(true);
    const verify = await scenario.cli(['evidence', 'verify']);
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);

    expect(await metricsRequests(scenario)).toMatchObject({ failedAttempts: 0, cancelled: 1 });
    const human = await scenario.cli(['metrics', '--since', '1h']);
    expect(human.stdout).toContain('0 failed attempts, 1 cancelled by the caller');
  });
});

describe('the partial answer of a run cancelled with Ctrl-C mid-stream', () => {
  const setup = registeredEngineScenario('slow', { kind: 'ollama', answer: ANSWER }, 'in-process');
  const env = (scenario: Scenario) => ({ SYNDICATE_HOME: scenario.home, NO_COLOR: '1', FORCE_COLOR: '0' });
  /** Some words of ANSWER, as streamed: what was printed before the signal. */
  const partialAnswer = new RegExp(`^(?:${ANSWER.split(' ').join(' ?|')} ?)+$`);

  async function firstOutput(child: ReturnType<typeof execa>): Promise<void> {
    await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  }

  /**
   * A streaming run given `signals` Ctrl-Cs once some of the answer is out, its stdout and stderr in
   * one file in the order written, as a terminal shows them (`exec`: the signal reaches syndicate
   * itself). Exit 130, and the first line is the partial answer.
   */
  async function interruptedOnOneScreen(signals: number): Promise<{ screen: string; lines: string[] }> {
    const { scenario, engine } = setup;
    engine.setFault({ slowStreamMs: 400 });
    const child = execa('sh', ['-c', 'exec node "$0" run "Count to twelve." --provider slow --stream 2>&1', BIN], { cwd: REPO_ROOT, env: env(scenario), reject: false, stripFinalNewline: false });
    await firstOutput(child);
    for (let signal = 0; signal < signals; signal += 1) child.kill('SIGINT');
    const ended = await child;
    expect(ended.exitCode).toBe(130);
    const screen = String(ended.stdout);
    const lines = screen.split('\n');
    expect(lines[0], screen).toMatch(partialAnswer);
    return { screen, lines };
  }

  it('on a terminal (stdout and stderr on one screen), the note and the error start on their own line, and the last line ends (it read `oneinterrupted: …`)', { timeout: 90_000 }, async () => {
    const { screen, lines } = await interruptedOnOneScreen(1);
    expect(lines.slice(1), screen).toEqual([
      'interrupted: recording the cancelled call (Ctrl-C again to quit at once)',
      'error: cancelled by the operator (Ctrl-C) before the answer ended',
      'hint: the attempt is recorded as cancelled by the caller, with what was received so far',
      expect.stringMatching(/^evidence ev_\w+$/),
      // Ended by a newline: the shell's prompt starts a line of its own.
      '',
    ]);
  });

  it('piped to a script, stdout is the partial answer ended by one newline (a `read` loop gets its last line; the exit code 130 says it is partial), stderr apart', { timeout: 90_000 }, async () => {
    const { scenario, engine } = setup;
    engine.setFault({ slowStreamMs: 400 });
    const child = execa('node', [BIN, 'run', 'Count to twelve.', '--provider', 'slow', '--stream'], { cwd: REPO_ROOT, env: env(scenario), reject: false, stripFinalNewline: false });
    await firstOutput(child);
    child.kill('SIGINT');
    const ended = await child;
    expect(ended.exitCode).toBe(130);
    const stdout = String(ended.stdout);
    expect(stdout.endsWith('\n') && !stdout.endsWith('\n\n'), JSON.stringify(stdout)).toBe(true);
    expect(stdout.slice(0, -1)).toMatch(partialAnswer);
    expect(String(ended.stderr)).toMatch(/^interrupted: recording the cancelled call \(Ctrl-C again to quit at once\)\nerror: cancelled by the operator/);
  });

  it('a second Ctrl-C, which quits at once, leaves the partial answer ended too', { timeout: 90_000 }, async () => {
    const { screen, lines } = await interruptedOnOneScreen(2);
    expect(lines[1], screen).toBe('interrupted: recording the cancelled call (Ctrl-C again to quit at once)');
    expect(lines.at(-1), screen).toBe('');
  });
});

describe('a run stopped with SIGTERM mid-stream (`timeout`, `kill`, a CI runner cancelling the job)', () => {
  const setup = registeredEngineScenario('slow', { kind: 'ollama', answer: ANSWER }, 'in-process');

  it('exits 143 after recording the attempt as cancelled, and --json still prints its one error document', { timeout: 90_000 }, async () => {
    const { scenario, engine } = setup;
    // Rows and counts from where this test starts: the other test of the block may have run first.
    const earlierRows = new Set(((await scenario.json(['evidence', 'list'])).document.evidence as ListedRow[]).map((row) => row.id));
    const requestsBefore = await metricsRequests(scenario);
    engine.setFault({ slowStreamMs: REST_FAR_AWAY_MS });
    const before = inferenceExchanges(engine).length;
    // --json prints nothing before the end, so wait for the engine to have sent its second frame:
    // the run had the first one 10 s before.
    const child = execa('node', [BIN, '--json', 'run', 'Count to twelve.', '--provider', 'slow', '--stream'], {
      cwd: REPO_ROOT,
      env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1', FORCE_COLOR: '0' },
      reject: false,
    });
    await expect.poll(() => inferenceExchanges(engine).at(before)?.responseChunks.length ?? 0, { timeout: 30_000, interval: 20 }).toBeGreaterThan(1);
    const sentBeforeSignal = inferenceExchanges(engine).at(before)!.responseChunks.length;
    child.kill('SIGTERM');
    const ended = await child;
    expect(ended.exitCode, ended.stderr).toBe(143);
    // The call stopped within the 2 s deadline, shown by what it printed (else: '… again: quit at
    // once', no document of its own, the row left pending), and not after the rest of the answer (no
    // frame after the signal): not by the time taken.
    expect(String(ended.stderr)).not.toContain('again: quit at once');
    expect(inferenceExchanges(engine).at(before)!.responseChunks.length).toBe(sentBeforeSignal);
    await expect.poll(() => inferenceExchanges(engine).at(before)!.abortedByClient, { timeout: 20_000, interval: 20 }).toBe(true);
    const document = JSON.parse(String(ended.stdout)) as { ok: boolean; error: { code: string; message: string; details: { attempts: { evidenceId: string }[] } } };
    expect(document).toMatchObject({ ok: false, error: { code: 'interrupted', message: 'terminated (SIGTERM) before the answer ended' } });

    // The row is finished by the process itself, with what it knew: not left pending for another one to guess.
    const { document: listed } = await scenario.json(['evidence', 'list']);
    const rows = (listed.evidence as ListedRow[]).filter((row) => !earlierRows.has(row.id));
    expect(rows, JSON.stringify(rows)).toHaveLength(1);
    const row = rows[0]!;
    expect(row.id).toBe(document.error.details.attempts[0]?.evidenceId);
    expect(row).toMatchObject({ state: 'failed', verbatimCapture: 'partial', error: { code: 'interrupted', message: 'terminated (SIGTERM) before the answer ended' } });
    expect(row.markers).toContain('partial_response');
    expect(row.firstTokenMs).toBeGreaterThan(0);
    const verify = await scenario.cli(['evidence', 'verify']);
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    expect(await metricsRequests(scenario)).toMatchObject({ failedAttempts: requestsBefore.failedAttempts, cancelled: requestsBefore.cancelled + 1 });
  });

  it('a second SIGTERM quits at once, still 143', { timeout: 90_000 }, async () => {
    const { scenario, engine } = setup;
    engine.setFault({ slowStreamMs: 400 });
    const { child } = await startStreamingRun(scenario);
    child.kill('SIGTERM');
    child.kill('SIGTERM');
    const ended = await child;
    expect(ended.exitCode, ended.stderr).toBe(143);
  });
});

describe('a streaming run whose reader goes away (`syndicate run … | head -c 100`)', () => {
  const setup = registeredEngineScenario('slow', { kind: 'ollama', answer: ANSWER }, 'in-process');

  it('cancels the call, records it as cancelled by the caller (not a provider failure) and exits 141', { timeout: 90_000 }, async () => {
    const { scenario, engine } = setup;
    // The run finds its reader gone when it writes the next frame (10 s on); the rest of the answer
    // would take longer than this test may run.
    engine.setFault({ slowStreamMs: REST_FAR_AWAY_MS });
    const { child } = await startStreamingRun(scenario);
    // What `head` does once it has read enough: close the reading end of the pipe.
    child.stdout?.destroy();
    const ended = await child;
    expect(ended.exitCode, ended.stderr).toBe(141);
    // Not after the rest of the answer (the engine saw it cut), and stopped within the 2 s deadline
    // (the command's own error, not the deadline's exit leaving the row pending): not a wall-clock bound.
    await expect.poll(() => inferenceExchanges(engine).at(-1)!.abortedByClient, { timeout: 20_000, interval: 20 }).toBe(true);
    expect(ended.stderr).toContain('error: stdout was closed (its reader went away) before the answer ended');

    // Finished by the process itself, with its first-token time: it used to be left pending, then
    // recovered by the next command as "the process ended" and counted against the provider.
    const { document } = await scenario.json(['evidence', 'list']);
    const rows = document.evidence as ListedRow[];
    expect(rows, JSON.stringify(rows)).toHaveLength(1);
    expect(rows[0]).toMatchObject({ state: 'failed', verbatimCapture: 'partial', error: { code: 'interrupted', message: 'stdout was closed (its reader went away) before the answer ended' } });
    expect(rows[0]!.firstTokenMs).toBeGreaterThan(0);
    expect(await metricsRequests(scenario)).toMatchObject({ failedAttempts: 0, cancelled: 1 });
    const verify = await scenario.cli(['evidence', 'verify']);
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
  });
});

describe('a provider probe stopped with Ctrl-C or SIGTERM while the engine hangs', () => {
  const setup = registeredEngineScenario('stuck', { kind: 'ollama', answer: ANSWER }, 'in-process');

  for (const [command, signal, exitCode] of [
    ['test', 'SIGINT', 130],
    ['capabilities', 'SIGTERM', 143],
  ] as const) {
    it(`provider ${command}: ${signal} records the probe as cancelled by the caller, sends no further probe and exits ${exitCode}`, { timeout: 90_000 }, async () => {
      const { scenario, engine } = setup;
      engine.setFault('hang');
      const before = engine.exchanges.filter((exchange) => exchange.method === 'POST').length;
      const child = execa('node', [BIN, 'provider', command, 'stuck'], {
        cwd: REPO_ROOT,
        env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1', FORCE_COLOR: '0' },
        reject: false,
      });
      // The probe is on the wire once its pending row is there.
      await expect
        .poll(async () => ((await scenario.json(['evidence', 'list', '--state', 'pending'])).document.evidence as unknown[]).length, { timeout: 60_000, interval: 200 })
        .toBe(1);
      child.kill(signal);
      const ended = await child;
      expect(ended.exitCode, ended.stderr).toBe(exitCode);
      const { document } = await scenario.json(['evidence', 'list', '--limit', '1']);
      const row = (document.evidence as ListedRow[])[0]!;
      expect(row).toMatchObject({ state: 'failed', error: { code: 'interrupted' } });
      expect(row.error?.message).toMatch(signal === 'SIGINT' ? /cancelled by the operator/ : /terminated \(SIGTERM\)/);
      // Exactly the one probe that was on the wire, none after it.
      expect(engine.exchanges.filter((exchange) => exchange.method === 'POST').length - before).toBeLessThanOrEqual(1);
      const verify = await scenario.cli(['evidence', 'verify']);
      expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    });
  }
});

describe('a run cancelled with Ctrl-C whose process outlives its command (a handle slow to close)', () => {
  const setup = registeredEngineScenario('slow', { kind: 'ollama', answer: ANSWER }, 'in-process');

  it('says only what happened: past the 2 s deadline it did not claim to have quit before recording the call, nor print a second error document (a loaded run printed "again: quit at once … left pending" after the recorded error)', { timeout: 90_000 }, async () => {
    const { scenario, engine } = setup;
    engine.setFault({ slowStreamMs: 400 });
    const before = inferenceExchanges(engine).length;
    const child = execa('node', ['--require', join(REPO_ROOT, 'test', 'helpers', 'linger-after-sigint.cjs'), BIN, '--json', 'run', 'Count to twelve.', '--provider', 'slow', '--stream'], {
      cwd: REPO_ROOT,
      env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1', FORCE_COLOR: '0' },
      reject: false,
    });
    // --json prints nothing before the end: the engine has started answering.
    await expect.poll(() => inferenceExchanges(engine).at(before)?.responseChunks.length ?? 0, { timeout: 30_000, interval: 20 }).toBeGreaterThan(1);
    child.kill('SIGINT');
    const ended = await child;
    engine.setFault('ok');
    expect(ended.exitCode, String(ended.stderr)).toBe(130);
    // One document on stdout, the command's own.
    expect(JSON.parse(String(ended.stdout))).toMatchObject({ ok: false, error: { code: 'interrupted', message: 'cancelled by the operator (Ctrl-C) before the answer ended' } });
    expect(String(ended.stderr)).toBe('interrupted: recording the cancelled call (Ctrl-C again to quit at once)');
    const { document } = await scenario.json(['evidence', 'list', '--limit', '1']);
    expect((document.evidence as ListedRow[])[0]).toMatchObject({ state: 'failed', error: { code: 'interrupted', message: 'cancelled by the operator (Ctrl-C) before the answer ended' } });
  });
});

describe('a run cancelled with Ctrl-C while another connection holds the store busy (a backup, a long write: recording the cancellation takes longer than the 2 s stop deadline)', () => {
  const setup = registeredEngineScenario('slow', { kind: 'ollama', answer: ANSWER }, 'in-process');

  it('waits for the store (its busy timeout is 5 s) and records the attempt as cancelled: the deadline bounds the call stopping, not the local write, and no row is left pending', { timeout: 90_000 }, async () => {
    const { scenario, engine } = setup;
    engine.setFault({ slowStreamMs: REST_FAR_AWAY_MS });
    const { child } = await startStreamingRun(scenario);
    // The first frame is in the store: the run writes nothing more until the next frame, 10 s on.
    await expect.poll(() => pendingResponseChunks(scenario), { timeout: 20_000, interval: 20 }).toBeGreaterThan(0);
    const holder = new Database(join(scenario.home, 'syndicate.db'));
    holder.exec('BEGIN IMMEDIATE');
    try {
      child.kill('SIGINT');
      // Held past the 2 s stop deadline (counted from the run's receiving the signal, after this
      // send), released well within the 5 s busy timeout the run's write waits for it.
      await new Promise((resolve) => setTimeout(resolve, 3000));
    } finally {
      holder.exec('COMMIT');
      holder.close();
    }
    const ended = await child;
    // Recorded by the run itself, not left pending for the next command to call interrupted.
    const { document } = await scenario.json(['evidence', 'list']);
    const rows = document.evidence as ListedRow[];
    expect(rows, JSON.stringify(rows)).toHaveLength(1);
    expect(rows[0], ended.stderr).toMatchObject({ state: 'failed', verbatimCapture: 'partial', error: { code: 'interrupted', message: 'cancelled by the operator (Ctrl-C) before the answer ended' } });
    expect(ended.exitCode, ended.stderr).toBe(130);
    // The error names the row it recorded, as an answered run's summary does.
    expect(ended.stderr).toBe(
      `interrupted: recording the cancelled call (Ctrl-C again to quit at once)\nerror: cancelled by the operator (Ctrl-C) before the answer ended\nhint: the attempt is recorded as cancelled by the caller, with what was received so far\nevidence ${rows[0]?.id}`,
    );
    const verify = await scenario.cli(['evidence', 'verify']);
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
  });
});
