import { describe, expect, it } from 'vitest';
import type { InputProblem, InvalidInputError } from '../../../src/errors.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { parsePolicyText } from '../../../src/policy/load.js';
import type { Policy } from '../../../src/policy/types.js';
import { hintForExclusions } from '../../../src/router/hints.js';
import { planRoute } from '../../../src/router/plan.js';
import { mediaHostNames, remoteMediaUrls, type MediaHostResolutions } from '../../../src/router/remote-media.js';
import type { RouteInput } from '../../../src/router/types.js';
import type { CanonicalRequest, ContentPart } from '../../../src/wire/canonical.js';
import { context, input, order, provider, textRequest } from './fixtures.js';

/**
 * Rule `remote_media`: an image URL other than `data:` is fetched by the engine that receives it
 * (vLLM unless `--allowed-media-domains`; llama-server's `handle_media` downloads any `http…` URL),
 * so for a request only local providers may receive it is egress the policy must allow.
 */

const SIGNED = 'https://images.example.com/scan.png?X-Amz-Signature=abc123&token=payroll-2026';
const INLINE = 'data:image/png;base64,iVBORw0KGgo=';

function withImages(...images: Omit<Extract<ContentPart, { type: 'image' }>, 'type'>[]): CanonicalRequest {
  return textRequest('what is in this picture?', {
    messages: [{ role: 'user', content: [{ type: 'text', text: 'what is in this picture?' }, ...images.map((image) => ({ type: 'image' as const, ...image }))] }],
  });
}

const vllm = provider({ id: 'vllm', models: [{ id: 'qwen-vl', tags: ['vision'] }], engine: { kind: 'vllm' } });
const llama = provider({ id: 'llama', baseUrl: 'http://127.0.0.1:8081/v1', models: [{ id: 'gemma-vision', tags: ['vision'] }], engine: { kind: 'llama.cpp' } });
const ollama = provider({ id: 'ollama', models: [{ id: 'llava', tags: ['vision'] }], engine: { kind: 'ollama' } });
const hosted = provider({ id: 'openai', class: 'approved_hosted', models: [{ id: 'gpt-vision', tags: ['vision'], price: { inputPerMTok: 1, outputPerMTok: 4 } }] });

/** A public address (TEST-NET-3) every name of these tests resolves to, unless a test says otherwise. */
const PUBLIC_ADDRESS = '203.0.113.7';

/** The route input with each media host name resolved publicly, as `routeRequest` hands it to the planner. */
function resolvedInput(overrides: Parameters<typeof input>[0] & { request: CanonicalRequest }): RouteInput {
  const mediaHosts: MediaHostResolutions = new Map(mediaHostNames(overrides.mediaUrls ?? remoteMediaUrls(overrides.request)).map((name) => [name, { addresses: [PUBLIC_ADDRESS] }]));
  return input({ mediaHosts, ...overrides });
}

function policyWith(yaml: string): Policy {
  return parsePolicyText(`apiVersion: syndicate/v1\nkind: Policy\n${yaml}`);
}

describe('remoteMediaUrls', () => {
  it('lists image URLs but data: ones (whatever their case) and inline bytes', () => {
    const request = withImages({ url: SIGNED }, { url: INLINE }, { url: 'DATA:image/gif;base64,R0lG' }, { data: 'iVBORw0KGgo=', mediaType: 'image/png' }, { url: 'file:///etc/passwd' });
    expect(remoteMediaUrls(request)).toEqual([SIGNED, 'file:///etc/passwd']);
    expect(remoteMediaUrls(textRequest('no images'))).toEqual([]);
  });
});

