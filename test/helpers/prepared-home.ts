import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { makeTempHome, runCli } from './cli.js';

let template: Promise<string> | undefined;

/**
 * A fresh data directory as `syndicate init` leaves it (store, policy, permit key, gateway token,
 * each mode 0600), copied from one that a real `syndicate init` made once in this test process:
 * for tests that need an initialised home but do not test `init` itself. Every copy holds the same
 * permit key and gateway token. Call the returned cleanup in afterEach/afterAll.
 */
export async function initialisedHome(prefix = 'syndicate-test-'): Promise<{ home: string; cleanup: () => void }> {
  template ??= initialiseTemplate();
  const source = await template;
  const copy = makeTempHome(prefix);
  for (const name of readdirSync(source)) cpSync(join(source, name), join(copy.home, name), { recursive: true });
  return copy;
}

async function initialiseTemplate(): Promise<string> {
  const { home, cleanup } = makeTempHome('syndicate-initialised-');
  process.once('exit', cleanup);
  const init = await runCli(['init'], { home });
  expect(init.exitCode, init.stderr).toBe(0);
  return home;
}
