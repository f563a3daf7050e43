import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseJsonDocument, runCli } from '../helpers/cli.js';

/** syndicate as a shell script or CI job uses it: several commands at once, `--json` everywhere, exit codes checked. */

describe('commands started together on a home no command has created yet', () => {
  const parent = mkdtempSync(join(tmpdir(), 'syndicate-scripting-'));
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it('every parallel `init` exits 0 (they used to race applying the migrations: "table providers already exists", exit 6)', { timeout: 90_000 }, async () => {
    for (let round = 0; round < 5; round += 1) {
      const home = join(parent, `home-${round}`);
      const results = await Promise.all(Array.from({ length: 4 }, () => runCli(['--json', 'init'], { home, timeoutMs: 60_000 })));
      for (const result of results) {
        expect(result.exitCode, result.stdout).toBe(0);
        expect(parseJsonDocument(result.stdout).ok).toBe(true);
      }
      expect(readdirSync(home).sort()).toEqual(expect.arrayContaining(['gateway.token', 'permit.key', 'policy.yaml', 'syndicate.db']));
      const doctor = await runCli(['--json', 'doctor'], { home });
      expect(doctor.exitCode, doctor.stdout).toBe(0);
    }
  });
});