describe('rule remote_media', () => {
  it('leaves every local engine out of a confidential request with an image URL, naming scheme and host only', () => {
    const plan = planRoute(resolvedInput({ sensitivity: 'confidential', request: withImages({ url: SIGNED }) }), context([vllm, llama, hosted]));
    expect(plan.candidates).toEqual([]);
    const local = plan.excluded.filter((exclusion) => exclusion.class === 'local');
    expect(local.map((exclusion) => exclusion.rules)).toEqual([['remote_media'], ['remote_media']]);
    const [reason] = local[0]?.reasons ?? [];
    expect(reason).toContain('an image by URL (https://images.example.com/…), which the engine would fetch over the network itself');
    expect(reason).toContain('confidential data may reach local only');
    expect(reason).not.toContain('X-Amz-Signature');
    expect(reason).not.toContain('payroll');
    // The hosted one is left out by the class rule alone: the URL is not its reason.
    expect(plan.excluded.find((exclusion) => exclusion.provider === 'openai')?.rules).toEqual(['class_not_allowed']);
    expect(plan.explanation).toContain('- vllm:qwen-vl (local) — the request gives an image by URL');
  });

  it('hints at sending the image inline or the policy setting, first', () => {
    const plan = planRoute(resolvedInput({ sensitivity: 'confidential', request: withImages({ url: SIGNED }) }), context([vllm, hosted]));
    const hint = hintForExclusions(plan.excluded, { localLeftOut: plan.excluded.filter((exclusion) => exclusion.class === 'local') });
    expect(hint).toMatch(/^send the image inline — a data:image\/png;base64,… URL/);
    expect(hint).toContain('`media.remoteUrls`, e.g. `confidential: allow`');
    // Not "register a local provider": the one registered would take the image inline.
    expect(hint).not.toContain('stays on this host');
  });

  it('judges the URLs routeRequest collected (RouteInput.mediaUrls): the planner does not read the request for them again', () => {
    const given = planRoute(resolvedInput({ sensitivity: 'confidential', request: textRequest('what is in this picture?'), mediaUrls: [SIGNED] }), context([vllm]));
    expect(given.excluded.map((exclusion) => exclusion.rules)).toEqual([['remote_media']]);
    expect(given.excluded[0]?.reasons[0]).toContain('confidential data may reach local only');
    const none = planRoute(input({ sensitivity: 'confidential', request: withImages({ url: SIGNED }), mediaUrls: [] }), context([vllm]));
    expect(order(none)).toEqual(['vllm:qwen-vl']);
  });

  it('leaves a data: URL alone', () => {
    const plan = planRoute(resolvedInput({ sensitivity: 'confidential', request: withImages({ url: INLINE }) }), context([vllm]));
    expect(order(plan)).toEqual(['vllm:qwen-vl']);
  });

  it('leaves a request some hosted class may receive alone: its URL goes as it came, to the hosted vendor and to a local engine', () => {
    const plan = planRoute(resolvedInput({ sensitivity: 'internal', request: withImages({ url: SIGNED }) }), context([vllm, hosted]));
    expect(order(plan).sort()).toEqual(['openai:gpt-vision', 'vllm:qwen-vl']);
    expect(plan.notes.join('\n')).not.toContain('by URL');
  });

  it('counts the trust tier: a public request from a local-only caller may not have an engine fetch a URL', () => {
    const plan = planRoute(resolvedInput({ sensitivity: 'public', trustTier: 'untrusted', request: withImages({ url: SIGNED }) }), context([vllm, hosted]));
    expect(plan.candidates).toEqual([]);
    expect(plan.excluded.find((exclusion) => exclusion.provider === 'vllm')?.rules).toEqual(['remote_media']);
  });

  it('says nothing more of an Ollama model, which refuses any image URL (rule image_url)', () => {
    const plan = planRoute(resolvedInput({ sensitivity: 'confidential', request: withImages({ url: SIGNED }) }), context([ollama]));
    expect(plan.excluded.map((exclusion) => exclusion.rules)).toEqual([['image_url']]);
  });

  it('lets the engine fetch it when the policy allows it for the level, and notes that it did', () => {
    const policy = policyWith('media:\n  remoteUrls:\n    confidential: allow\n');
    const plan = planRoute(resolvedInput({ sensitivity: 'confidential', request: withImages({ url: SIGNED }) }), context([vllm], { policy }));
    expect(order(plan)).toEqual(['vllm:qwen-vl']);
    expect(plan.notes).toContain(
      'the request gives an image by URL (https://images.example.com/…): allowed by the policy (media.remoteUrls confidential: allow), so the engine that takes it may fetch it over the network',
    );
  });

  it('refuses a URL of this host or its private network for every level and every provider, whatever the policy allows', () => {
    const policy = policyWith('media:\n  remoteUrls: allow\n');
    const internal = [
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'http://127.0.0.1:8089/v1/models',
      'http://localhost:11434/api/tags',
      'http://admin.localhost/x.png',
      'http://2130706433/x.png',
      'http://10.1.2.3/x.png',
      'http://172.20.0.5/x.png',
      'http://192.168.1.10/x.png',
      'http://100.101.102.103/x.png',
      'http://[::1]:8080/x.png',
      'http://[fd12:3456::1]/x.png',
      'http://[fe80::1]/x.png',
      'http://[::ffff:127.0.0.1]/x.png',
      'http://0.0.0.0:8000/x.png',
    ];
    for (const url of internal) {
      const plan = planRoute(resolvedInput({ sensitivity: 'public', request: withImages({ url }) }), context([vllm, llama, hosted], { policy }));
      expect(plan.candidates, url).toEqual([]);
      for (const exclusion of plan.excluded) expect(exclusion.rules, `${url} ${exclusion.provider}`).toEqual(['remote_media']);
      expect(plan.excluded[0]?.reasons[0], url).toMatch(/^the request gives an image by a URL of this host or its private network \(http:\/\/[^ ]+\/…\), which an engine would fetch from inside and a hosted API cannot reach: refused whatever media\.remoteUrls says$/);
    }
    // Public addresses, and names resolving to public ones only, are not judged here.
    for (const url of ['http://8.8.8.8/x.png', 'http://172.32.0.1/x.png', 'http://[2001:db8::1]/x.png', 'https://images.example.com/x.png', 'http://localhost.example.com/x.png']) {
      const plan = planRoute(resolvedInput({ sensitivity: 'public', request: withImages({ url }) }), context([vllm, hosted], { policy }));
      expect(order(plan).sort(), url).toEqual(['openai:gpt-vision', 'vllm:qwen-vl']);
    }
  });

  it('never for restricted data, even with `remoteUrls: allow`', () => {
    const policy = policyWith('media:\n  remoteUrls: allow\n');
    expect(policy.media.remoteUrls).toEqual({ public: 'allow', internal: 'allow', confidential: 'allow', restricted: 'refuse' });
    const plan = planRoute(resolvedInput({ sensitivity: 'restricted', request: withImages({ url: SIGNED }) }), context([vllm], { policy }));
    expect(plan.candidates).toEqual([]);
    expect(plan.excluded[0]?.reasons[0]).toContain('restricted data never leaves this host');
  });

  it('never when planning failed closed, whatever the policy allows', () => {
    const policy = policyWith('media:\n  remoteUrls: allow\n');
    const plan = planRoute(resolvedInput({ sensitivity: 'confidential', request: withImages({ url: SIGNED }) }), context([vllm], { policy, policyFailure: 'policy.yaml is invalid' }));
    expect(plan.candidates).toEqual([]);
    expect(plan.excluded[0]?.reasons[0]).toContain('planning failed closed to local providers');
  });

  it('names three hosts at most, each once, and counts the rest', () => {
    const urls = ['https://a.example/1', 'https://a.example/2', 'https://b.example/x', 'http://c.example/y', 'https://d.example/z', 'not a url'];
    const plan = planRoute(resolvedInput({ sensitivity: 'confidential', request: withImages(...urls.map((url) => ({ url }))) }), context([vllm]));
    expect(plan.excluded[0]?.reasons[0]).toContain('6 images by URL (https://a.example/…, https://b.example/…, http://c.example/… and 2 more)');
  });
});

