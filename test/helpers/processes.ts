import { readdirSync, readFileSync } from 'node:fs';

/** Pids of live processes (zombies left out) whose command line mentions `needle`: an engine and its model processes. */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // exited while listed
    }
  }
  return pids;
}

/**
 * Starts `syndicate run PROMPT --stream ARGS` in `home` and kills it with SIGKILL (no chance to
 * clean up) once it printed part of the answer: its evidence row is left `pending`, for the next
 * process to recover as `interrupted`. The engine must stream slowly enough for the run to be cut
 * mid-stream (a `slowStreamMs` fault). Resolves with the killed process's pid.
 */
export async function runKilledMidStream(home: string, prompt: string, args: string[] = []): Promise<number> {
  const { execa } = await import('execa');
  const { BIN, REPO_ROOT } = await import('./cli.js');
  const run = execa('node', [BIN, 'run', prompt, '--stream', ...args], { cwd: REPO_ROOT, env: { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' }, reject: false });
  await new Promise<void>((resolve) => run.stdout?.once('data', () => resolve()));
  run.kill('SIGKILL');
  const killed = await run;
  if (killed.signal !== 'SIGKILL') throw new Error(`the run ended before it was killed (exit ${String(killed.exitCode)}): ${String(killed.stderr)}`);
  return run.pid!;
}
