/**
 * The dates the gateway's model lists carry: Ollama's `modified_at` (`/api/tags`, `/api/show`),
 * OpenAI's `created` and Anthropic's `created_at` (`/v1/models`) are when the record that serves
 * the model was registered (its current version), the same time on every face. OllamaKit (the
 * Swift client of Enchanted and Ollamac) decodes Ollama's dates with `yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSSZZZZZ`
 * — as Ollama's Go server writes them, with fractional seconds — and its model list's `modifiedAt`
 * is required, so one date without them fails the whole list. A real gateway on loopback, raw fetch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerHistory } from '../../src/registry/registry.js';
import { registerTestProvider, startTestGateway, TEST_TOKEN, type TestGateway, type TestProvider } from '../unit/gateway/harness.js';

/** RFC 3339 with fractional seconds: what OllamaKit's date format takes (Go's RFC3339Nano keeps 1 to 9 digits). */
const OLLAMA_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}(?:Z|[+-]\d\d:\d\d)$/;

const ollama: TestProvider = {
  id: 'ollama',
  class: 'local',
  wire: 'openai',
  baseUrl: 'http://127.0.0.1:11434/v1',
  engine: 'ollama',
  models: [{ id: 'llama3.2:latest', aliases: ['small'] }],
};
const claude: TestProvider = { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: 'http://127.0.0.1:9', auth: true, models: [{ id: 'claude-sonnet-4-5-20250929', price: { inputPerMTok: 3, outputPerMTok: 15 } }] };

type Json = Record<string, any>;

let gateway: TestGateway;

const get = async (path: string, headers: Record<string, string> = {}): Promise<Json> => (await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${TEST_TOKEN}`, ...headers } })).json() as Promise<Json>;
const show = async (model: string): Promise<Json> =>
  (await fetch(`${gateway.url}/api/show`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ model }) })).json() as Promise<Json>;

/** When the current version of `providerId`'s record was registered. */
const registeredAt = (providerId: string): string => providerHistory(gateway.store, providerId).at(-1)!.createdAt;
const modifiedAt = (tags: Json, name: string): unknown => (tags['models'] as Json[]).find((model) => model['name'] === name)?.['modified_at'];

beforeAll(async () => {
  gateway = await startTestGateway({ providers: [claude, ollama] });
}, 90_000);

afterAll(async () => {
  await gateway?.close();
});

describe('model dates', () => {
  it('every /api/tags and /api/show date has fractional seconds, and is when the record serving the model was registered', async () => {
    const tags = await get('/api/tags');
    const dates = (tags['models'] as Json[]).map((model) => model['modified_at'] as string);
    expect(dates.length).toBeGreaterThan(0);
    for (const date of dates) expect(date).toMatch(OLLAMA_DATE);
    expect(modifiedAt(tags, 'ollama:llama3.2:latest')).toBe(registeredAt('ollama'));
    expect(modifiedAt(tags, 'small:latest')).toBe(registeredAt('ollama'));
    expect(modifiedAt(tags, 'claude:claude-sonnet-4-5-20250929')).toBe(registeredAt('claude'));
    // `auto` stands for every model: modified when the last of their records was.
    expect(modifiedAt(tags, 'auto:latest')).toBe([registeredAt('ollama'), registeredAt('claude')].sort().at(-1));
    expect((await show('small'))['modified_at']).toBe(registeredAt('ollama'));
    // A name routed but not listed (undated), too.
    expect((await show('claude-sonnet-4-5'))['modified_at']).toBe(registeredAt('claude'));
  });

  it('/v1/models gives the same time: OpenAI `created` in seconds, Anthropic `created_at`', async () => {
    const openai = await get('/v1/models');
    const created = (id: string): unknown => (openai['data'] as Json[]).find((model) => model['id'] === id)?.['created'];
    expect(created('ollama:llama3.2:latest')).toBe(Math.floor(Date.parse(registeredAt('ollama')) / 1000));
    expect(created('claude:claude-sonnet-4-5-20250929')).toBe(Math.floor(Date.parse(registeredAt('claude')) / 1000));
    const anthropic = await get('/v1/models?limit=100', { 'anthropic-version': '2023-06-01' });
    expect((anthropic['data'] as Json[]).find((model) => model['id'] === 'claude:claude-sonnet-4-5-20250929')?.['created_at']).toBe(registeredAt('claude'));
  });

  it('a record registered again moves the dates of its models, and only theirs', async () => {
    const before = await get('/api/tags');
    const since = Date.parse(registeredAt('ollama'));
    // A new version needs a later millisecond to be told apart.
    while (Date.now() <= since) await new Promise((resolve) => setImmediate(resolve));
    await registerTestProvider(gateway.store, { ...ollama, models: [{ id: 'llama3.2:latest', aliases: ['small', 'tiny'] }] });
    const after = await get('/api/tags');
    expect(Date.parse(registeredAt('ollama'))).toBeGreaterThan(since);
    expect(modifiedAt(after, 'ollama:llama3.2:latest')).toBe(registeredAt('ollama'));
    expect(modifiedAt(after, 'tiny:latest')).toBe(registeredAt('ollama'));
    expect(modifiedAt(after, 'claude:claude-sonnet-4-5-20250929')).toBe(modifiedAt(before, 'claude:claude-sonnet-4-5-20250929'));
    expect(modifiedAt(after, 'auto:latest')).toBe(registeredAt('ollama'));
  });
});
