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
  return !isZombie(pid);
}

/** Linux: the state in /proc/PID/stat is Z (zombie) or X (dead); elsewhere (no /proc) false. */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // `pid (comm) state …`: comm may itself hold spaces and parentheses, so read after the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}
