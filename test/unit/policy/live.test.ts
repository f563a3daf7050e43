import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_YAML } from '../../../src/policy/default-policy.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { FILE_RECHECK_MS } from '../../../src/common/polled-file.js';
import { LivePolicy, type PolicyChange } from '../../../src/policy/live.js';
import { loadPolicy } from '../../../src/policy/load.js';

let dir: string;
let path: string;
let clock: number;
let changes: PolicyChange[];
let stamp = 1_700_000_000;

/** Writes the file with a new mtime (two writes within one clock tick would otherwise look alike). */
function save(text: string): void {
  writeFileSync(path, text);
  stamp += 10;
  utimesSync(path, stamp, stamp);
}

const localOnlyPublic = DEFAULT_POLICY_YAML.replace('public: [local, approved_hosted, restricted_hosted]', 'public: [local]').replace('internal: [local, approved_hosted]', 'internal: [local]');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'syndicate-live-policy-'));
  path = join(dir, 'policy.yaml');
  save(DEFAULT_POLICY_YAML);
  clock = 0;
  changes = [];
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

const live = (): LivePolicy => new LivePolicy(path, loadPolicy(path), { onChange: (change) => changes.push(change), now: () => clock });

describe('LivePolicy', () => {
  it('follows an edit within the recheck interval, not before', () => {
    const policy = live();
    save(localOnlyPublic);
    clock += FILE_RECHECK_MS - 1;
    expect(policy.current().policy.sensitivity.public).toEqual(['local', 'approved_hosted', 'restricted_hosted']);
    clock += 1;
    expect(policy.current()).toEqual({ policy: expect.objectContaining({ sensitivity: expect.objectContaining({ public: ['local'] }) }) });
    expect(changes).toEqual([{ kind: 'reloaded', source: 'file', path }]);
  });

  it('re-reads at once on checkNow (SIGHUP), and not at all when nothing changed', () => {
    const policy = live();
    policy.checkNow();
    expect(changes).toEqual([]);
    save(localOnlyPublic);
    policy.checkNow();
    expect(policy.current().policy.sensitivity.public).toEqual(['local']);
  });

  it('fails closed on an invalid edit: the last valid policy, local only, with the first problem named; a fix lifts it', () => {
    const policy = live();
    save(localOnlyPublic);
    policy.checkNow();
    save(DEFAULT_POLICY_YAML.replace('public: [local, approved_hosted, restricted_hosted]', 'public: [everywhere]'));
    policy.checkNow();
    const current = policy.current();
    expect(current.policy.sensitivity.public).toEqual(['local']);
    expect(current.failure).toMatch(/policy\.yaml changed and is not a valid policy \(\/sensitivity\/public\/0 .*\); until it is fixed the last valid policy applies, to local providers only$/);
    expect(changes.at(-1)).toMatchObject({ kind: 'invalid', path });
    save('apiVersion: syndicate/v1\nkind: Policy\nsensitivity: [unclosed\n');
    policy.checkNow();
    expect(policy.current().failure).toContain('not a valid policy');
    save(DEFAULT_POLICY_YAML);
    policy.checkNow();
    expect(policy.current()).toEqual({ policy: defaultPolicy() });
  });

  it('fails closed on an edit adding a pattern that can backtrack catastrophically: requests stay local', () => {
    const policy = live();
    save(DEFAULT_POLICY_YAML.replace('patterns: []', 'patterns:\n  - {name: redos, level: internal, regex: "(a+)+$"}'));
    policy.checkNow();
    const current = policy.current();
    expect(current.policy.patterns).toEqual([]);
    expect(current.failure).toMatch(/changed and is not a valid policy \(\/patterns\/0\/regex pattern "redos" can backtrack catastrophically.*\); until it is fixed the last valid policy applies, to local providers only$/);
    expect(changes.at(-1)).toMatchObject({ kind: 'invalid', path });
  });

  it('fails closed when the file disappears while running (an editor deleting before it writes), until it is back', () => {
    save(localOnlyPublic);
    const policy = live();
    rmSync(path);
    policy.checkNow();
    expect(policy.current()).toEqual({
      policy: expect.objectContaining({ sensitivity: expect.objectContaining({ public: ['local'] }) }),
      failure: `${path} was removed; until it is back the last valid policy applies, to local providers only`,
    });
    expect(changes).toEqual([{ kind: 'invalid', path, error: expect.any(Error) }]);
    save(localOnlyPublic);
    policy.checkNow();
    expect(policy.current().failure).toBeUndefined();
  });
});
