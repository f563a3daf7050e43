import { ExitCode, InterruptedError } from '../errors.js';

/**
 * Stopping work that can record its own cancellation. The entry point owns SIGINT, SIGTERM and
 * SIGHUP: outside `cancellable` the first one exits at once; inside it (`run`'s invocation), the
 * first one aborts the work's signal so the pipeline finishes the attempt's evidence as cancelled by
 * the caller, and the entry point exits (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP) once the
 * command returns (or at its deadline, when the work has not stopped by then: `cancelRecording`).
 */
let active: AbortController | undefined;
let activeOptions: CancellableOptions = {};
let stoppedBy: StopSignal | undefined;
let recording = false;

/** What a stopped command's hint may tell its operator to change next time: its own options, absent when it has none. */
export interface CancellableOptions {
  /** The option that sets the time allowed, as typed (`syndicate run --timeout`). */
  timeoutOption?: string;
  /** The option that asks for a shorter answer (`--max-tokens`). */
  shorterOutputOption?: string;
  /**
   * Work other than an invocation (`evidence verify`, `engine install`): what it is, for the error's
   * message ("… before `evidence verify` ended"), and the hint saying what stopping it left. Absent:
   * an invocation, whose attempt the pipeline records as cancelled by the caller.
   */
  otherWork?: { name: string; hint: string };
}

/**
 * The signals that stop a command: Ctrl-C, what `kill`, `timeout` and CI runners send, and the
 * hangup of a terminal or SSH session closed under it.
 */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** The exit code of a command stopped by `signal` (128 + its number). */
export function exitCodeFor(signal: StopSignal): typeof ExitCode.hangup | typeof ExitCode.interrupted | typeof ExitCode.terminated {
  return signal === 'SIGINT' ? ExitCode.interrupted : signal === 'SIGHUP' ? ExitCode.hangup : ExitCode.terminated;
}

/** How a stop by `signal` is named in messages. */
function stoppedBySignal(signal: StopSignal): string {
  return signal === 'SIGINT' ? 'interrupted (Ctrl-C)' : signal === 'SIGHUP' ? 'hung up (SIGHUP: its terminal or session closed)' : 'terminated (SIGTERM)';
}

/**
 * Runs `work` with a signal the first SIGINT, SIGTERM or SIGHUP aborts (with an `InterruptedError` as its
 * reason, whose hint names only the options in `options`).
 */
export async function cancellable<T>(work: (signal: AbortSignal) => Promise<T>, options: CancellableOptions = {}): Promise<T> {
  const controller = new AbortController();
  active = controller;
  activeOptions = options;
  try {
    return await work(controller.signal);
  } finally {
    if (active === controller) {
      active = undefined;
      activeOptions = {};
    }
  }
}

/** What the entry point tells the operator while the work it just told to stop finishes. */
export function stoppingNote(): string {
  return activeOptions.otherWork === undefined ? 'recording the cancelled call' : `stopping ${activeOptions.otherWork.name}`;
}

/**
 * The pipeline's `onCancelRecording` for a command's cancellable call: the call told to stop has
 * stopped, and its attempt is being recorded as cancelled by the caller. From here the entry point
 * waits for the command to return, past its deadline (a second signal still quits at once).
 */
export function cancelRecording(): void {
  if (active?.signal.aborted === true) recording = true;
}

/** Whether the stopped call's cancellation is being recorded (`cancelRecording`): local work the entry point waits for. */
export function recordingCancellation(): boolean {
  return recording;
}

let commandStopsItself = false;

/**
 * For a command that stops gracefully on SIGINT and SIGTERM itself (`serve`, `engine serve` and
 * `mcp` drain; the last two on SIGHUP too, see `leavesHangupToCommand`): removes the entry point's
 * SIGINT handler (which exits at once), lets the entry point leave a first SIGTERM to the command,
 * and resolves with the first of `signals` the process receives (each listened for once). Only a
 * command that called this is left its SIGTERM: a listener a dependency adds (signal-exit, loaded
 * by node-llama-cpp's lock files while `doctor` checks the embedded engine) does nothing when it is
 * not alone, so a SIGTERM left to it would be ignored.
 */
export function takeOverStopSignals(signals: readonly StopSignal[]): Promise<StopSignal> {
  process.removeAllListeners('SIGINT');
  commandStopsItself = true;
  return new Promise((resolve) => {
    for (const signal of signals) process.once(signal, () => resolve(signal));
  });
}

/** Whether the command stops on SIGTERM itself (`takeOverStopSignals`). */
export function stopsOnSigtermItself(): boolean {
  return commandStopsItself;
}

let commandTakesHangup = false;

/**
 * For a command that gives SIGHUP a meaning of its own (`serve` re-reads its policy and token):
 * the entry point then leaves every SIGHUP to it. Called just before the command adds its listener.
 * Commands that stop on their own (`takeOverStopSignals`) listen for SIGHUP as for SIGTERM.
 */
export function takeOverHangup(): void {
  commandTakesHangup = true;
}

/**
 * Whether the entry point leaves SIGHUP to the command: one that takes it itself (`takeOverHangup`),
 * or one that stops on its own (`takeOverStopSignals`), which listens for the first and drains — a
 * closed terminal may send more than one, and those must not cut the drain short.
 */
export function leavesHangupToCommand(): boolean {
  return commandTakesHangup || commandStopsItself;
}

/** Whether cancellable work is running and has not been told to stop yet. */
export function hasCancellableWork(): boolean {
  return active !== undefined && !active.signal.aborted;
}

