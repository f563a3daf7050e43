import { lookup } from 'node:dns/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isInternalAddress } from '../../src/router/remote-media.js';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startServe } from '../helpers/serve.js';

/**
 * `syndicate route --explain --request BODY` for a request with an image URL that only local
 * providers may receive: the refusal (rule `remote_media`) and its reason, before anything is
 * sent; with the policy's opt-in, the candidate and the note the evidence would keep.
 */

const MODEL = 'Qwen/Qwen2.5-VL-7B-Instruct';
const BODY = {
  model: 'auto',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'https://203.0.113.7/scan.png?sig=0f3c9a' } }] }],
};

let home = '';
let cleanupHome: () => void = () => {};
let vllm: FakeEngine;
/** The policy `init` wrote, which media.remoteUrls leaves at its default (confidential: refuse). */
let initialPolicy = '';

beforeAll(async () => {
  ({ home, cleanup: cleanupHome } = makeTempHome('syndicate-route-remote-media-'));
  vllm = await startFakeEngine({ kind: 'vllm', models: [{ id: MODEL }] });
  expect((await runCli(['init'], { home })).exitCode).toBe(0);
  const record = join(home, 'vllm.yaml');
  writeFileSync(
    record,
    `apiVersion: syndicate/v1
kind: Provider
id: vllm
class: local
wire: openai
baseUrl: ${vllm.baseUrl}
models:
  - id: ${MODEL}
    contextWindow: 32768
    capabilityClass: medium
    tags: [vision]
engine:
  kind: vllm
`,
  );
  const registered = await runCli(['provider', 'register', record], { home });
  expect(registered.exitCode, registered.stderr).toBe(0);
  writeFileSync(join(home, 'body.json'), JSON.stringify(BODY));
  initialPolicy = readFileSync(join(home, 'policy.yaml'), 'utf8');
}, 30_000);

// Each test starts from init's policy: those that allow remote URLs write their own, and the tests
// may run in any order (a shuffled run ran the refusals after a policy that allowed them: exit 0).
beforeEach(() => {
  writeFileSync(join(home, 'policy.yaml'), initialPolicy);
});

afterAll(async () => {
  await vllm?.close();
  cleanupHome();
});

describe('route --request with an image URL in a confidential request', () => {
  it('--explain shows the refusal reason of rule remote_media and exits 4; nothing is sent', async () => {
    const result = await runCli(['route', '--explain', '--request', join(home, 'body.json')], { home });
    expect(result.exitCode, result.stderr).toBe(4);
    expect(result.stdout).toContain(
      `- vllm:${MODEL} (local) — the request gives an image by URL (https://203.0.113.7/…), which the engine would fetch over the network itself: confidential data may reach local only and the policy does not allow it (media.remoteUrls confidential: refuse)`,
    );
    expect(result.stdout).not.toContain('sig=');
    // The gateway's own refusal (code remote_media_url), as `route` gives it since it shares the gateway's refusal.
    expect(result.stderr).toContain('error: this confidential request may not be sent: the request gives an image by URL (https://203.0.113.7/…)');
    expect(result.stderr).toContain('hint: send the image inline');
    expect(result.stderr).not.toContain('sig=');
    expect(vllm.exchanges.filter((exchange) => exchange.method === 'POST')).toEqual([]);
  });

  it('--json names the rule in details.plan.excluded', async () => {
    const result = await runCli(['route', '--json', '--request', join(home, 'body.json')], { home });
    expect(result.exitCode).toBe(4);
    const document = parseJsonDocument(result.stdout) as { error: { details: { plan: { excluded: { rules: string[] }[] } } } };
    expect(document.error.details.plan.excluded.map((exclusion) => exclusion.rules)).toEqual([['remote_media']]);
  });

  it('with media.remoteUrls allowing confidential, routes it and says the policy allowed it', async () => {
    writeFileSync(join(home, 'policy.yaml'), 'apiVersion: syndicate/v1\nkind: Policy\nmedia:\n  remoteUrls: { confidential: allow }\n');
    const result = await runCli(['route', '--explain', '--request', join(home, 'body.json')], { home });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(`1. vllm:${MODEL} (local`);
    expect(result.stdout).toContain('note: the request gives an image by URL (https://203.0.113.7/…): allowed by the policy (media.remoteUrls confidential: allow)');
  });

  it('a URL of a cloud metadata address is refused whatever the policy allows: exit 4, the gateway\'s remote_media_url refusal', async () => {
    writeFileSync(join(home, 'policy.yaml'), 'apiVersion: syndicate/v1\nkind: Policy\nmedia:\n  remoteUrls: allow\n');
    const metadata = { ...BODY, messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'http://169.254.169.254/latest/meta-data/' } }] }] };
    writeFileSync(join(home, 'metadata.json'), JSON.stringify(metadata));
    const result = await runCli(['route', '--json', '--request', join(home, 'metadata.json')], { home });
    expect(result.exitCode).toBe(4);
    const { error } = parseJsonDocument(result.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe('remote_media_url');
    expect(error.message).toContain('the request gives an image by a URL of this host or its private network (http://169.254.169.254/…)');
    expect(vllm.exchanges.filter((exchange) => exchange.method === 'POST')).toEqual([]);
  });
});

