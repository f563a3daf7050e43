import { interruptCancellable, wasInterrupted } from './interrupt.js';

/**
 * The entry point: the only place that sets the exit code or calls process.exit.
 * `--version` is answered before anything else loads, so it stays fast; every other command
 * line goes to the commander program in program.ts.
 */

const INTERRUPTED = 130;
/** How long a command told to stop on Ctrl-C may take to record that before the process exits anyway. */
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
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

// The first Ctrl-C during an invocation (`run`) cancels it, so its evidence is finished as
// cancelled by the caller; the exit (130) follows when the command returns. A second Ctrl-C, or
// the deadline, exits at once (the row is then left pending and recovered as interrupted).
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts += 1;
  if (interrupts === 1 && interruptCancellable()) {
    process.stderr.write('interrupted: recording the cancelled call (Ctrl-C again to quit at once)\n');
    setTimeout(() => process.exit(INTERRUPTED), INTERRUPT_DEADLINE_MS).unref();
    return;
  }
  process.stderr.write('interrupted\n');
  process.exit(INTERRUPTED);
});

if (asksForVersion(process.argv.slice(2))) {
  const { syndicateVersion } = await import('../common/version.js');
  process.stdout.write(`${syndicateVersion()}\n`);
} else {
  const { runProgram } = await import('./program.js');
  const exitCode = await runProgram(process.argv);
  process.exitCode = wasInterrupted() ? INTERRUPTED : exitCode;
}
