import { describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { HealthMonitor } from '../../../src/router/health.js';
import { resolveMediaHosts, type HostLookup } from '../../../src/router/media-host-lookup.js';
import { routeRequest } from '../../../src/router/route-request.js';
import type { CanonicalRequest } from '../../../src/wire/canonical.js';
import { provider, textRequest } from './fixtures.js';

/**
 * The host names of a request's media URLs are resolved once, before planning (`routeRequest`),
 * so that a name pointing into this host's networks is refused like the address itself.
 */

/** A resolver answering from a table, counting what it was asked; a name not in it does not exist. */
function tableLookup(table: Record<string, string[]>): HostLookup & { asked: string[] } {
  const asked: string[] = [];
  const lookup = async (name: string): Promise<{ address: string }[]> => {
    asked.push(name);
    const addresses = table[name];
    if (addresses === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address }));
  };
  return Object.assign(lookup, { asked });
}

function withImageUrls(...urls: string[]): CanonicalRequest {
  return textRequest('what is in this picture?', {
    messages: [{ role: 'user', content: [{ type: 'text', text: 'what is in this picture?' }, ...urls.map((url) => ({ type: 'image' as const, url }))] }],
  });
}

describe('resolveMediaHosts', () => {
  it('looks each distinct name up once, and no address literal, localhost, data: or host-less URL', async () => {
    const lookup = tableLookup({ 'images.example.com': ['203.0.113.7'], 'cdn.example.net': ['198.51.100.1', '2001:db8::1'] });
    const resolved = await resolveMediaHosts(
      [
        'https://images.example.com/a.png',
        'https://IMAGES.example.com/b.png?sig=1',
        'http://cdn.example.net/c.png',
        'http://10.0.0.5/d.png',
        'http://[fd00::1]/e.png',
        'http://8.8.8.8/f.png',
        'http://localhost:8080/g.png',
        'file:///etc/passwd',
        'not a url',
      ],
      { lookup },
    );
    expect(lookup.asked.sort()).toEqual(['cdn.example.net', 'images.example.com']);
    expect(resolved).toEqual(
      new Map([
        ['images.example.com', { addresses: ['203.0.113.7'] }],
        ['cdn.example.net', { addresses: ['198.51.100.1', '2001:db8::1'] }],
      ]),
    );
  });

  it("a name that does not resolve gets the resolver's code, one without addresses says so", async () => {
    const again: HostLookup = async () => {
      throw Object.assign(new Error('getaddrinfo EAI_AGAIN flaky.example'), { code: 'EAI_AGAIN' });
    };
    expect(await resolveMediaHosts(['http://nowhere.invalid/x.png'], { lookup: tableLookup({}) })).toEqual(new Map([['nowhere.invalid', { failure: 'ENOTFOUND' }]]));
    expect(await resolveMediaHosts(['http://flaky.example/x.png'], { lookup: again })).toEqual(new Map([['flaky.example', { failure: 'EAI_AGAIN' }]]));
    expect(await resolveMediaHosts(['http://empty.example/x.png'], { lookup: tableLookup({ 'empty.example': [] }) })).toEqual(new Map([['empty.example', { failure: 'no address' }]]));
  });

  it('a lookup that never answers fails once the bound has passed', async () => {
    const hanging: HostLookup = () => new Promise(() => {});
    expect(await resolveMediaHosts(['http://slow.example/x.png'], { lookup: hanging, timeoutMs: 20 })).toEqual(new Map([['slow.example', { failure: 'no answer within 20 ms' }]]));
  });
});

describe('routeRequest and the host names of media URLs', () => {
  const vllm = provider({ id: 'vllm', models: [{ id: 'qwen-vl', tags: ['vision'] }], engine: { kind: 'vllm' } });
  const policy = defaultPolicy();
  policy.media.remoteUrls = { public: 'allow', internal: 'allow', confidential: 'allow', restricted: 'refuse' };
  const route = (request: CanonicalRequest, lookupHost: HostLookup) =>
    routeRequest({
      request,
      policy,
      providers: [vllm],
      workflow: 'batch',
      health: new HealthMonitor({ probe: async () => ({}) }),
      classify: () => ({ level: 'public', findings: [], failedClosed: false }),
      lookupHost,
    });

  it('two images on one host: one lookup; a name resolving into the private network is refused (rule remote_media)', async () => {
    const lookup = tableLookup({ 'photos.corp.example': ['10.20.30.40'] });
    const routed = await route(withImageUrls('http://photos.corp.example/1.png', 'http://photos.corp.example/2.png'), lookup);
    expect(lookup.asked).toEqual(['photos.corp.example']);
    expect(routed.plan.candidates).toEqual([]);
    expect(routed.plan.excluded.map((exclusion) => exclusion.rules)).toEqual([['remote_media']]);
    expect(routed.plan.excluded[0]?.reasons[0]).toContain('2 images by a URL of this host or its private network (http://photos.corp.example/…; photos.corp.example resolves to 10.20.30.40)');
    // The unpinned plan a refusal offers alternatives from judges the same addresses, without asking again.
    expect(routed.planUnpinned().candidates).toEqual([]);
    expect(lookup.asked).toHaveLength(1);
  });

  it('a name resolving publicly goes as the policy says; one that does not resolve is refused', async () => {
    const lookup = tableLookup({ 'images.example.com': ['203.0.113.7'] });
    expect((await route(withImageUrls('https://images.example.com/x.png'), lookup)).plan.candidates.map((candidate) => candidate.model)).toEqual(['qwen-vl']);
    const unresolved = await route(withImageUrls('https://typo.example.com/x.png'), lookup);
    expect(unresolved.plan.candidates).toEqual([]);
    expect(unresolved.plan.excluded[0]?.reasons[0]).toContain('whose host does not resolve here (https://typo.example.com/…; typo.example.com: ENOTFOUND)');
  });

  it('a request without a host name in its media URLs (none, data:, an address) looks nothing up', async () => {
    const lookup = tableLookup({});
    const routed = await route(withImageUrls('data:image/png;base64,iVBORw0KGgo=', 'http://10.0.0.1/x.png'), lookup);
    expect(routed.plan.candidates).toEqual([]);
    await route(textRequest('hello'), lookup);
    expect(lookup.asked).toEqual([]);
  });
});