/**
 * Called by the entry point on SIGINT or SIGTERM. True when cancellable work was told to stop: the
 * caller should then let it finish; false when there is none (or it was already told), and the
 * caller exits at once.
 */
export function interruptCancellable(signal: StopSignal = 'SIGINT'): boolean {
  stoppedBy ??= signal;
  if (active === undefined || active.signal.aborted) return false;
  const { otherWork, timeoutOption } = activeOptions;
  const stoppedWork = otherWork?.name ?? 'the answer';
  const recorded = 'the attempt is recorded as cancelled by the caller, with what was received so far';
  const error =
    signal === 'SIGINT'
      ? new InterruptedError(`cancelled by the operator (Ctrl-C) before ${stoppedWork} ended`, { hint: otherWork?.hint ?? recorded })
      : signal === 'SIGHUP'
        ? new InterruptedError(`${stoppedBySignal(signal)} before ${stoppedWork} ended`, {
            hint: otherWork?.hint ?? `${recorded}; a command that must outlive its terminal runs under \`nohup\`, \`tmux\` or \`systemd-run\``,
            exitCode: ExitCode.hangup,
          })
        : new InterruptedError(`terminated (SIGTERM) before ${stoppedWork} ended`, {
            hint: otherWork?.hint ?? `${recorded}; give a job more time${timeoutOption === undefined ? '' : `, or \`${timeoutOption}\` less`}`,
            exitCode: ExitCode.terminated,
          });
  active.abort(error);
  return true;
}

/**
 * Called by the entry point when stdout's reader went away (`syndicate run … | head -c 100`): the
 * rest of the answer can no longer be delivered, so an invocation is aborted as the caller's
 * cancellation (exit 141, as for any writer whose pipe closed). True when there was a call to stop.
 * Other work (`evidence export | head -1`) has no attempt to record: false, and the entry point
 * stops it quietly with the exit code it had, as it stops every other command.
 */
export function cancelForClosedOutput(): boolean {
  if (active === undefined || active.signal.aborted || activeOptions.otherWork !== undefined) return false;
  active.abort(
    new InterruptedError('stdout was closed (its reader went away) before the answer ended', {
      hint: `the attempt is recorded as cancelled by the caller, with what was received so far; read the whole output${
        activeOptions.shorterOutputOption === undefined ? '' : `, or ask for less with ${activeOptions.shorterOutputOption}`
      }`,
      exitCode: ExitCode.outputClosed,
    }),
  );
  return true;
}

/**
 * An answer whose call has ended, being printed: the error and hint for when its reader goes away,
 * and `kept`, where the whole answer stays (its evidence) for any other stdout failure.
 */
export interface AnswerBeingPrinted {
  message: string;
  hint: string;
  kept: string;
}

let answerBeingPrinted: AnswerBeingPrinted | undefined;

/**
 * Called by a command before it prints an answer whose call has ended (`run` without `--stream`,
 * its `--json` document, a streamed answer's last line): should stdout's reader go away before it
 * is all written (`syndicate run … | head -1`), the entry point prints `report` and exits 141 as
 * for a streamed answer cut short — the call is recorded (completed), but its answer was lost.
 */
export function printingAnswer(report: AnswerBeingPrinted): void {
  answerBeingPrinted = report;
}

/** The report `printingAnswer` set, for the entry point when stdout's reader went away; undefined when no answer was being printed. */
export function answerLostReport(): AnswerBeingPrinted | undefined {
  return answerBeingPrinted;
}

/**
 * How the program reports a command the entry point stops at once (no cancellable work, a second
 * signal, or work that did not finish within the deadline): set once the program knows how errors
 * are printed, so `--json` still gets its one error document on stdout.
 */
let reportStop: ((error: InterruptedError) => void) | undefined;

export function whenStoppedAtOnce(report: (error: InterruptedError) => void): void {
  reportStop = report;
}

/**
 * Called by the entry point just before it exits at once on `signal`. `cancelling`: the command
 * had been told to stop its work (`run`'s call) and is quitting before it recorded that. Returns
 * the one line for stderr: what was stopped, and what state that left (with or without `--json`,
 * whose error document on stdout says the same).
 */
export function reportStoppedAtOnce(signal: StopSignal, cancelling: boolean): string {
  const stopped = stoppedBySignal(signal);
  const exitCode = exitCodeFor(signal);
  const { otherWork } = activeOptions;
  const error = cancelling
    ? new InterruptedError(`${stopped} again: quit at once, before ${otherWork?.name ?? 'the cancelled call'} had stopped`, {
        hint: otherWork?.hint ?? 'the attempt was left pending: the next syndicate command to open the store (`syndicate evidence list`) records it as interrupted, with the bytes received so far',
        exitCode,
      })
    : new InterruptedError(`${stopped} before the command ended`, {
        hint: 'run it again: each command writes in one transaction, so nothing it had not finished was kept',
        exitCode,
      });
  reportStop?.(error);
  return `${error.message}; ${error.hint ?? 'run `syndicate doctor` to check the home and the store'}`;
}

/** Whether SIGINT, SIGTERM or SIGHUP was received: the command's exit code is then 130, 143 or 129 whatever it returned. */
export function wasInterrupted(): boolean {
  return stoppedBy !== undefined;
}

/** The exit code the signal received calls for (see `wasInterrupted`); undefined when none was. */
export function interruptedExitCode(): number | undefined {
  return stoppedBy === undefined ? undefined : exitCodeFor(stoppedBy);
}
