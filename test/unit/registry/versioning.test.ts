import { describe, expect, it } from 'vitest';
import type { ProviderRecord } from '../../../src/registry/types.js';
import { contentHash, describeChanges, diffRecords } from '../../../src/registry/versioning.js';

function record(overrides: Partial<ProviderRecord> = {}): ProviderRecord {
  return {
    apiVersion: 'syndicate/v1',
    kind: 'Provider',
    id: 'demo',
    class: 'local',
    wire: 'openai',
    baseUrl: 'http://127.0.0.1:11434/v1',
    models: [
      { id: 'a', contextWindow: 4096, capabilityClass: 'small', tags: ['chat'] },
      { id: 'b', contextWindow: 8192, capabilityClass: 'medium' },
    ],
    deviations: [],
    ...overrides,
  };
}

describe('contentHash', () => {
  it('is independent of key order and changes with any content change', () => {
    const base = record();
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as unknown as ProviderRecord;
    expect(contentHash(reordered)).toBe(contentHash(base));
    expect(contentHash(record({ description: 'x' }))).not.toBe(contentHash(base));
    expect(contentHash(base)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('diffRecords', () => {
  it('returns nothing for equal records', () => {
    expect(diffRecords(record(), record())).toEqual([]);
  });

  it('names each changed leaf with before and after', () => {
    const after = record({ baseUrl: 'http://127.0.0.1:11435/v1' });
    after.models[1] = { id: 'b', contextWindow: 16384, capabilityClass: 'medium' };
    expect(diffRecords(record(), after)).toEqual([
      { pointer: '/baseUrl', before: 'http://127.0.0.1:11434/v1', after: 'http://127.0.0.1:11435/v1' },
      { pointer: '/models/1/contextWindow', before: 8192, after: 16384 },
    ]);
  });

  it('reports added and removed fields and models', () => {
    const after = record({ description: 'new', models: [{ id: 'a', contextWindow: 4096, capabilityClass: 'small', tags: ['chat'] }] });
    expect(diffRecords(record(), after)).toEqual([
      { pointer: '/description', after: 'new' },
      { pointer: '/models/1', before: { id: 'b', contextWindow: 8192, capabilityClass: 'medium' } },
    ]);
  });

  it('treats a list of plain values as one change', () => {
    const before = record({ deviations: ['weak_json_adherence'] });
    const after = record({ deviations: ['approximate_token_counts', 'weak_json_adherence'] });
    expect(diffRecords(before, after)).toEqual([
      { pointer: '/deviations', before: ['weak_json_adherence'], after: ['approximate_token_counts', 'weak_json_adherence'] },
    ]);
  });
});

describe('describeChanges', () => {
  it('calls out a port change explicitly', () => {
    const changes = diffRecords(record(), record({ baseUrl: 'http://127.0.0.1:11435/v1' }));
    expect(describeChanges(changes)).toBe('base URL changed: http://127.0.0.1:11434/v1 → http://127.0.0.1:11435/v1 (port 11434 → 11435)');
  });

  it('calls out host and implicit-port changes, then the other pointers', () => {
    const before = record({ class: 'approved_hosted', baseUrl: 'http://127.0.0.1:8080/v1' });
    const after = record({ class: 'approved_hosted', baseUrl: 'https://llm.example.com/v1', description: 'moved' });
    expect(describeChanges(diffRecords(before, after))).toBe(
      'base URL changed: http://127.0.0.1:8080/v1 → https://llm.example.com/v1 (host 127.0.0.1 → llm.example.com, port 8080 → 443, scheme http → https); changed /description',
    );
  });

  it('names a class change and truncates long pointer lists', () => {
    const after = record({ class: 'approved_hosted' });
    expect(describeChanges(diffRecords(record(), after))).toBe('class changed: local → approved_hosted');
    const many = Array.from({ length: 8 }, (_, index) => ({ pointer: `/models/${index}/priority`, before: 1, after: 2 }));
    expect(describeChanges(many)).toBe('changed /models/0/priority, /models/1/priority, /models/2/priority, /models/3/priority, /models/4/priority, /models/5/priority and 2 more');
  });
});