/** This machine's own name and the first address of this host or its network it resolves to (`/etc/hosts` usually says 127.0.1.1 or 127.0.0.1). */
const HOSTNAME = hostname().toLowerCase();
const HOSTNAME_ADDRESS = await lookup(HOSTNAME, { all: true, verbatim: true }).then(
  (addresses) => addresses.map((entry) => entry.address).find(isInternalAddress),
  () => undefined,
);

describe('an image URL naming a host name, which syndicate resolves before anything is sent', () => {
  const withUrl = (url: string): typeof BODY => ({ ...BODY, messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url } }] }] });
  const posts = (): number => vllm.exchanges.filter((exchange) => exchange.method === 'POST').length;

  it.skipIf(HOSTNAME_ADDRESS === undefined)(
    `this machine's own hostname (${HOSTNAME}), resolving to ${HOSTNAME_ADDRESS ?? 'no address of this host or its network here: skipped'}: route exits 4 and the gateway answers 400, whatever the policy allows; nothing reaches the engine`,
    async () => {
      writeFileSync(join(home, 'policy.yaml'), 'apiVersion: syndicate/v1\nkind: Policy\nmedia:\n  remoteUrls: allow\n');
      writeFileSync(join(home, 'own-host.json'), JSON.stringify(withUrl(`http://${HOSTNAME}:1/x.png`)));
      const refusal = `the request gives an image by a URL of this host or its private network (http://${HOSTNAME}:1/…; ${HOSTNAME} resolves to ${HOSTNAME_ADDRESS})`;
      const before = posts();

      const routed = await runCli(['route', '--json', '--request', join(home, 'own-host.json')], { home });
      expect(routed.exitCode, routed.stderr).toBe(4);
      const { error } = parseJsonDocument(routed.stdout) as { error: { code: string; message: string; details: { plan: { excluded: { rules: string[] }[] } } } };
      expect(error.code).toBe('remote_media_url');
      expect(error.message).toContain(refusal);
      expect(error.details.plan.excluded.map((exclusion) => exclusion.rules)).toEqual([['remote_media']]);
      // --explain says what would happen to it.
      const explained = await runCli(['route', '--explain', '--request', join(home, 'own-host.json')], { home });
      expect(explained.exitCode).toBe(4);
      expect(explained.stdout).toContain(`- vllm:${MODEL} (local) — ${refusal}`);

      const serve = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: home });
      try {
        const client = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: readFileSync(join(home, 'gateway.token'), 'utf8').trim(), maxRetries: 0 });
        const refused = await client.chat.completions.create(withUrl(`http://${HOSTNAME}:1/x.png`) as OpenAI.ChatCompletionCreateParamsNonStreaming).catch((caught: unknown) => caught);
        expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
        const body = (refused as InstanceType<typeof OpenAI.BadRequestError>).error as { code: string; message: string };
        expect(body.code).toBe('remote_media_url');
        expect(body.message).toContain(refusal);
      } finally {
        serve.server.kill('SIGTERM');
        await serve.server;
      }
      expect(posts()).toBe(before);
    },
    90_000,
  );

  it('a name that does not resolve (.invalid never does) is refused too, with a hint to send the image inline or fix the name', async () => {
    writeFileSync(join(home, 'policy.yaml'), 'apiVersion: syndicate/v1\nkind: Policy\nmedia:\n  remoteUrls: allow\n');
    writeFileSync(join(home, 'unresolved.json'), JSON.stringify(withUrl('http://images.nowhere.invalid/x.png')));
    const result = await runCli(['route', '--request', join(home, 'unresolved.json')], { home });
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toMatch(/the request gives an image by a URL whose host does not resolve here \(http:\/\/images\.nowhere\.invalid\/…; images\.nowhere\.invalid: [A-Z_]+\)/);
    expect(result.stderr).toContain("hint: the image URL's host does not resolve on this host, so a local engine could not fetch it either: send the image inline");
    expect(result.stderr).toContain('or fix the host name in the URL');
  });
});
