import { readFileSync } from 'node:fs';

/**
 * True unless the pid certainly does not exist (EPERM means it exists but is not ours) or is a
 * zombie: a process killed (`kill -9`) whose parent has not reaped it yet still answers signal 0,
 * though it will never run again — a slow reaper (a container's init, a supervisor busy elsewhere)
 * kept its pending evidence rows from being recovered.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  const state = procStat(pid)?.state;
  return state !== 'Z' && state !== 'X';
}

/** `/proc/PID/stat`'s state (field 3), process group (field 5) and start time (field 22); undefined when there is no such file (gone, or no `/proc`). */
export function procStat(pid: number): { state: string; processGroup: number; startTicks: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', processGroup: Number(fields[2]), startTicks: Number(fields[19]) };
}
