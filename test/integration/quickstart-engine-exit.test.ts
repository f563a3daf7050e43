import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';

import { REPO_ROOT } from '../helpers/cli.js';
import { writeFakeNodeLlamaCpp } from '../helpers/fake-node-llama-cpp.js';

/**
 * scripts/quickstart.mjs when its engine dies on its own, with the fake node-llama-cpp (no
 * download, no llama.cpp; the whole quickstart on the real engine is test/engines/quickstart.test.ts).
 * An engine killed by a signal has exitCode null, which the quickstart once took for "still
 * running": it then waited forever for a 'close' that had already happened and exited 0 in silence.
 */
const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

it.each([
  ['as soon as it is ready', /engine ready at \S+ \(pid (\d+),/],
  ['after the last step that needs it', /7\. the evidence/],
])('fails loudly (exit 1, cause on stderr) when the engine is killed %s', async (_when, trigger) => {
  const workDir = mkdtempSync(join(tmpdir(), 'syndicate-quickstart-'));
  directories.push(workDir);
  const engineDirectory = join(workDir, 'engine');
  writeFakeNodeLlamaCpp(engineDirectory);
  const quickstart = execa('node', [join(REPO_ROOT, 'scripts', 'quickstart.mjs')], {
    env: { SYNDICATE_QUICKSTART_DIR: join(workDir, 'walkthrough'), SYNDICATE_ENGINE_DIR: engineDirectory, FORCE_COLOR: '0' },
    reject: false,
    timeout: 60_000,
  });
  let stdout = '';
  let enginePid: number | undefined;
  let killed = false;
  quickstart.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    enginePid ??= Number(/engine ready at \S+ \(pid (\d+),/.exec(stdout)?.[1] ?? Number.NaN) || undefined;
    if (enginePid !== undefined && !killed && trigger.test(stdout)) {
      killed = true;
      try {
        process.kill(enginePid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  const result = await quickstart;
  expect(enginePid, stdout).toBeDefined();
  expect(result.exitCode, `${stdout}\n${String(result.stderr)}`).toBe(1);
  expect(String(result.stderr)).toContain(`quickstart: the engine (pid ${enginePid}) exited unexpectedly with signal SIGKILL`);
  expect(String(result.stderr)).toMatch(/quickstart failed: /);
  expect(stdout).not.toContain('done in');
}, 90_000);
