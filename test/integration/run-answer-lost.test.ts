import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../helpers/cli.js';
import { registeredEngineScenario } from '../helpers/scenario.js';

/**
 * A `run` whose call ended but whose stdout reader was gone when it printed the answer (`syndicate
 * run … --no-stream | head -1` with a long answer, a reader that died) exited 0: the answer was lost
 * and a script took it as delivered. It exits 141 as a streamed answer cut short does, saying where
 * the answer is kept; the call stays recorded as completed.
 */
describe('run: stdout whose reader is gone when the answer is printed', () => {
  const setup = registeredEngineScenario('local', { kind: 'ollama' });

  for (const words of [['run', 'hello', '--no-stream'], ['--json', 'run', 'hello']]) {
    it(`${words.join(' ')}: exit 141 naming the evidence that keeps the answer, the call recorded`, { timeout: 90_000 }, async () => {
      const { scenario } = setup;
      const child = execa('node', [BIN, ...words], { cwd: REPO_ROOT, env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1', FORCE_COLOR: '0' }, reject: false, stdin: 'ignore' });
      // The reader goes away before the answer comes (the process takes far longer to start than this).
      child.stdout?.destroy();
      const ended = await child;
      expect(ended.exitCode, String(ended.stderr)).toBe(141);
      const { document } = await scenario.json(['evidence', 'list', '--limit', '1']);
      const [row] = document.evidence as Array<{ id: string; state: string }>;
      expect(row?.state).toBe('completed');
      expect(String(ended.stderr)).toContain(
        `error: stdout was closed (its reader went away) before the answer was all written\nhint: the call completed and its evidence ${row?.id} keeps the whole answer: \`syndicate evidence show ${row?.id}\`; read the whole output`,
      );
    });
  }

  it('a reader that reads it all: exit 0 as before', { timeout: 90_000 }, async () => {
    const ran = await setup.scenario.cli(['run', 'hello', '--no-stream']);
    expect(ran.exitCode, ran.stderr).toBe(0);
    expect(ran.stderr).not.toContain('error');
  });
});
