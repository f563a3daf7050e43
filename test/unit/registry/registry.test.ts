import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, UsageError } from '../../../src/errors.js';
import { recordDiscoveredDeviations } from '../../../src/probes/discovery.js';
import { registerProviderFiles } from '../../../src/registry/register.js';
import {
  findProvider,
  getProviderVersion,
  listProviders,
  providerHistory,
  recordNewVersion,
  requireProvider,
  retireProvider,
} from '../../../src/registry/registry.js';
import { openStore, type Store } from '../../../src/store/store.js';

const RECORD = `apiVersion: syndicate/v1
kind: Provider
id: demo
wire: openai
baseUrl: http://127.0.0.1:11434/v1
models:
  - id: small
    contextWindow: 4096
    capabilityClass: small
`;

describe('registry', () => {
  let store: Store;
  let directory: string;

  beforeEach(() => {
    store = openStore(':memory:');
    directory = mkdtempSync(join(tmpdir(), 'syndicate-registry-'));
  });
  afterEach(() => {
    store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  function file(name: string, text: string): string {
    const path = join(directory, name);
    writeFileSync(path, text);
    return path;
  }

  it('registers v1, keeps identical content unchanged, and makes v2 on a port change', async () => {
    const path = file('demo.yaml', RECORD);
    const [first] = await registerProviderFiles(store, [path]);
    expect(first).toMatchObject({ id: 'demo', status: 'registered', version: 1, previousVersion: null, reason: 'registered', sourcePath: path });

    const [again] = await registerProviderFiles(store, [file('same.yaml', `# a comment changes nothing\n${RECORD.replace('id: demo\n', 'id: demo\nclass: local\ndeviations: []\n')}`)]);
    expect(again).toMatchObject({ status: 'unchanged', version: 1, reason: 'unchanged (v1)', contentHash: first?.contentHash });

    const [second] = await registerProviderFiles(store, [file('moved.yaml', RECORD.replace('11434', '11435'))]);
    expect(second).toMatchObject({ status: 'updated', version: 2, previousVersion: 1 });
    expect(second?.reason).toContain('port 11434 → 11435');
    expect(second?.changes).toEqual([{ pointer: '/baseUrl', before: 'http://127.0.0.1:11434/v1', after: 'http://127.0.0.1:11435/v1' }]);

    const history = providerHistory(store, 'demo');
    expect(history.map((version) => [version.version, version.record.baseUrl])).toEqual([
      [1, 'http://127.0.0.1:11434/v1'],
      [2, 'http://127.0.0.1:11435/v1'],
    ]);
    expect(getProviderVersion(store, 'demo', 1)?.record.baseUrl).toBe('http://127.0.0.1:11434/v1');
    expect(getProviderVersion(store, 'demo', 3)).toBeUndefined();
    expect(findProvider(store, 'demo')?.currentVersion).toBe(2);
  });

  it('a registration that leaves out discovered deviations names them; declared ones dropped by the operator are not named', async () => {
    const path = file('demo.yaml', `${RECORD}deviations: [unsupported_seed_control]\n`);
    await registerProviderFiles(store, [path]);
    const discovery = recordDiscoveredDeviations(store, 'demo', [{ deviation: 'weak_json_adherence', declared: false, source: 'json-mode', evidenceId: 'ev_json', detail: 'prose' }], { update: true });
    expect(discovery).toMatchObject({ updated: true, version: 2 });
    expect(findProvider(store, 'demo')?.record.deviations).toEqual(['weak_json_adherence', 'unsupported_seed_control']);

    // The original file again: v3 drops weak_json_adherence, which v2 added from a probe.
    const [again] = await registerProviderFiles(store, [path]);
    expect(again).toMatchObject({ status: 'updated', version: 3, droppedDiscoveries: [{ deviation: 'weak_json_adherence', addedInVersion: 2, source: 'probe:json-mode', evidenceId: 'ev_json' }] });
    // The operator's own deviation, removed from the file: nothing discovered it, nothing to say.
    const [edited] = await registerProviderFiles(store, [file('edited.yaml', RECORD)]);
    expect(edited).toMatchObject({ status: 'updated', version: 4 });
    expect(edited?.droppedDiscoveries).toBeUndefined();
  });

  it('registers several files all-or-nothing', async () => {
    const good = file('good.yaml', RECORD);
    const bad = file('bad.yaml', RECORD.replace('id: demo', 'id: other').replace('127.0.0.1', '192.168.1.20'));
    await expect(registerProviderFiles(store, [good, bad])).rejects.toThrow(InvalidInputError);
    expect(listProviders(store)).toEqual([]);
    // The second declaration is located as every other problem is (file:line:column), and so is the first one it names.
    const duplicate = await registerProviderFiles(store, [good, file('dup.yaml', `# the same provider, edited\n${RECORD.replace('small', 'other')}`)]).catch((caught: unknown) => caught);
    expect((duplicate as InvalidInputError).problems).toEqual([
      { file: join(directory, 'dup.yaml'), pointer: '/id', line: 4, column: 5, message: `provider id "demo" is also declared in ${good}:3:5`, hint: 'register one file per provider id in a batch' },
    ]);
    expect(listProviders(store)).toEqual([]);
  });

  it('collects the problems of every file into one error', async () => {
    const first = file('one.yaml', RECORD.replace('wire: openai', 'wire: soap'));
    const second = file('two.yaml', RECORD.replace('id: demo', 'id: two').replace('capabilityClass: small', 'capabilityClass: tiny'));
    const error = await registerProviderFiles(store, [first, second]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidInputError);
    const problems = (error as InvalidInputError).problems;
    expect(problems.map((problem) => [problem.file, problem.pointer])).toEqual([
      [first, '/wire'],
      [second, '/models/0/capabilityClass'],
    ]);
    expect((error as InvalidInputError).message).toBe('2 problems: 2 of 2 provider files are invalid; nothing was registered');
  });

  it('retires without deleting versions, and re-registering reactivates as a new version', async () => {
    await registerProviderFiles(store, [file('demo.yaml', RECORD)]);
    const retired = retireProvider(store, 'demo');
    expect(retired).toMatchObject({ id: 'demo', version: 1, alreadyRetired: false });
    expect(retireProvider(store, 'demo')).toMatchObject({ alreadyRetired: true, retiredAt: retired.retiredAt });
    expect(findProvider(store, 'demo')?.retiredAt).toBe(retired.retiredAt);
    expect(getProviderVersion(store, 'demo', 1)).toBeDefined();

    const [back] = await registerProviderFiles(store, [file('demo.yaml', RECORD)]);
    expect(back).toMatchObject({ status: 'reactivated', version: 2, reason: 're-registered after retirement', changes: [] });
    expect(findProvider(store, 'demo')?.retiredAt).toBeNull();
  });

  it('records a new version from code with its reason and changed pointers', async () => {
    await registerProviderFiles(store, [file('demo.yaml', RECORD)]);
    const current = requireProvider(store, 'demo');
    const outcome = recordNewVersion(store, 'demo', { ...current.record, deviations: ['weak_json_adherence'] }, 'probe discovered weak_json_adherence');
    expect(outcome).toMatchObject({ status: 'updated', version: 2, sourcePath: null });
    expect(outcome.reason).toBe('probe discovered weak_json_adherence (changed /deviations)');
    expect(getProviderVersion(store, 'demo', 2)?.changes).toEqual([{ pointer: '/deviations', before: [], after: ['weak_json_adherence'] }]);
    const same = recordNewVersion(store, 'demo', { ...current.record, deviations: ['weak_json_adherence'] }, 'again');
    expect(same).toMatchObject({ status: 'unchanged', version: 2 });
  });

  it('recordNewVersion refuses invalid records, literal keys and a move off loopback', async () => {
    await registerProviderFiles(store, [file('demo.yaml', RECORD)]);
    const { record } = requireProvider(store, 'demo');
    expect(() => recordNewVersion(store, 'demo', { ...record, models: [] }, 'x')).toThrow(InvalidInputError);
    const secret = (() => {
      try {
        recordNewVersion(store, 'demo', { ...record, description: 'sk-ant-api03-FAKEfakeFAKEfake0123' }, 'x');
      } catch (caught) {
        return caught as InvalidInputError;
      }
      return undefined;
    })();
    expect(secret?.problems.map((problem) => [problem.file, problem.pointer])).toEqual([['provider demo', '/description']]);
    expect(secret?.problems[0]?.message).toContain('literal credential refused');
    expect(() => recordNewVersion(store, 'demo', { ...record, baseUrl: 'http://10.1.1.1:11434/v1' }, 'x')).toThrow(InvalidInputError);
    expect(() => recordNewVersion(store, 'demo', { ...record, id: 'other' }, 'x')).toThrow(/does not match/);
    expect(providerHistory(store, 'demo')).toHaveLength(1);
  });

  it('an unknown id is a usage error listing the known ids', async () => {
    await registerProviderFiles(store, [file('demo.yaml', RECORD)]);
    const error = (() => {
      try {
        requireProvider(store, 'nope');
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).hint).toBe('known providers: demo');
    expect(() => retireProvider(store, 'nope')).toThrow(UsageError);
    // A typo (`provider show olama`) is named as one.
    expect(() => requireProvider(store, 'deno')).toThrow('unknown provider "deno" (did you mean "demo"?)');
  });
});
