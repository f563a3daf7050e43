import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../src/errors.js';
import { callFailureOf, HealthMonitor, residentFromOllama } from '../../../src/router/health.js';
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
    // A single-model llama-server is also asked whether it sleeps (`/props`, see below).
    expect(calls.sort()).toEqual(['http://127.0.0.1:11434/api/ps', 'http://127.0.0.1:11434/v1/models', 'http://127.0.0.1:8080/props', 'http://127.0.0.1:8080/v1/models']);
    expect(snapshot.ollama?.state).toBe('up');
    expect(snapshot.llamacpp?.state).toBe('up');
    expect(snapshot.anthropic).toBeUndefined();
    expect(await monitor.warmSnapshot([ollama, llamacpp, hosted])).toEqual({ ollama: ['llama3.2:3b'], llamacpp: ['qwen-14b'] });
  });

  it('tells each change of a local engine once, not each probe: down where it was up, up where it was down; an engine up from the start is no news, one down from the start is', async () => {
    const clock = fakeClock();
    let answering = true;
    const monitor = new HealthMonitor({
      now: clock.now,
      probe: async () => {
        if (!answering) throw new UpstreamError('cannot reach 127.0.0.1:8080: connection refused (ECONNREFUSED)', { code: 'engine_unreachable', isRetryable: false });
        return { object: 'list', data: [] };
      },
    });
    const told: string[] = [];
    const stop = monitor.onEngineTransition((transition) => told.push(`${transition.provider} ${transition.state}${transition.first ? ' first' : ''} ${transition.baseUrl}${transition.reason === undefined ? '' : ` (${transition.reason})`}`));
    const probe = async (): Promise<void> => {
      clock.advance(6000);
      await monitor.snapshot([llamacpp, hosted]);
    };
    await probe();
    await probe();
    expect(told).toEqual([]);
    answering = false;
    await probe();
    await probe();
    monitor.reportFailure(llamacpp, { kind: 'unreachable', reason: 'connection refused' });
    expect(told).toEqual(['llamacpp down http://127.0.0.1:8080/v1 (cannot reach 127.0.0.1:8080: connection refused (ECONNREFUSED))']);
    answering = true;
    await probe();
    await probe();
    monitor.reportSuccess(llamacpp, { model: 'qwen-14b' });
    expect(told).toEqual(['llamacpp down http://127.0.0.1:8080/v1 (cannot reach 127.0.0.1:8080: connection refused (ECONNREFUSED))', 'llamacpp up http://127.0.0.1:8080/v1']);
    // A hosted provider's failures are not an engine's.
    monitor.reportFailure(hosted, { kind: 'unreachable', reason: 'connection refused' });
    expect(told).toHaveLength(2);
    // A monitor that first finds an engine down says so.
    const fresh = new HealthMonitor({ now: clock.now, probe: async () => Promise.reject(new UpstreamError('nothing', { code: 'engine_unreachable', isRetryable: false })) });
    const first: boolean[] = [];
    fresh.onEngineTransition((transition) => first.push(transition.first));
    await fresh.snapshot([llamacpp]);
    expect(first).toEqual([true]);
    stop();
  });

  it('a llama-server router is warm only for the models its listing says are loaded (a single-model server for all it serves)', async () => {
    const router = provider({ id: 'router', baseUrl: 'http://127.0.0.1:8081/v1', engine: { kind: 'llama.cpp' }, models: [{ id: 'tiny-a' }, { id: 'tiny-b' }] });
    const monitor = new HealthMonitor({
      probe: async () => ({
        data: [
          { id: 'tiny-a', status: { value: 'unloaded', args: [] } },
          { id: 'tiny-b', status: { value: 'loaded', args: [] } },
        ],
        object: 'list',
      }),
    });
    expect(await monitor.warmSnapshot([router])).toEqual({ router: ['tiny-b'] });
  });

  it('llama-swap is warm for the processes /running lists ready, LM Studio for the models /api/v0/models lists loaded; another answer leaves it unknown', async () => {
    const swap = provider({ id: 'swap', baseUrl: 'http://127.0.0.1:8090/v1', engine: { kind: 'llama-swap' }, models: [{ id: 'coder' }, { id: 'chat' }] });
    const studio = provider({ id: 'studio', baseUrl: 'http://127.0.0.1:1234/v1', engine: { kind: 'lmstudio' }, models: [{ id: 'qwen2.5-7b-instruct' }, { id: 'llama-3.2-3b-instruct' }] });
    const calls: string[] = [];
    const monitor = (answers: Record<string, unknown>) =>
      new HealthMonitor({
        probe: async (url) => {
          calls.push(url);
          const path = new URL(url).pathname;
          if (path in answers) return answers[path];
          if (path === '/v1/models') return { object: 'list', data: [] };
          throw new Error('404');
        },
      });
    // mostlygeek/llama-swap proxy/proxymanager.go listRunningProcessesHandler (a matrix also lists `starting`);
    // lmstudio-ai/docs 1_developer/2_rest/endpoints.mdx (`state: loaded | not-loaded`).
    const engines = monitor({
      '/running': { running: [{ cmd: 'llama-server --port 5800 -m /models/coder.gguf', description: '', model: 'coder', name: '', proxy: 'http://127.0.0.1:5800', state: 'ready', ttl: 0 }, { model: 'chat', state: 'starting' }] },
      '/api/v0/models': { object: 'list', data: [{ id: 'qwen2.5-7b-instruct', object: 'model', type: 'llm', state: 'loaded' }, { id: 'llama-3.2-3b-instruct', object: 'model', type: 'llm', state: 'not-loaded' }] },
    });
    expect(await engines.warmSnapshot([swap, studio])).toEqual({ swap: ['coder'], studio: ['qwen2.5-7b-instruct'] });
    expect(calls.sort()).toEqual(['http://127.0.0.1:1234/api/v0/models', 'http://127.0.0.1:1234/v1/models', 'http://127.0.0.1:8090/running', 'http://127.0.0.1:8090/v1/models']);
    expect(await monitor({ '/running': { running: [] }, '/api/v0/models': { object: 'list', data: [] } }).warmSnapshot([swap, studio])).toEqual({ swap: [], studio: [] });
    expect(await monitor({}).warmSnapshot([swap, studio])).toEqual({});
  });

  it('vLLM asleep (sleep mode, /is_sleeping true) answers but is cold; awake, or without sleep mode (404), it holds its model', async () => {
    const vllm = provider({ id: 'vllm', baseUrl: 'http://127.0.0.1:8000/v1', engine: { kind: 'vllm' }, models: [{ id: 'qwen' }] });
    const monitor = (sleeping: boolean | 'absent') =>
      new HealthMonitor({
        probe: async (url) => {
          if (url.endsWith('/is_sleeping')) {
            if (sleeping === 'absent') throw new Error('404');
            return { is_sleeping: sleeping };
          }
          return { object: 'list', data: [{ id: 'qwen' }] };
        },
      });
    expect(await monitor(true).warmSnapshot([vllm])).toEqual({ vllm: [] });
    expect(await monitor(false).warmSnapshot([vllm])).toEqual({ vllm: ['qwen'] });
    expect(await monitor('absent').warmSnapshot([vllm])).toEqual({ vllm: ['qwen'] });
  });

  it('a single-model llama-server asleep (--sleep-idle-seconds, /props is_sleeping true) answers but is cold; awake, or with /props unreadable, it holds its model', async () => {
    const monitor = (sleeping: boolean | 'unreadable') =>
      new HealthMonitor({
        probe: async (url) => {
          if (url.endsWith('/props')) {
            if (sleeping === 'unreadable') throw new Error('500');
            return { total_slots: 4, is_sleeping: sleeping };
          }
          return { object: 'list', data: [{ id: 'qwen-14b' }] };
        },
      });
    expect(await monitor(true).warmSnapshot([llamacpp])).toEqual({ llamacpp: [] });
    expect(await monitor(false).warmSnapshot([llamacpp])).toEqual({ llamacpp: ['qwen-14b'] });
    expect(await monitor('unreadable').warmSnapshot([llamacpp])).toEqual({ llamacpp: ['qwen-14b'] });
  });

  it('reuses an observation within the TTL and probes again after it', async () => {
    const clock = fakeClock();
    let probes = 0;
    const monitor = new HealthMonitor({ now: clock.now, ttlMs: 5000, probe: async (url) => ((probes += url.endsWith('/models') ? 1 : 0), {}) });
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
    const monitor = new HealthMonitor({ probe: async (url) => ((probes += url.endsWith('/models') ? 1 : 0), await new Promise((resolve) => setTimeout(resolve, 20)), {}) });
    await Promise.all([monitor.snapshot([llamacpp]), monitor.snapshot([llamacpp]), monitor.warmSnapshot([llamacpp])]);
    expect(probes).toBe(1);
  });

  it('an engine that answers its probe with an error (503 while loading, 401 without its key) is down but failing, not unreachable', async () => {
    const monitor = new HealthMonitor({
      probe: async (url) => {
        throw new UpstreamError(`${url} answered HTTP 503: {"error":{"message":"Loading model","type":"unavailable_error","code":503}}`, { status: 503, code: 'engine_error' });
      },
    });
    const snapshot = await monitor.snapshot([llamacpp]);
    expect(snapshot.llamacpp).toMatchObject({ state: 'down', cause: 'failing', status: 503, reason: expect.stringContaining('answered HTTP 503') });
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
      // Not timed (a loaded machine's scheduling is no bound): the snapshot ending at all, from a server
      // that never answers, is the probe giving up; the reason says after which timeouts (the product's
      // default, 1 s then 2 s, would read 2000 ms).
      const snapshot = await monitor.snapshot([stuck]);
      expect(snapshot.stuck?.state).toBe('down');
      // Asked twice: 300 ms, then twice as long.
      expect(snapshot.stuck?.reason).toContain('no answer within 600 ms');
    } finally {
      silent.close();
    }
  });

  it('an engine slow to answer its first probe (a busy host) is asked once more, given twice as long, and found up', async () => {
    const { createServer } = await import('node:http');
    let asked = 0;
    // The first probe is never answered (it was answered 5 s later: after the probe gave up, unless
    // this process stalled that long); the second at once.
    const slowOnce = createServer((_request, response) => {
      asked += 1;
      if (asked > 1) response.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
    });
    await new Promise<void>((resolve) => slowOnce.listen(0, '127.0.0.1', () => resolve()));
    const port = (slowOnce.address() as { port: number }).port;
    try {
      const busy = provider({ id: 'busy', baseUrl: `http://127.0.0.1:${port}/v1` });
      // The engine lives in this process: a stall of it past the second probe's time (400 ms here
      // before) leaves the second answer unread (a loaded shuffled run found it down); 2 s was a
      // margin, 4 s a wide one (the first probe's 2 s is what the test waits).
      const snapshot = await new HealthMonitor({ probeTimeoutMs: 2000 }).snapshot([busy]);
      expect(snapshot.busy?.state).toBe('up');
      expect(asked).toBe(2);
    } finally {
      slowOnce.closeAllConnections();
      slowOnce.close();
    }
  });

  it('a refused connection is not asked again', async () => {
    let probes = 0;
    const refused = new UpstreamError('http://127.0.0.1:9/v1/models is unreachable: connection refused (is the engine running?)', { code: 'engine_unreachable' });
    const monitor = new HealthMonitor({
      probe: async () => {
        probes += 1;
        throw refused;
      },
    });
    const snapshot = await monitor.snapshot([provider({ id: 'gone', baseUrl: 'http://127.0.0.1:9/v1' })]);
    expect(snapshot.gone?.state).toBe('down');
    expect(probes).toBe(1);
  });

  it('hosted providers are up unless reported unreachable; the failure expires', async () => {
    const clock = fakeClock();
    const monitor = new HealthMonitor({ now: clock.now, hostedFailureTtlMs: 30_000, probe: async () => ({}) });
    monitor.reportFailure(hosted, { kind: 'unreachable', reason: 'cannot reach api.anthropic.com: the name does not resolve (ENOTFOUND)' });
    expect((await monitor.snapshot([hosted])).anthropic).toMatchObject({ state: 'down', reason: 'cannot reach api.anthropic.com: the name does not resolve (ENOTFOUND)' });
    clock.advance(30_001);
    expect((await monitor.snapshot([hosted])).anthropic).toBeUndefined();
  });

  it('a success clears a reported failure and records the observed first-token time of its model', async () => {
    const monitor = new HealthMonitor({ probe: async () => ({}) });
    monitor.reportFailure(hosted, { kind: 'unreachable', reason: 'no connection to api.anthropic.com within 10000 ms' });
    monitor.reportSuccess(hosted, { model: 'claude-sonnet-4-5', firstTokenMs: 420 });
    expect((await monitor.snapshot([hosted])).anthropic).toBeUndefined();
    expect(monitor.firstTokenSnapshot([hosted])).toEqual({ anthropic: { 'claude-sonnet-4-5': 420 } });
  });

  it('keeps first tokens per model: two models of one engine never share a figure', () => {
    const monitor = new HealthMonitor({ probe: async () => ({}) });
    monitor.reportSuccess(ollama, { model: 'qwen3:8b', firstTokenMs: 2400 });
    monitor.reportSuccess(ollama, { model: 'llama3.2:3b', firstTokenMs: 90 });
    monitor.reportSuccess(ollama);
    expect(monitor.firstTokenSnapshot([ollama, llamacpp])).toEqual({ ollama: { 'qwen3:8b': 2400, 'llama3.2:3b': 90 } });
    // Re-registered at another address: another engine, nothing known of it yet.
    const moved = { ...ollama, record: { ...ollama.record, baseUrl: 'http://127.0.0.1:11435/v1' } };
    expect(monitor.firstTokenSnapshot([moved])).toEqual({});
    monitor.reportSuccess(moved, { model: 'qwen3:8b', firstTokenMs: 1800 });
    expect(monitor.firstTokenSnapshot([moved])).toEqual({ ollama: { 'qwen3:8b': 1800 } });
  });

  it('an engine reported unreachable is down at once, for the TTL, then probed again', async () => {
    const clock = fakeClock();
    let probes = 0;
    const monitor = new HealthMonitor({ now: clock.now, ttlMs: 5000, probe: async (url) => ((probes += url.endsWith('/models') ? 1 : 0), {}) });
    monitor.reportFailure(llamacpp, { kind: 'unreachable', reason: 'cannot reach 127.0.0.1:8080: connection refused (ECONNREFUSED)' });
    expect((await monitor.snapshot([llamacpp])).llamacpp).toMatchObject({ state: 'down', reason: 'cannot reach 127.0.0.1:8080: connection refused (ECONNREFUSED)' });
    expect((await monitor.snapshot([llamacpp])).llamacpp?.cause).toBeUndefined();
    expect(probes).toBe(0);
    clock.advance(5000);
    expect((await monitor.snapshot([llamacpp])).llamacpp?.state).toBe('up');
    expect(probes).toBe(1);
  });

  describe('a rate-limited provider', () => {
    const rateLimited = { kind: 'rate_limited', reason: 'anthropic answered HTTP 429: slow down', retryAfterSeconds: 7 } as const;

    it('is held back for exactly the Retry-After it sent, reported as rate-limited with the time left, not down', async () => {
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, probe: async () => ({}) });
      monitor.reportFailure(hosted, rateLimited);
      expect((await monitor.snapshot([hosted])).anthropic).toEqual({
        state: 'rate_limited',
        checkedAt: new Date(clock.now()).toISOString(),
        reason: 'anthropic answered HTTP 429: slow down',
        retryAfterMs: 7000,
      });
      clock.advance(1000);
      expect((await monitor.snapshot([hosted])).anthropic).toMatchObject({ state: 'rate_limited', retryAfterMs: 6000 });
      clock.advance(5999);
      expect((await monitor.snapshot([hosted])).anthropic).toMatchObject({ state: 'rate_limited', retryAfterMs: 1 });
      clock.advance(1);
      // Usable again at once: not held for the 30 s a hosted provider reported down would be.
      expect((await monitor.snapshot([hosted])).anthropic).toBeUndefined();
    });

    it('a local engine too: its probe still runs and says up, the hold ends with its Retry-After, not with the probe TTL', async () => {
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, ttlMs: 5000, probe: async () => ({}) });
      monitor.reportFailure(llamacpp, { ...rateLimited, retryAfterSeconds: 1.5 });
      expect((await monitor.snapshot([llamacpp])).llamacpp).toMatchObject({ state: 'rate_limited', retryAfterMs: 1500 });
      clock.advance(1500);
      expect((await monitor.snapshot([llamacpp])).llamacpp?.state).toBe('up');
      monitor.reportFailure(llamacpp, { ...rateLimited, retryAfterSeconds: 12 });
      clock.advance(6000);
      expect((await monitor.snapshot([llamacpp])).llamacpp).toMatchObject({ state: 'rate_limited', retryAfterMs: 6000 });
    });

    it('without a Retry-After is held back for the short default', async () => {
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, rateLimitDefaultMs: 2000, probe: async () => ({}) });
      monitor.reportFailure(hosted, { kind: 'rate_limited', reason: 'anthropic answered HTTP 429: slow down' });
      expect((await monitor.snapshot([hosted])).anthropic).toMatchObject({ state: 'rate_limited', retryAfterMs: 2000 });
      clock.advance(2000);
      expect((await monitor.snapshot([hosted])).anthropic).toBeUndefined();
    });

    it('a 429 does not count towards marking it down', async () => {
      const monitor = new HealthMonitor({ probe: async () => ({}) });
      for (let index = 0; index < 5; index += 1) monitor.reportFailure(hosted, { ...rateLimited, retryAfterSeconds: 0 });
      expect((await monitor.snapshot([hosted])).anthropic).toBeUndefined();
    });
  });

  describe('failed calls of an engine that answered (5xx, broken streams)', () => {
    const failed = (reason = 'llamacpp answered HTTP 500: boom') => ({ kind: 'error', reason }) as const;

    it('one or two leave it up; the third in a row within the TTL marks it down for the TTL, saying it is failing', async () => {
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, ttlMs: 5000, probe: async () => ({}) });
      monitor.reportFailure(llamacpp, failed());
      expect((await monitor.snapshot([llamacpp])).llamacpp?.state).toBe('up');
      clock.advance(1000);
      monitor.reportFailure(llamacpp, failed('the stream from llamacpp broke after the answer had started: reset'));
      expect((await monitor.snapshot([llamacpp])).llamacpp?.state).toBe('up');
      clock.advance(1000);
      monitor.reportFailure(llamacpp, failed('llamacpp answered HTTP 502: <html>'));
      expect((await monitor.snapshot([llamacpp])).llamacpp).toMatchObject({
        state: 'down',
        cause: 'failing',
        reason: '3 calls in a row failed; the last: llamacpp answered HTTP 502: <html>',
      });
      clock.advance(3000);
      // How long it stays out, for the hint ("syndicate tries it again in 2 s"); known() says the same without probing.
      expect((await monitor.snapshot([llamacpp])).llamacpp).toMatchObject({ state: 'down', retryAfterMs: 2000 });
      expect(monitor.known(llamacpp)).toMatchObject({ state: 'down', cause: 'failing', retryAfterMs: 2000 });
      clock.advance(1999);
      expect((await monitor.snapshot([llamacpp])).llamacpp?.state).toBe('down');
      clock.advance(1);
      // After the TTL the engine is probed again, as after any other failure.
      expect((await monitor.snapshot([llamacpp])).llamacpp?.state).toBe('up');
      // The count starts afresh: one more failure does not take it out again.
      monitor.reportFailure(llamacpp, failed());
      expect((await monitor.snapshot([llamacpp])).llamacpp?.state).toBe('up');
    });

    it('the hold keeps what the last call was, for the hint: its HTTP status (a hosted 401), or a connection reset', async () => {
      const monitor = new HealthMonitor({ probe: async () => ({}) });
      const refused = { kind: 'error', reason: 'anthropic answered HTTP 401: invalid x-api-key', status: 401, code: 'upstream_http_error' } as const;
      for (let call = 0; call < 3; call += 1) monitor.reportFailure(hosted, refused);
      expect((await monitor.snapshot([hosted])).anthropic).toMatchObject({ state: 'down', cause: 'failing', status: 401 });
      expect((await monitor.snapshot([hosted])).anthropic?.connectionReset).toBeUndefined();
      monitor.reportSuccess(hosted);
      const reset = { kind: 'error', reason: 'api.anthropic.com reset the connection before answering', code: 'upstream_reset' } as const;
      for (let call = 0; call < 3; call += 1) monitor.reportFailure(hosted, reset);
      expect((await monitor.snapshot([hosted])).anthropic).toMatchObject({ state: 'down', cause: 'failing', connectionReset: true });
      expect((await monitor.snapshot([hosted])).anthropic?.status).toBeUndefined();
    });

    it('a success resets the count', async () => {
      const monitor = new HealthMonitor({ probe: async () => ({}) });
      monitor.reportFailure(hosted, failed());
      monitor.reportFailure(hosted, failed());
      monitor.reportSuccess(hosted);
      monitor.reportFailure(hosted, failed());
      monitor.reportFailure(hosted, failed());
      expect((await monitor.snapshot([hosted])).anthropic).toBeUndefined();
      monitor.reportFailure(hosted, failed());
      expect((await monitor.snapshot([hosted])).anthropic).toMatchObject({ state: 'down', cause: 'failing' });
    });

    it('failures older than the TTL are forgotten', async () => {
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, hostedFailureTtlMs: 30_000, probe: async () => ({}) });
      monitor.reportFailure(hosted, failed());
      clock.advance(20_000);
      monitor.reportFailure(hosted, failed());
      clock.advance(20_000);
      monitor.reportFailure(hosted, failed());
      expect((await monitor.snapshot([hosted])).anthropic).toBeUndefined();
      clock.advance(5_000);
      monitor.reportFailure(hosted, failed());
      expect((await monitor.snapshot([hosted])).anthropic).toMatchObject({ state: 'down', reason: expect.stringMatching(/^3 calls in a row failed/) });
      clock.advance(30_000);
      expect((await monitor.snapshot([hosted])).anthropic).toBeUndefined();
    });
  });

  describe('a call that waited out the first-byte timeout (the engine accepted the connection and never answered)', () => {
    const hung = (host: string, timeoutMs = 120_000) =>
      callFailureOf(
        new UpstreamError(`${host} accepted the connection but sent no response within ${timeoutMs} ms`, { code: 'upstream_first_byte_timeout', details: { timeoutMs } }),
        undefined,
        'local',
      );
    /** A local engine hung on its completions whose model listing still answers: its probe always says up. */
    const listing = async () => ({ object: 'list', data: [{ id: 'qwen-14b' }] });

    it('holds the provider at once, as failing, for as long as the call waited (120 s), not the TTL: its probe answering in the meantime does not lift it', async () => {
      const clock = fakeClock();
      let probes = 0;
      const monitor = new HealthMonitor({ now: clock.now, ttlMs: 5000, probe: async (url) => ((probes += 1), listing()) });
      monitor.reportFailure(llamacpp, hung('127.0.0.1:8080'));
      expect((await monitor.snapshot([llamacpp])).llamacpp).toMatchObject({
        state: 'down',
        cause: 'failing',
        reason: '127.0.0.1:8080 accepted the connection but sent no response within 120000 ms',
        retryAfterMs: 120_000,
      });
      // 6 s later (an SDK's retry after a 5 s Retry-After): still held, with what is left of it, and not probed.
      clock.advance(6000);
      expect((await monitor.snapshot([llamacpp])).llamacpp).toMatchObject({ state: 'down', cause: 'failing', retryAfterMs: 114_000 });
      expect(monitor.holds([llamacpp])).toEqual([{ provider: 'llamacpp', state: 'down', retryAfterMs: 114_000 }]);
      expect(probes).toBe(0);
      clock.advance(113_999);
      expect((await monitor.snapshot([llamacpp])).llamacpp?.retryAfterMs).toBe(1);
      // The hold over, it is probed and tried again; a second hang holds it as long again.
      clock.advance(1);
      expect((await monitor.snapshot([llamacpp])).llamacpp?.state).toBe('up');
      monitor.reportFailure(llamacpp, hung('127.0.0.1:8080'));
      expect((await monitor.snapshot([llamacpp])).llamacpp).toMatchObject({ state: 'down', cause: 'failing', retryAfterMs: 120_000 });
    });

    it('a probe that was under way when the call failed does not lift the hold with its answer', async () => {
      const clock = fakeClock();
      let answer: () => void = () => undefined;
      const answered = new Promise<void>((resolve) => (answer = resolve));
      const monitor = new HealthMonitor({ now: clock.now, ttlMs: 5000, probe: async () => (await answered, listing()) });
      const probing = monitor.snapshot([llamacpp]);
      monitor.reportFailure(llamacpp, hung('127.0.0.1:8080'));
      answer();
      expect((await probing).llamacpp).toMatchObject({ state: 'down', cause: 'failing', retryAfterMs: 120_000 });
    });

    it('a real call that succeeds lifts the hold before its end', async () => {
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, ttlMs: 5000, probe: listing });
      monitor.reportFailure(llamacpp, hung('127.0.0.1:8080'));
      clock.advance(6000);
      monitor.reportSuccess(llamacpp, { model: 'qwen-14b' });
      expect((await monitor.snapshot([llamacpp])).llamacpp?.state).toBe('up');
      expect(monitor.holds([llamacpp])).toEqual([]);
    });

    it('as long as the timeout it waited out: a shorter one (provider test --timeout) never holds for less than the TTL', async () => {
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, ttlMs: 5000, probe: listing });
      monitor.reportFailure(llamacpp, hung('127.0.0.1:8080', 30_000));
      expect(monitor.known(llamacpp)).toMatchObject({ state: 'down', retryAfterMs: 30_000 });
      monitor.reportSuccess(llamacpp);
      monitor.reportFailure(llamacpp, hung('127.0.0.1:8080', 300));
      expect(monitor.known(llamacpp)).toMatchObject({ state: 'down', retryAfterMs: 5000 });
    });

    it('a longer one (provider test --timeout 10m) holds no longer than the timeout every other call waits (120 s first byte, 60 s idle)', async () => {
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, ttlMs: 5000, probe: listing });
      monitor.reportFailure(llamacpp, hung('127.0.0.1:8080', 600_000));
      expect(monitor.known(llamacpp)).toMatchObject({ state: 'down', retryAfterMs: 120_000 });
      monitor.reportSuccess(llamacpp);
      const stalled = new UpstreamError('127.0.0.1:8080 sent nothing for 600000 ms in the middle of the response (512 bytes received)', { code: 'upstream_idle_timeout', details: { timeoutMs: 600_000 } });
      monitor.reportFailure(llamacpp, callFailureOf(stalled, undefined, 'local'));
      expect(monitor.known(llamacpp)).toMatchObject({ state: 'down', retryAfterMs: 60_000 });
    });

    it('a call that stopped for the idle timeout in the middle of its answer holds the provider as long (60 s), at once', async () => {
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, ttlMs: 5000, probe: listing });
      const stalled = new UpstreamError('127.0.0.1:8080 sent nothing for 60000 ms in the middle of the response (512 bytes received)', { code: 'upstream_idle_timeout', details: { timeoutMs: 60_000 } });
      monitor.reportFailure(llamacpp, callFailureOf(stalled, undefined, 'local'));
      clock.advance(6000);
      expect((await monitor.snapshot([llamacpp])).llamacpp).toMatchObject({ state: 'down', cause: 'failing', retryAfterMs: 54_000 });
    });

    it('a hosted provider too, as long as the call waited; a 5xx after as long still fails only its call', async () => {
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, hostedFailureTtlMs: 30_000, probe: listing });
      monitor.reportFailure(hosted, hung('api.anthropic.com'));
      expect(monitor.known(hosted)).toMatchObject({ state: 'down', cause: 'failing', retryAfterMs: 120_000 });
      clock.advance(31_000);
      expect(monitor.known(hosted)).toMatchObject({ state: 'down', retryAfterMs: 89_000 });
      clock.advance(89_000);
      monitor.reportFailure(hosted, { kind: 'error', reason: 'anthropic answered HTTP 500: boom', status: 500, code: 'upstream_http_error' });
      expect((await monitor.snapshot([hosted])).anthropic).toBeUndefined();
    });
  });

  describe('per model: failures that say they concern the model asked for', () => {
    const claude = provider({ id: 'claude', class: 'approved_hosted', baseUrl: 'https://api.anthropic.com', models: [{ id: 'claude-opus-4-1' }, { id: 'claude-haiku-4-5' }] });
    const limited = { kind: 'rate_limited', reason: 'claude answered HTTP 429: rate_limit_error', retryAfterSeconds: 7, scope: 'model' } as const;
    const overloaded = { kind: 'error', reason: 'claude answered HTTP 529: Overloaded', scope: 'model' } as const;

    it('a 429 of one model holds back that model alone, for exactly its Retry-After; the provider and its other models stay routable', async () => {
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, probe: async () => ({}) });
      monitor.reportFailure(claude, limited, 'claude-opus-4-1');
      expect(monitor.known(claude)).toBeUndefined();
      expect((await monitor.snapshot([claude])).claude).toBeUndefined();
      expect(monitor.knownModels(claude)).toEqual({
        'claude-opus-4-1': { state: 'rate_limited', checkedAt: new Date(clock.now()).toISOString(), reason: 'claude answered HTTP 429: rate_limit_error', retryAfterMs: 7000 },
      });
      expect(monitor.modelSnapshot([claude, ollama])).toEqual({ claude: { 'claude-opus-4-1': expect.objectContaining({ state: 'rate_limited', retryAfterMs: 7000 }) } });
      clock.advance(6999);
      expect(monitor.knownModels(claude)['claude-opus-4-1']).toMatchObject({ retryAfterMs: 1 });
      // Another model's answer does not lift the hold: the limit is the model's.
      monitor.reportSuccess(claude, { model: 'claude-haiku-4-5', firstTokenMs: 300 });
      expect(monitor.knownModels(claude)['claude-opus-4-1']?.state).toBe('rate_limited');
      clock.advance(1);
      expect(monitor.knownModels(claude)).toEqual({});
      expect(monitor.modelSnapshot([claude])).toEqual({});
    });

    it('an account-wide 429, nothing answering and unrecognised failures stay provider-wide even when the model is known', async () => {
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, probe: async () => ({}) });
      monitor.reportFailure(claude, { ...limited, scope: 'provider' }, 'claude-opus-4-1');
      expect(monitor.known(claude)).toMatchObject({ state: 'rate_limited', retryAfterMs: 7000 });
      expect(monitor.knownModels(claude)).toEqual({});
      clock.advance(7000);
      monitor.reportFailure(claude, { kind: 'unreachable', reason: 'cannot reach api.anthropic.com: ECONNREFUSED' }, 'claude-opus-4-1');
      expect(monitor.known(claude)).toMatchObject({ state: 'down' });
      expect(monitor.knownModels(claude)).toEqual({});
      clock.advance(30_000);
      // 5xx of one model without an overload said: three in a row, whichever models, take the provider out.
      for (const model of ['claude-opus-4-1', 'claude-opus-4-1', 'claude-haiku-4-5']) monitor.reportFailure(claude, { kind: 'error', reason: 'claude answered HTTP 500', scope: 'provider' }, model);
      expect(monitor.known(claude)).toMatchObject({ state: 'down', cause: 'failing' });
      expect(monitor.knownModels(claude)).toEqual({});
    });

    it('without the model, a model-scoped failure holds back the provider (nothing narrower is known)', () => {
      const monitor = new HealthMonitor({ probe: async () => ({}) });
      monitor.reportFailure(claude, limited);
      expect(monitor.known(claude)).toMatchObject({ state: 'rate_limited' });
    });

    it('a model its provider says does not exist is out at once for the TTL (hosted 30 s, local 5 s), its provider not', async () => {
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, ttlMs: 5000, hostedFailureTtlMs: 30_000, probe: async () => ({}) });
      monitor.reportFailure(claude, { kind: 'model_not_found', reason: 'claude answered HTTP 404: model: claude-opus-4-1' }, 'claude-opus-4-1');
      monitor.reportFailure(ollama, { kind: 'model_not_found', reason: 'ollama answered HTTP 404: model "qwen3:8b" not found, try pulling it first' }, 'qwen3:8b');
      expect(monitor.knownModels(claude)).toEqual({
        'claude-opus-4-1': { state: 'down', cause: 'not_found', checkedAt: new Date(clock.now()).toISOString(), reason: 'claude answered HTTP 404: model: claude-opus-4-1', retryAfterMs: 30_000 },
      });
      expect(monitor.knownModels(ollama)).toMatchObject({ 'qwen3:8b': { state: 'down', cause: 'not_found', retryAfterMs: 5000 } });
      expect((await monitor.snapshot([ollama, claude])).ollama?.state).toBe('up');
      expect(monitor.known(claude)).toBeUndefined();
      clock.advance(5000);
      expect(monitor.knownModels(ollama)).toEqual({});
      expect(monitor.knownModels(claude)['claude-opus-4-1']).toMatchObject({ retryAfterMs: 25_000 });
      clock.advance(25_000);
      expect(monitor.knownModels(claude)).toEqual({});
    });

    it('holds() lists what is held out right now, providers and models, with the time left (what /metrics exports)', () => {
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, ttlMs: 5000, probe: async () => ({}) });
      expect(monitor.holds([claude, ollama])).toEqual([]);
      monitor.reportFailure(claude, limited, 'claude-opus-4-1');
      monitor.reportFailure(ollama, { kind: 'unreachable', reason: 'connection refused' }, 'qwen3:8b');
      clock.advance(1000);
      expect(monitor.holds([claude, ollama])).toEqual([
        { provider: 'claude', model: 'claude-opus-4-1', state: 'rate_limited', retryAfterMs: 6000 },
        { provider: 'ollama', state: 'down', retryAfterMs: 4000 },
      ]);
      clock.advance(4000);
      expect(monitor.holds([claude, ollama])).toEqual([{ provider: 'claude', model: 'claude-opus-4-1', state: 'rate_limited', retryAfterMs: 2000 }]);
    });

    it('an overloaded model (529) is counted on its own: the third in a row takes that model out, never the provider', () => {
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, hostedFailureTtlMs: 30_000, probe: async () => ({}) });
      monitor.reportFailure(claude, overloaded, 'claude-opus-4-1');
      monitor.reportFailure(claude, overloaded, 'claude-opus-4-1');
      // The other model answering resets the provider's count and its own, not the overloaded model's.
      monitor.reportSuccess(claude, { model: 'claude-haiku-4-5' });
      expect(monitor.knownModels(claude)).toEqual({});
      monitor.reportFailure(claude, overloaded, 'claude-opus-4-1');
      expect(monitor.knownModels(claude)).toEqual({
        'claude-opus-4-1': { state: 'down', cause: 'failing', checkedAt: new Date(clock.now()).toISOString(), reason: '3 calls in a row failed; the last: claude answered HTTP 529: Overloaded', retryAfterMs: 30_000 },
      });
      expect(monitor.known(claude)).toBeUndefined();
      clock.advance(30_000);
      expect(monitor.knownModels(claude)).toEqual({});
      // A success of the model itself starts its count afresh.
      monitor.reportFailure(claude, overloaded, 'claude-opus-4-1');
      monitor.reportFailure(claude, overloaded, 'claude-opus-4-1');
      monitor.reportSuccess(claude, { model: 'claude-opus-4-1' });
      monitor.reportFailure(claude, overloaded, 'claude-opus-4-1');
      expect(monitor.knownModels(claude)).toEqual({});
    });

    it('a model llama-swap could not start is held back alone at once: each further call would wait for another start attempt', () => {
      const swap = provider({ id: 'swap', class: 'local', baseUrl: 'http://127.0.0.1:8080/v1', models: [{ id: 'broken' }, { id: 'coder' }] });
      const clock = fakeClock();
      const monitor = new HealthMonitor({ now: clock.now, probe: async () => ({}) });
      const error = new UpstreamError('swap answered HTTP 502: unable to start process: health check timed out after 120s', { code: 'upstream_http_error', status: 502, condition: 'model_start_failed' });
      const failure = callFailureOf(error, 502, 'local');
      expect(failure).toEqual({ kind: 'error', reason: error.message, scope: 'model', atOnce: true, code: 'upstream_http_error', status: 502 });
      monitor.reportFailure(swap, failure, 'broken');
      expect(monitor.knownModels(swap)).toEqual({
        broken: { state: 'down', cause: 'failing', checkedAt: new Date(clock.now()).toISOString(), reason: error.message, retryAfterMs: 5000 },
      });
      expect(monitor.known(swap)).toBeUndefined();
    });

    it('a provider re-registered at another base URL starts with no model held', () => {
      const monitor = new HealthMonitor({ probe: async () => ({}) });
      monitor.reportFailure(claude, limited, 'claude-opus-4-1');
      const moved = { ...claude, record: { ...claude.record, baseUrl: 'https://proxy.example.com' } };
      expect(monitor.knownModels(moved)).toEqual({});
    });
  });

  it('a provider re-registered with a new base URL is probed afresh', async () => {
    const urls: string[] = [];
    const monitor = new HealthMonitor({ probe: async (url) => (url.endsWith('/models') && urls.push(url), {}) });
    await monitor.snapshot([llamacpp]);
    const moved = provider({ id: 'llamacpp', baseUrl: 'http://127.0.0.1:9090/v1', engine: { kind: 'llama.cpp' } });
    await monitor.snapshot([moved]);
    expect(urls).toEqual(['http://127.0.0.1:8080/v1/models', 'http://127.0.0.1:9090/v1/models']);
  });
});

