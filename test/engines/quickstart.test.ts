import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

import { REPO_ROOT } from '../helpers/cli.js';

it('the README quickstart ends with real local answers, their evidence ids and a verified chain, and stops its engine', async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'syndicate-quickstart-'));
  try {
    const started = Date.now();
    const result = await execa('node', [join(REPO_ROOT, 'scripts', 'quickstart.mjs')], {
      env: { SYNDICATE_QUICKSTART_DIR: workDir, FORCE_COLOR: '0' },
      reject: false,
      all: true,
    });
    expect(result.exitCode, result.all).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    const output = result.all ?? '';
    // both prompts answered by the embedded engine, with exact token counts and evidence ids
    expect(output).toMatch(/embedded@v1 test-model · public · \d+\+\d+ tokens \(exact\) · .* · evidence ev_[0-9a-z]+/);
    expect(output).toMatch(/embedded@v1 test-model · restricted · \d+\+\d+ tokens \(exact\) · .* · evidence ev_[0-9a-z]+/);
    // the hosted provider was there and excluded for the restricted prompt
    expect(output).toContain('class approved_hosted may not receive restricted data');
    expect(output).toMatch(/evidence chain intact: 2 rows/);
    expect(output).toMatch(/2 answered: 2 local \(100\.0%\), 0 hosted/);
    expect(output).toContain('engine stopped');
    // and it ends with both answers and their evidence ids
    expect(output).toMatch(/public prompt answered locally by embedded:test-model, \d+\+\d+ tokens \(exact\): ".*" — evidence ev_[0-9a-z]+\nrestricted prompt answered locally by embedded:test-model, \d+\+\d+ tokens \(exact\): ".*" — evidence ev_[0-9a-z]+/);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});
