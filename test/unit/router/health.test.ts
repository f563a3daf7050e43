import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../src/errors.js';
import { HealthMonitor, residentFromOllama } from '../../../src/router/health.js';
import { provider } from './fixtures.js';

function fakeClock(start = 1_750_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let current = start;
  return { now: () => current, advance: (ms) => (current += ms) };
}

describe('HealthMonitor', () => {
  const ollama = provider({ id: 'ollama', baseUrl: 'http://127.0.0.1:11434/v1', engine: { kind: 'ollama' }, models: [{ id: 'llama3.2:3b' }, { id: 'qwen3:8b' }] });
  const llamacpp = provider({ id: 'llamacpp', baseUrl: 'http://127.0.0.1:8080/v1', engine: { kind: 'llama.cpp' }, models: [{ id: 'qwen-14b' }] });
  const hosted = provider({ id: 'anthropic', class: 'approved_hosted', baseUrl: 'https://api.anthropic.com' });

  it('probes local engines at baseUrl/models, never hosted ones, and reads Ollama residency from /api/ps', async () => {
    const calls: string[] = [];
    const monitor = new HealthMonitor({
      probe: async (url) => {
        calls.push(url);
        if (url.endsWith('/api/ps')) return { models: [{ name: 'llama3.2:3b', model: 'llama3.2:3b' }] };
        return { object: 'list', data: [] };
      },
    });
    const snapshot = await monitor.snapshot([ollama, llamacpp, hosted]);
    expect(calls.sort()).toEqual(['http://127.0.0.1:11434/api/ps', 'http://127.0.0.1:11434/v1/models', 'http://127.0.0.1:8080/v1/models']);
    expect(snapshot.ollama?.state).toBe('up');
    expect(snapshot.llamacpp?.state).toBe('up');
    expect(snapshot.anthropic).toBeUndefined();
    expect(await monitor.warmSnapshot([ollama, llamacpp, hosted])).toEqual({ ollama: ['llama3.2:3b'], llamacpp: ['qwen-14b'] });
  });

  it('reuses an observation within the TTL and probes again after it', async () => {
    const clock = fakeClock();
    let probes = 0;
    const monitor = new HealthMonitor({ now: clock.now, ttlMs: 5000, probe: async () => ((probes += 1), {}) });
    await monitor.snapshot([llamacpp]);
    clock.advance(4999);
    await monitor.snapshot([llamacpp]);
    expect(probes).toBe(1);
    clock.advance(2);
    await monitor.snapshot([llamacpp]);
    expect(probes).toBe(2);
  });

  it('concurrent snapshots share one probe per engine', async () => {
    let probes = 0;
    const monitor = new HealthMonitor({ probe: async () => ((probes += 1), await new Promise((resolve) => setTimeout(resolve, 20)), {}) });
    await Promise.all([monitor.snapshot([llamacpp]), monitor.snapshot([llamacpp]), monitor.warmSnapshot([llamacpp])]);
    expect(probes).toBe(1);
  });

  it('marks an unreachable engine down with the reason', async () => {
    const monitor = new HealthMonitor({
      probe: async (url) => {
        throw new UpstreamError(`${url} is unreachable: connection refused (is the engine running?)`, { code: 'engine_unreachable' });
      },
    });
    const snapshot = await monitor.snapshot([llamacpp]);
    expect(snapshot.llamacpp).toMatchObject({ state: 'down', reason: 'http://127.0.0.1:8080/v1/models is unreachable: connection refused (is the engine running?)' });
    expect(await monitor.warmSnapshot([llamacpp])).toEqual({});
  });

  it('a real unreachable engine is reported down within the probe timeout', async () => {
    const { createServer } = await import('node:net');
    // A listening socket that never answers HTTP: the probe must give up, not hang.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const port = (silent.address() as { port: number }).port;
    try {
      const stuck = provider({ id: 'stuck', baseUrl: `http://127.0.0.1:${port}/v1` });
      const monitor = new HealthMonitor({ probeTimeoutMs: 300 });
      const started = Date.now();
      const snapshot = await monitor.snapshot([stuck]);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(snapshot.stuck?.state).toBe('down');
      expect(snapshot.stuck?.reason).toContain('no answer within 300 ms');
    } finally {
      silent.close();
    }
  });

  it('hosted providers are up unless recently reported failing; the failure expires', async () => {
    const clock = fakeClock();
    const monitor = new HealthMonitor({ now: clock.now, hostedFailureTtlMs: 30_000, probe: async () => ({}) });
    monitor.reportFailure(hosted, 'HTTP 529 overloaded');
    expect((await monitor.snapshot([hosted])).anthropic).toMatchObject({ state: 'down', reason: 'HTTP 529 overloaded' });
    clock.advance(30_001);
    expect((await monitor.snapshot([hosted])).anthropic).toBeUndefined();
  });

  it('a success clears a reported failure and records the observed first-token time', async () => {
    const monitor = new HealthMonitor({ probe: async () => ({}) });
    monitor.reportFailure(hosted, 'timeout');
    monitor.reportSuccess(hosted, { firstTokenMs: 420 });
    expect((await monitor.snapshot([hosted])).anthropic).toMatchObject({ state: 'up', firstTokenMs: 420 });
  });

  it('a provider re-registered with a new base URL is probed afresh', async () => {
    const urls: string[] = [];
    const monitor = new HealthMonitor({ probe: async (url) => (urls.push(url), {}) });
    await monitor.snapshot([llamacpp]);
    const moved = provider({ id: 'llamacpp', baseUrl: 'http://127.0.0.1:9090/v1', engine: { kind: 'llama.cpp' } });
    await monitor.snapshot([moved]);
    expect(urls).toEqual(['http://127.0.0.1:8080/v1/models', 'http://127.0.0.1:9090/v1/models']);
  });
});

describe('residentFromOllama', () => {
  it('reads names, and a `:latest` name also as its bare name', () => {
    expect(residentFromOllama({ models: [{ name: 'mistral:latest', model: 'mistral:latest' }, { name: 'qwen3:8b' }] })).toEqual(['mistral:latest', 'mistral', 'qwen3:8b']);
  });

  it('anything else is unknown', () => {
    expect(residentFromOllama({ error: 'x' })).toBeUndefined();
    expect(residentFromOllama(null)).toBeUndefined();
  });
});
