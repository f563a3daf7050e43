import { execa, type Options } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'syndicate.js');
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  home?: string;
  /** Bytes for stdin (a string is written as UTF-8); stdin is closed at once without it. */
  input?: string | Uint8Array;
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
}

/** Runs the built CLI (`npm run build` first) as a real process, as an operator would. */
export async function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const execaOptions: Options = {
    reject: false,
    cwd: options.cwd ?? REPO_ROOT,
    env: {
      FORCE_COLOR: '0',
      NO_COLOR: '1',
      ...(options.home === undefined ? {} : { SYNDICATE_HOME: options.home }),
      ...options.env,
    },
    extendEnv: true,
    timeout: options.timeoutMs ?? 30_000,
    ...(options.input === undefined ? { stdin: 'ignore' } : { input: options.input }),
  };
  const result = await execa('node', [BIN, ...args], execaOptions);
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
  };
}

/** A fresh data directory; call the returned cleanup in afterEach/afterAll. */
export function makeTempHome(prefix = 'syndicate-test-'): { home: string; cleanup: () => void } {
  const home = mkdtempSync(join(tmpdir(), prefix));
  return { home, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

/** Parses stdout as exactly one JSON document (fails the test if anything else is there). */
export function parseJsonDocument(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout) as Record<string, unknown>;
}
