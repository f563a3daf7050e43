/**
 * Whether text streamed to stdout (a model's answer) or stderr (its reasoning) left a line open.
 * Whatever is printed after a stream cut short — the note a Ctrl-C prints at once, the error after
 * it — starts on a line of its own (on a terminal both streams share the screen, and the shell's
 * prompt follows), and a partial answer still ends with a newline for a script reading stdout by
 * lines. No dependencies: the entry point loads it before any command.
 */
const open = { stdout: false, stderr: false };

/** Notes what was just streamed to `stream`. */
export function noteStreamed(stream: 'stdout' | 'stderr', text: string): void {
  if (text !== '') open[stream] = !text.endsWith('\n');
}

/** Ends the line streamed text left open on stdout (unless `stdout` is false: its reader went away) and on stderr. */
export function endOpenLines(stdout = true): void {
  if (open.stdout && stdout) process.stdout.write('\n');
  if (open.stderr) process.stderr.write('\n');
  open.stdout = false;
  open.stderr = false;
}
