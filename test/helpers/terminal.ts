import { execa } from 'execa';
import { BIN } from './cli.js';

/**
 * The CLI on a real terminal: util-linux `script` gives the command a pseudo-terminal, as CI
 * runners that want colour and a developer's shell do. `stty cols` sizes it; left alone, a
 * pseudo-terminal whose creator has no terminal of its own reports 0 columns. `output` is what the
 * terminal received: stdout and stderr, interleaved.
 */
export async function onTerminal(command: string, options: { home: string; columns?: number; env?: Record<string, string> }): Promise<{ exitCode: number | undefined; timedOut: boolean; output: string }> {
  const sized = options.columns === undefined ? '' : `stty cols ${options.columns}; `;
  const result = await execa('script', ['-qec', `${sized}node ${BIN} ${command}`, '/dev/null'], {
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
    // The runner's own CI (set by .ci/run) or TERM must not decide what a test's terminal is.
    env: { SYNDICATE_HOME: options.home, NO_COLOR: undefined, FORCE_COLOR: undefined, CI: undefined, COLUMNS: undefined, TERM: 'xterm-256color', ...options.env },
  });
  return { exitCode: result.exitCode, timedOut: result.timedOut, output: String(result.stdout) };
}
