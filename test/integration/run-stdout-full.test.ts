import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../helpers/cli.js';
import { registeredEngineScenario } from '../helpers/scenario.js';

/**
 * `syndicate run --json > answer.json` on a full disk: the call was made, answered and recorded
 * before stdout refused the document. The error (exit 2, as for any stdout that cannot be written)
 * names the evidence that keeps the answer, as the exit 141 of a reader gone does: a script's log
 * is then all that says where the answer it paid for went.
 */
describe('run whose answered document cannot be written to stdout (a full disk)', () => {
  const setup = registeredEngineScenario('ollama', { kind: 'ollama' });

  it('exits 2 naming the evidence that keeps the answer (it named none: the answer was only findable by searching the evidence)', { timeout: 90_000 }, async () => {
    for (const words of [['run', 'hello', '--json'], ['run', 'hello', '--no-stream']]) {
      // The shell's redirection: the device itself is the process's stdout (not a pipe through the test).
      const ended = await execa('sh', ['-c', 'exec node "$0" "$@" > /dev/full', BIN, ...words], {
        cwd: REPO_ROOT,
        env: { SYNDICATE_HOME: setup.scenario.home, NO_COLOR: '1', FORCE_COLOR: '0' },
        reject: false,
        stdin: 'ignore',
      });
      expect(ended.exitCode, words.join(' ')).toBe(2);
      const named = /hint: stdout goes to a file or device that refuses the output: free space there, or redirect it elsewhere; the call completed and its evidence (ev_\w+) keeps the whole answer: `syndicate evidence show \1`$/.exec(String(ended.stderr));
      expect(named, String(ended.stderr)).not.toBeNull();
      expect(String(ended.stderr)).toContain('error: cannot write stdout: ENOSPC: no space left on device\n');
      const evidence = await setup.scenario.evidence(named?.[1] ?? '');
      expect(evidence.state).toBe('completed');
    }
  });
});
