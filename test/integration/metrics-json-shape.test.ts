/** `metrics --json` against the README's table of its keys: every key the command prints is documented. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordModelLoad } from '../../src/engines/events.js';
import { openStore } from '../../src/store/store.js';
import { makeTempHome, parseJsonDocument, REPO_ROOT, runCli } from '../helpers/cli.js';
import { HOUR, MINUTE, seedMetricsStore } from '../unit/metrics/seed.js';

/** The rows of the README's `metrics --json` table: top-level key → the row's text. */
function documentedRows(): Map<string, string> {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('| key | what it holds |');
  expect(start, 'the README has a table of the keys of metrics --json').toBeGreaterThan(-1);
  const rows = new Map<string, string>();
  for (const line of readme.slice(start).split('\n').slice(2)) {
    const match = /^\| `([A-Za-z]+)` \|(.*)\|$/.exec(line);
    if (match === null) break;
    rows.set(match[1] as string, match[2] as string);
  }
  return rows;
}

/** Every key name under `value`, at any depth (array elements included). */
function keysUnder(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const element of value) keysUnder(element, into);
  else if (value !== null && typeof value === 'object') {
    for (const [key, member] of Object.entries(value)) {
      into.add(key);
      keysUnder(member, into);
    }
  }
  return into;
}

let home: string;
let cleanup: () => void;

beforeAll(async () => {
  ({ home, cleanup } = makeTempHome('syndicate-metrics-shape-'));
  expect((await runCli(['init'], { home })).exitCode).toBe(0);
  const store = openStore(join(home, 'syndicate.db'));
  const start = Date.now() - 3 * HOUR + 5 * MINUTE;
  seedMetricsStore(store, start);
  recordModelLoad(store, { providerId: 'ollama', model: 'llama3', loadMs: 1200, at: start + 15 * MINUTE });
  store.close();
});

afterAll(() => cleanup?.());

describe('metrics --json', () => {
  it('prints only keys the README documents, each in the row of its top-level key', async () => {
    const rows = documentedRows();
    const printed: Record<string, unknown>[] = [];
    // With a reference priced in tiers, and with one that is not priced at all (the warning), for one session.
    const policies = [
      'savings:\n  referenceModel: hosted:big\n  inputPerMTok: 3\n  outputPerMTok: 15\n  cachedInputPerMTok: 0.3\n  tiers:\n    - aboveInputTokens: 200000\n      inputPerMTok: 6\n      outputPerMTok: 22.5\n',
      'savings:\n  referenceModel: nowhere:model\n',
    ];
    for (const [index, savings] of policies.entries()) {
      writeFileSync(join(home, 'policy.yaml'), `apiVersion: syndicate/v1\nkind: Policy\n${savings}`);
      const result = await runCli(['--json', 'metrics', '--since', '3h', ...(index === 1 ? ['--session', 'sess-agent'] : [])], { home });
      expect(result.exitCode, result.stderr).toBe(0);
      printed.push((parseJsonDocument(result.stdout) as { metrics: Record<string, unknown> }).metrics);
    }
    const [tiered, warned] = printed as [Record<string, unknown>, Record<string, unknown>];
    // The seed reaches every optional part: a cold start, a model load, tiers, the warning, a session.
    expect((tiered['coldStarts'] as unknown[]).length).toBeGreaterThan(0);
    expect((tiered['loadTimes'] as unknown[]).length).toBeGreaterThan(0);
    expect(tiered['savings']).toHaveProperty('tiers');
    expect(tiered['savings']).toHaveProperty('cachedInputPerMTok', 0.3);
    expect(warned['savings']).toHaveProperty('warning');
    expect(warned['window']).toHaveProperty('session', 'sess-agent');

    for (const metrics of printed) {
      expect([...rows.keys()].sort()).toEqual(Object.keys(metrics).sort());
      for (const [key, value] of Object.entries(metrics)) {
        const row = rows.get(key) as string;
        for (const name of keysUnder(value)) expect(row, `README: \`${name}\` in the row of \`${key}\``).toContain(`\`${name}\``);
      }
    }
  }, 90_000);
});
