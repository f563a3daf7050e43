/** `initializeHome` creates what is missing and reports what is wrong with what it kept. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveHome } from '../../../src/home/home.js';
import { initializeHome } from '../../../src/home/init.js';

let directory: string;
const uid = process.getuid?.() ?? 0;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'syndicate-init-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

describe('initializeHome', () => {
  it('creates a missing data directory 0700 and reports nothing on a fresh home', () => {
    const home = resolveHome({ home: join(directory, 'new') });
    const result = initializeHome(home);
    expect(statSync(home.dataDir).mode & 0o777).toBe(0o700);
    expect(result).toMatchObject({ problems: [], warnings: [] });
    expect(result.created).toHaveLength(4);
  });

  it('reports, and never changes, an existing directory group and others can write: a problem, as every command would refuse the home', () => {
    const chosen = join(directory, 'shared');
    mkdirSync(chosen);
    chmodSync(chosen, 0o777);
    const result = initializeHome(resolveHome({ home: chosen }));
    expect(statSync(chosen).mode & 0o777).toBe(0o777);
    expect(result.warnings).toEqual([]);
    expect(result.problems).toEqual([
      expect.objectContaining({ name: 'data directory', kind: 'directory', path: chosen, detail: expect.stringContaining('mode 0777'), hint: `\`chmod 700 ${chosen}\`` }),
    ]);
    // Fixed as the hint says: set up and usable, nothing left to report.
    chmodSync(chosen, 0o700);
    expect(initializeHome(resolveHome({ home: chosen }))).toMatchObject({ problems: [], warnings: [], created: [] });
  });

  it('reports kept files another user owns as problems (the owner rule, with an injected user)', () => {
    const home = resolveHome({ home: directory });
    initializeHome(home);
    const result = initializeHome(home, { userId: uid + 1 });
    expect(result.created).toEqual([]);
    expect(result.problems.map((problem) => problem.name).sort()).toEqual(['data directory', 'gateway token', 'permit key', 'policy file', 'store file permissions']);
    expect(result.warnings).toEqual([]);
  });

  it('reports a kept key that is readable by others or too short, and an invalid policy; creates the rest', () => {
    const home = resolveHome({ home: directory });
    writeFileSync(home.permitKeyPath, 'YWJj\n', { mode: 0o600 });
    writeFileSync(home.policyPath, 'apiVersion: syndicate/v1\nkind: Policy\nsensitivity: nonsense\n', { mode: 0o600 });
    const result = initializeHome(home);
    expect(result.created.sort()).toEqual([home.gatewayTokenPath, home.storePath].sort());
    expect(result.problems).toEqual([
      expect.objectContaining({ name: 'permit key', detail: expect.stringContaining('the permit key has 3 bytes') }),
      // The file itself: a bare `syndicate policy check` would read the default home's policy.
      expect.objectContaining({ name: 'policy file', hint: `run \`syndicate policy check ${home.policyPath}\` to list every problem` }),
    ]);
    writeFileSync(home.permitKeyPath, `${Buffer.alloc(32, 7).toString('base64')}\n`);
    chmodSync(home.permitKeyPath, 0o644);
    expect(initializeHome(home).problems[0]).toMatchObject({ name: 'permit key', detail: expect.stringContaining('readable by group or others') });
  });

  it('sets a kept store others could read to 0600, as every command opening it does, and says so as a warning (not a problem)', () => {
    const home = resolveHome({ home: directory });
    initializeHome(home);
    chmodSync(home.storePath, 0o644);
    const result = initializeHome(home);
    expect(result.problems).toEqual([]);
    expect(result.warnings).toEqual([
      {
        name: 'store file permissions',
        kind: 'file',
        path: home.storePath,
        detail: `${home.storePath} had mode 0644: group or others could read the prompts and responses in it; syndicate set it to 0600`,
        fixed: true,
      },
    ]);
    expect(statSync(home.storePath).mode & 0o777).toBe(0o600);
    expect(initializeHome(home).warnings).toEqual([]);
  });
});