describe('callFailureOf', () => {
  it('only a call nothing answered says the engine is unreachable', () => {
    const refused = new UpstreamError('cannot reach 127.0.0.1:8080: connection refused (ECONNREFUSED)', { code: 'upstream_unreachable' });
    const connectTimeout = new UpstreamError('no connection to 127.0.0.1:8080 within 10000 ms', { code: 'upstream_connect_timeout' });
    const resetBefore = new UpstreamError('127.0.0.1:8080 reset the connection before answering', { code: 'upstream_reset' });
    const resetDuring = new UpstreamError('127.0.0.1:8080 reset the connection in the middle of the response (120 bytes received)', { code: 'upstream_reset' });
    const http500 = new UpstreamError('llamacpp answered HTTP 500: boom', { code: 'upstream_http_error', status: 500 });
    const firstByte = new UpstreamError('127.0.0.1:8080 accepted the connection but sent no response within 60000 ms', { code: 'upstream_first_byte_timeout' });
    expect(callFailureOf(refused, undefined, 'local')).toEqual({ kind: 'unreachable', reason: refused.message, code: 'upstream_unreachable' });
    expect(callFailureOf(connectTimeout, undefined, 'local').kind).toBe('unreachable');
    expect(callFailureOf(resetBefore, undefined, 'local').kind).toBe('unreachable');
    // A hosted API accepted the connection and is never probed: one reset is one failed call, not a 30 s hold.
    expect(callFailureOf(resetBefore, undefined, 'approved_hosted')).toEqual({ kind: 'error', reason: resetBefore.message, scope: 'provider', code: 'upstream_reset' });
    expect(callFailureOf(refused, undefined, 'approved_hosted').kind).toBe('unreachable');
    expect(callFailureOf(resetDuring, 200, 'local')).toEqual({ kind: 'error', reason: resetDuring.message, scope: 'provider', code: 'upstream_reset', status: 200 });
    expect(callFailureOf(http500, 500, 'local').kind).toBe('error');
    expect(callFailureOf(firstByte, undefined, 'local').kind).toBe('error');
  });

  it('a 429 is a rate limit, with the wait the upstream asked for when it said one', () => {
    const withWait = new UpstreamError('claude answered HTTP 429: slow down', { code: 'upstream_rate_limited', status: 429, retryAfterSeconds: 7 });
    const withoutWait = new UpstreamError('claude answered HTTP 429: slow down', { code: 'upstream_rate_limited', status: 429 });
    const answered = { code: 'upstream_rate_limited', status: 429 };
    expect(callFailureOf(withWait, 429, 'local')).toEqual({ kind: 'rate_limited', reason: withWait.message, retryAfterSeconds: 7, scope: 'model', ...answered });
    expect(callFailureOf(withoutWait, 429, 'local')).toEqual({ kind: 'rate_limited', reason: withoutWait.message, scope: 'model', ...answered });
  });

  it('a 429 is the model’s own unless the answer says the account is exhausted; an overload and a missing model are the model’s; the rest the provider’s', () => {
    const accountLimited = new UpstreamError('openai answered HTTP 429: You exceeded your current quota', { code: 'upstream_rate_limited', status: 429, condition: 'account_limited' });
    const overloaded = new UpstreamError('claude answered HTTP 529: Overloaded', { code: 'upstream_http_error', status: 529, condition: 'model_overloaded' });
    const missing = new UpstreamError('ollama answered HTTP 404: model "qwen3:8b" not found, try pulling it first', { code: 'upstream_http_error', status: 404, condition: 'model_not_found' });
    const unauthorized = new UpstreamError('claude answered HTTP 401: invalid x-api-key', { code: 'upstream_http_error', status: 401 });
    const http500 = new UpstreamError('claude answered HTTP 500: Internal server error', { code: 'upstream_http_error', status: 500 });
    expect(callFailureOf(accountLimited, 429, 'local')).toMatchObject({ kind: 'rate_limited', scope: 'provider' });
    expect(callFailureOf(overloaded, 529, 'local')).toEqual({ kind: 'error', reason: overloaded.message, scope: 'model', code: 'upstream_http_error', status: 529 });
    expect(callFailureOf(missing, 404, 'local')).toEqual({ kind: 'model_not_found', reason: missing.message, code: 'upstream_http_error', status: 404 });
    expect(callFailureOf(unauthorized, 401, 'local')).toMatchObject({ kind: 'error', scope: 'provider' });
    expect(callFailureOf(http500, 500, 'local')).toMatchObject({ kind: 'error', scope: 'provider' });
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
