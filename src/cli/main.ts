import { ExitCode } from '../errors.js';
import {
  answerLostReport,
  cancelForClosedOutput,
  exitCodeFor,
  hasCancellableWork,
  interruptCancellable,
  interruptedExitCode,
  leavesHangupToCommand,
  recordingCancellation,
  reportStoppedAtOnce,
  stoppingNote,
  stopsOnSigtermItself,
  type StopSignal,
} from './interrupt.js';
import { writeDiagnostic } from './diagnostics.js';
import { endOpenLines } from './open-lines.js';

/**
 * The entry point: the only place that sets the exit code or calls process.exit.
 * `--version` is answered before anything else loads, so it stays fast; every other command
 * line goes to the commander program in program.ts.
 */

/**
 * How long a command told to stop (Ctrl-C, SIGTERM, its reader gone) may take to stop its call
 * before the process exits anyway, leaving the attempt pending (recovered as interrupted). It bounds
 * a call that does not stop (a step that ignores the abort), not the recording of its cancellation:
 * once the call has stopped (`recordingCancellation`), that local step — the tokens so far counted,
 * a store write that waits at most the store's 5 s busy timeout for another process's lock — is
 * waited for, however loaded the machine; a second signal still quits at once.
 */
const INTERRUPT_DEADLINE_MS = 2000;

/** True when -V/--version comes before the first command word (after it, it is a command's own flag). */
function asksForVersion(args: readonly string[]): boolean {
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? '';
    if (arg === '-V' || arg === '--version') return true;
    if (arg === '--home') index += 1;
    else if (!arg.startsWith('-')) return false;
  }
  return false;
}

// A reader that went away (`syndicate evidence list | head`) is not an error worth a stack trace.
// During an invocation (`run … | head -c 100`) it cancels the call, which is then recorded as
// cancelled by the caller before the exit (141); every later write fails the same way, unheard.
let stdoutClosed = false;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (stdoutClosed) return;
  stdoutClosed = true;
  // A signal is already stopping the command (a closed terminal's SIGHUP, then EIO on its next
  // write): that stop exits, once the call it cancelled is recorded; exiting here would leave the row pending.
  if (interrupts > 0) return;
  if (error.code !== 'EPIPE') {
    // Any other failure leaves stdout unwritable (a full disk under `> evidence.jsonl`, an I/O
    // error): one error as `--output` reports its file's (exit 2), never a stack trace with exit 1,
    // which a script reads as a check that found a problem.
    // An answer whose call ended (`run --json > out.json` on a full disk) is kept by its evidence: say which.
    const answer = answerLostReport();
    writeDiagnostic(
      'error',
      `error: cannot write stdout: ${error.message.replace(/, write$/, '')}\n` +
        `hint: stdout goes to a file or device that refuses the output: free space there, or redirect it elsewhere${answer === undefined ? '' : `; ${answer.kept}`}`,
    );
    process.exit(ExitCode.usage);
  }
  if (cancelForClosedOutput()) {
    atDeadline(() => process.exit(ExitCode.outputClosed));
    return;
  }
  // The call ended and is recorded, but the answer it printed did not all reach its reader.
  const answerLost = answerLostReport();
  if (answerLost !== undefined) {
    writeDiagnostic('error', `error: ${answerLost.message}\nhint: ${answerLost.hint}`);
    process.exit(ExitCode.outputClosed);
  }
  process.exit(process.exitCode ?? 0);
});

// Diagnostics whose reader went away — a log pipe (`serve 2>&1 | logger`, `| tee`, a rotation
// program) killed or restarted (EPIPE), the terminal closed (EIO: `serve` takes the hangup's SIGHUP
// as a reload and serves on) — have nowhere to go, and the command goes on without them: left
// unhandled, the error killed a running gateway at its next access-log line (exit 1, the requests
// in flight cut off and their evidence left pending). Every later write fails the same way, unheard.
const GONE_STDERR = new Set(['EPIPE', 'EIO', 'ERR_STREAM_DESTROYED']);
process.stderr.on('error', (error: NodeJS.ErrnoException) => {
  if (!GONE_STDERR.has(error.code ?? '')) throw error;
});

