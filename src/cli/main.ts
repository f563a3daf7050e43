import { readFileSync } from 'node:fs';

/**
 * The entry point: the only place that sets the exit code or calls process.exit.
 * `--version` is answered before anything else loads, so it stays fast; every other command
 * line goes to the commander program in program.ts.
 */

const INTERRUPTED = 130;

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

process.on('SIGINT', () => {
  process.stderr.write('interrupted\n');
  process.exit(INTERRUPTED);
});

if (asksForVersion(process.argv.slice(2))) {
  const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`${packageJson.version}\n`);
} else {
  const { runProgram } = await import('./program.js');
  process.exitCode = await runProgram(process.argv);
}