describe('host names of media URLs, by what they resolve to (RouteInput.mediaHosts)', () => {
  const policy = policyWith('media:\n  remoteUrls: allow\n');
  const withHost = (url: string, mediaHosts: MediaHostResolutions): RouteInput => input({ sensitivity: 'public', request: withImages({ url }), mediaHosts });

  it('refuses a name resolving to any address of this host or its private network, naming the name and the address, whatever the policy allows', () => {
    const blocked = ['127.0.0.1', '0.0.0.0', '10.0.0.5', '172.16.3.4', '192.168.1.1', '100.64.1.1', '169.254.169.254', '::1', '::', 'fd00::5', 'fe80::1', 'fe80::1%eth0', '::ffff:10.0.0.1'];
    for (const address of blocked) {
      const plan = planRoute(withHost('http://metadata.internal/latest/meta-data/', new Map([['metadata.internal', { addresses: [address] }]])), context([vllm, llama, hosted], { policy }));
      expect(plan.candidates, address).toEqual([]);
      for (const exclusion of plan.excluded) expect(exclusion.rules, `${address} ${exclusion.provider}`).toEqual(['remote_media']);
      expect(plan.excluded[0]?.reasons[0], address).toBe(
        `the request gives an image by a URL of this host or its private network (http://metadata.internal/…; metadata.internal resolves to ${address}), which an engine would fetch from inside and a hosted API cannot reach: refused whatever media.remoteUrls says`,
      );
    }
  });

  it('refuses a name with one public and one private address, naming the private one', () => {
    const mediaHosts = new Map([['images.example.com', { addresses: [PUBLIC_ADDRESS, '192.168.7.7'] }]]);
    const plan = planRoute(withHost('https://images.example.com/x.png', mediaHosts), context([vllm, hosted], { policy }));
    expect(plan.candidates).toEqual([]);
    expect(plan.excluded[0]?.reasons[0]).toContain('(https://images.example.com/…; images.example.com resolves to 192.168.7.7)');
    expect(plan.excluded[0]?.reasons[0]).not.toContain(PUBLIC_ADDRESS);
  });

  it('lets a name resolving to public addresses only go as the level says', () => {
    const mediaHosts = new Map([['images.example.com', { addresses: [PUBLIC_ADDRESS, '2001:4860:4860::8888'] }]]);
    const plan = planRoute(withHost('https://images.example.com/x.png', mediaHosts), context([vllm, hosted], { policy }));
    expect(order(plan).sort()).toEqual(['openai:gpt-vision', 'vllm:qwen-vl']);
  });

  it('refuses a name that did not resolve (or was not looked up), with a hint to send the image inline or fix the name', () => {
    for (const [mediaHosts, failure] of [
      [new Map([['nowhere.invalid', { failure: 'ENOTFOUND' }]]), 'ENOTFOUND'],
      [new Map([['nowhere.invalid', { failure: 'no answer within 2 s' }]]), 'no answer within 2 s'],
      [new Map(), 'not looked up'],
    ] as const) {
      const plan = planRoute(withHost('http://nowhere.invalid/x.png', mediaHosts), context([vllm, hosted], { policy }));
      expect(plan.candidates, failure).toEqual([]);
      for (const exclusion of plan.excluded) expect(exclusion.rules, failure).toEqual(['remote_media']);
      expect(plan.excluded[0]?.reasons[0]).toBe(
        `the request gives an image by a URL whose host does not resolve here (http://nowhere.invalid/…; nowhere.invalid: ${failure}), so where an engine would fetch it cannot be told: refused whatever media.remoteUrls says`,
      );
      const hint = hintForExclusions(plan.excluded, { sensitivity: 'public' });
      expect(hint).toMatch(/^the image URL's host does not resolve on this host, so a local engine could not fetch it either: send the image inline — a data:image\/png;base64,… URL .* — or fix the host name in the URL; /);
      expect(hint).not.toContain('media.remoteUrls');
    }
  });

  it('where the level refuses the URL anyway, that is the reason, not the name that did not resolve (fixing it would not help)', () => {
    const mediaHosts = new Map([['nowhere.invalid', { failure: 'ENOTFOUND' }]]);
    const restricted = planRoute(input({ sensitivity: 'restricted', request: withImages({ url: 'http://nowhere.invalid/x.png' }), mediaHosts }), context([vllm], { policy }));
    expect(restricted.excluded[0]?.reasons[0]).toContain('restricted data never leaves this host');
    const confidential = planRoute(input({ sensitivity: 'confidential', request: withImages({ url: 'http://nowhere.invalid/x.png' }), mediaHosts }), context([vllm]));
    expect(confidential.excluded[0]?.reasons[0]).toContain('(media.remoteUrls confidential: refuse)');
  });

  it('an address of this host or its network goes first: a name that did not resolve is not the reason then', () => {
    const request = withImages({ url: 'http://nowhere.invalid/x.png' }, { url: 'http://vm:8089/x.png' });
    const mediaHosts = new Map([['nowhere.invalid', { failure: 'ENOTFOUND' }], ['vm', { addresses: ['127.0.0.1'] }]]);
    const plan = planRoute(input({ sensitivity: 'public', request, mediaHosts }), context([vllm], { policy }));
    expect(plan.excluded[0]?.reasons[0]).toContain('an image by a URL of this host or its private network (http://vm:8089/…; vm resolves to 127.0.0.1)');
  });
});

describe('policy media.remoteUrls', () => {
  it('defaults to refuse for every level', () => {
    expect(defaultPolicy().media.remoteUrls).toEqual({ public: 'refuse', internal: 'refuse', confidential: 'refuse', restricted: 'refuse' });
    expect(policyWith('media: {}\n').media).toEqual(defaultPolicy().media);
  });

  it('sets levels one by one', () => {
    expect(policyWith('media:\n  remoteUrls: { internal: allow }\n').media.remoteUrls).toEqual({ public: 'refuse', internal: 'allow', confidential: 'refuse', restricted: 'refuse' });
  });

  it('refuses `restricted: allow` at its pointer, and a setting that is neither word', () => {
    const problemsOf = (yaml: string): InputProblem[] => {
      try {
        policyWith(yaml);
      } catch (error) {
        return (error as InvalidInputError).problems;
      }
      throw new Error(`accepted: ${yaml}`);
    };
    expect(problemsOf('media:\n  remoteUrls:\n    restricted: allow\n')).toEqual([
      expect.objectContaining({ pointer: '/media/remoteUrls/restricted', message: expect.stringContaining('restricted data never leaves this host'), line: 5 }),
    ]);
    const located = (yaml: string): string[] => problemsOf(yaml).map((problem) => `${problem.pointer} ${problem.message}`);
    // One problem each, from the form the value has (a word or a map), not one per form it could have had.
    expect(located('media:\n  remoteUrls: sometimes\n')).toEqual(['/media/remoteUrls must be one of "refuse", "allow", got "sometimes"']);
    expect(located('media:\n  remoteUrls: { internal: maybe }\n')).toEqual(['/media/remoteUrls/internal must be one of "refuse", "allow", got "maybe"']);
    // A value of neither form is told both: the word as well as the mapping.
    expect(located('media:\n  remoteUrls: 3\n')).toEqual([
      '/media/remoteUrls must be "refuse" or "allow", or a mapping (public, internal, confidential, restricted), got the integer 3',
    ]);
    expect(located('media:\n  remoteUrls: [allow]\n')).toEqual([
      '/media/remoteUrls must be "refuse" or "allow", or a mapping (public, internal, confidential, restricted), got a list',
    ]);
    expect(located('media:\n  remoteUrl: allow\n')).toEqual(['/media/remoteUrl unknown key "remoteUrl" (did you mean "remoteUrls"?)']);
  });
});
