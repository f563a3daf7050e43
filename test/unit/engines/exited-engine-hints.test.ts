/**
 * The row of an engine syndicate started that has exited since (kept until the next `engine start`
 * or `stop`), or whose pid the system has given to another program: the hints never present it as
 * the running engine, say it exited and where its log is, and never send to its log for what
 * answers there now.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { engineDownHint, engineFailingHint } from '../../../src/engines/manage.js';
import { processStartTicks, type ManagedProcess } from '../../../src/engines/processes.js';
import { provider } from '../router/fixtures.js';

const launched = provider({ id: 'llamacpp', baseUrl: 'http://127.0.0.1:8080/v1', engine: { kind: 'llama.cpp', launch: { command: 'llama-server', readyPath: '/health' } } });
const row = (pid: number, startTicks?: number): ManagedProcess => ({
  providerId: 'llamacpp',
  pid,
  startedAt: '2026-12-07T20:00:00.000Z',
  command: ['llama-server'],
  logPath: '/data/engines/llamacpp.log',
  baseUrl: launched.record.baseUrl,
  ...(startTicks === undefined ? {} : { startTicks }),
});

describe('hints about an engine syndicate started that has exited', () => {
  it('a dead pid: the down hint says it exited, with its log, and to start it again', () => {
    const exited = spawnSync(process.execPath, ['-e', '']).pid!;
    expect(engineDownHint(launched, row(exited, 1))).toBe(
      `the engine syndicate started (pid ${exited}, 2026-12-07T20:00:00.000Z) has exited — its log: /data/engines/llamacpp.log; start it again: \`syndicate engine start llamacpp\``,
    );
    expect(engineDownHint(launched, null)).toBe('start it: `syndicate engine start llamacpp`');
  });

  it('a pid another program now has (it started at another time): not the engine — exited, and its log is not what answers there', () => {
    const ticks = processStartTicks(process.pid);
    if (ticks === undefined) return; // No /proc: a live pid is all there is to go by.
    const reused = row(process.pid, ticks + 1);
    expect(engineDownHint(launched, reused)).toMatch(/^the engine syndicate started \(pid \d+, .+\) has exited — its log: \/data\/engines\/llamacpp\.log; start it again/);
    expect(engineFailingHint(launched, reused)).toContain("read the engine's own log");
    // The same process, still alive: its own log.
    expect(engineFailingHint(launched, row(process.pid, ticks))).toContain('read its log (/data/engines/llamacpp.log)');
    expect(engineDownHint(launched, row(process.pid, ticks))).toMatch(/^syndicate started it \(pid \d+\) and it does not answer yet/);
  });
});
