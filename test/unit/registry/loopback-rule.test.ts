import { describe, expect, it } from 'vitest';
import { loopbackProblems, loopbackProblemsWithoutResolving, normalizeProviderRecord } from '../../../src/registry/checks.js';
import type { ProviderRecord } from '../../../src/registry/types.js';

function local(baseUrl: string, providerClass: ProviderRecord['class'] = 'local'): ProviderRecord {
  return normalizeProviderRecord({
    apiVersion: 'syndicate/v1',
    kind: 'Provider',
    id: 'demo',
    class: providerClass,
    wire: 'openai',
    baseUrl,
    models: [{ id: 'm', contextWindow: 1, capabilityClass: 'small' }],
  });
}

describe('the local-class loopback rule', () => {
  it.each(['http://127.0.0.1:11434/v1', 'http://127.8.9.10:1/v1', 'http://localhost:8080/v1', 'http://[::1]:8000/v1'])('accepts %s', async (url) => {
    expect(await loopbackProblems(local(url), 'demo.yaml')).toEqual([]);
  });

  it.each([
    ['http://192.168.1.20:11434', '192.168.1.20 is not a loopback address'],
    ['http://10.0.0.5:8000/v1', '10.0.0.5 is not a loopback address'],
    ['http://0.0.0.0:8080/v1', '0.0.0.0 is not a loopback address'],
    ['http://[::]:8080/v1', ':: is not a loopback address'],
    ['http://workstation.tailnet:5000/v1', 'workstation.tailnet does not resolve on this host'],
  ])('refuses %s, naming the class rule and the fix', async (url, reason) => {
    const problems = await loopbackProblems(local(url), 'demo.yaml');
    expect(problems).toHaveLength(1);
    expect(problems[0]?.pointer).toBe('/baseUrl');
    expect(problems[0]?.message).toContain('class "local" requires a baseUrl on this host');
    expect(problems[0]?.message).toContain(reason);
    expect(problems[0]?.hint).toContain('register it with a hosted class');
  });

  it('does not apply to hosted classes', async () => {
    expect(await loopbackProblems(local('http://workstation.tailnet:5000/v1', 'restricted_hosted'), 'demo.yaml')).toEqual([]);
  });

  it('without DNS accepts only literal loopback, localhost, or the host already accepted', () => {
    expect(loopbackProblemsWithoutResolving(local('http://127.0.0.1:1/v1'), 'x')).toEqual([]);
    expect(loopbackProblemsWithoutResolving(local('http://localhost:1/v1'), 'x')).toEqual([]);
    expect(loopbackProblemsWithoutResolving(local('http://engine.internal:1/v1'), 'x', 'engine.internal')).toEqual([]);
    expect(loopbackProblemsWithoutResolving(local('http://engine.internal:1/v1'), 'x')).toHaveLength(1);
    expect(loopbackProblemsWithoutResolving(local('http://192.168.1.2:1/v1'), 'x', '127.0.0.1')).toHaveLength(1);
  });
});

describe('normalizeProviderRecord', () => {
  it('defaults the class to local, deviations to none, and drops trailing slashes', () => {
    const normalized = normalizeProviderRecord({
      apiVersion: 'syndicate/v1',
      kind: 'Provider',
      id: 'demo',
      wire: 'openai',
      baseUrl: 'http://127.0.0.1:8080/v1/',
      models: [{ id: 'm', contextWindow: 1, capabilityClass: 'small' }],
    });
    expect(normalized.class).toBe('local');
    expect(normalized.deviations).toEqual([]);
    expect(normalized.baseUrl).toBe('http://127.0.0.1:8080/v1');
  });

  it('orders deviations by the vocabulary so order in the file does not make a new version', () => {
    const normalized = normalizeProviderRecord({
      ...local('http://127.0.0.1:1/v1'),
      deviations: ['nonstandard_tool_call_serialization', 'approximate_token_counts'],
    });
    expect(normalized.deviations).toEqual(['approximate_token_counts', 'nonstandard_tool_call_serialization']);
  });
});