// Set once the command returned: its outcome is printed and its attempt recorded, whatever handle
// still keeps the process from exiting.
let commandReturned = false;
// Set when the deadline passed while the stopped call's cancellation was being recorded: the
// process exits as soon as the command returns, whatever handle is still open.
let deadlinePassed = false;
/** At the deadline, `quit` — unless the command returned (exit now) or its call stopped and is being recorded (wait for it). */
function atDeadline(quit: () => void): void {
  setTimeout(() => {
    // Past the deadline with the command returned (a loaded machine, a handle slow to close): it
    // did not quit before the call was recorded, and its error document is already out.
    if (commandReturned) process.exit();
    if (recordingCancellation()) {
      deadlinePassed = true;
      return;
    }
    quit();
  }, INTERRUPT_DEADLINE_MS).unref();
}

// The first Ctrl-C, SIGTERM (`kill`, `timeout`, a CI runner cancelling the job) or SIGHUP (its
// terminal or SSH session closed) during an invocation (`run`) cancels it, so its evidence is
// finished as cancelled by the caller (and `--json` prints its error document); the exit (130, 143
// for SIGTERM, 129 for SIGHUP) follows when the command
// returns. A second signal, or the deadline while the call has not stopped, exits at once (the row
// is then left pending and recovered as interrupted).
let interrupts = 0;
function stop(signal: StopSignal): void {
  // Nothing is left to stop or to report: a signal now only ends the wait for those handles.
  if (commandReturned) process.exit();
  interrupts += 1;
  // Read before the work is told to stop: it may end (and forget its options) at once.
  const note = stoppingNote();
  const cancelling = hasCancellableWork();
  const cancelled = interrupts === 1 && interruptCancellable(signal);
  // A streamed answer cut short: the note below, and the terminal's prompt after the exit, start on
  // their own line, and stdout ends with a newline (a script's last `read` gets the partial line).
  endOpenLines(!stdoutClosed);
  if (cancelled) {
    writeDiagnostic(
      'warn',
      signal === 'SIGINT'
        ? `interrupted: ${note} (Ctrl-C again to quit at once)`
        : signal === 'SIGHUP'
          ? `hung up: ${note} (SIGTERM to quit at once)`
          : `terminated: ${note} (SIGTERM again to quit at once)`,
    );
    atDeadline(() => {
      writeDiagnostic('error', reportStoppedAtOnce(signal, true));
      process.exit(exitCodeFor(signal));
    });
    return;
  }
  // One line saying what was stopped and what it left; `--json` still gets its one document (the command had not printed it).
  writeDiagnostic('error', reportStoppedAtOnce(signal, interrupts > 1 || cancelling));
  process.exit(exitCodeFor(signal));
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => {
  // Commands that drain on SIGTERM (`serve`, `engine serve`, `mcp`) listen for it themselves; a
  // dependency's listener (signal-exit) is no such command's and stops nothing.
  if (interrupts === 0 && !hasCancellableWork() && stopsOnSigtermItself() && process.listenerCount('SIGTERM') > 1) return;
  stop('SIGTERM');
});
process.on('SIGHUP', () => {
  // `serve` re-reads its policy and token on it; `engine serve` and `mcp` drain on the first.
  if (leavesHangupToCommand()) return;
  // A closed terminal may send more than one (the shell passes its hangup on to its jobs, and the
  // kernel hangs up the foreground group as the shell exits): the first one stops the command, and
  // the deadline bounds the wait, not a second hangup.
  if (interrupts > 0 && !commandReturned) return;
  stop('SIGHUP');
});

if (asksForVersion(process.argv.slice(2))) {
  const { syndicateVersion } = await import('../common/version.js');
  // `--json` is a program option: it asks for the one document here too (a script's `jq -r .version`).
  const words = process.argv.slice(2);
  const json = words.slice(0, words.includes('--') ? words.indexOf('--') : undefined).includes('--json');
  process.stdout.write(json ? `${JSON.stringify({ ok: true, version: syndicateVersion() }, null, 2)}\n` : `${syndicateVersion()}\n`);
} else {
  const { runProgram } = await import('./program.js');
  const exitCode = await runProgram(process.argv);
  process.exitCode = interruptedExitCode() ?? exitCode;
  commandReturned = true;
  if (deadlinePassed) process.exit();
}
