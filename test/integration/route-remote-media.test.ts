import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';

/**
 * `syndicate route --explain --request BODY` for a request with an image URL that only local
 * providers may receive: the refusal (rule `remote_media`) and its reason, before anything is
 * sent; with the policy's opt-in, the candidate and the note the evidence would keep.
 */

const MODEL = 'Qwen/Qwen2.5-VL-7B-Instruct';
const BODY = {
  model: 'auto',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'https://files.example.com/scan.png?sig=0f3c9a' } }] }],
};

let home = '';
let cleanupHome: () => void = () => {};
let vllm: FakeEngine;

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
}, 30_000);

afterAll(async () => {
  await vllm?.close();
  cleanupHome();
});

describe('route --request with an image URL in a confidential request', () => {
  it('--explain shows the refusal reason of rule remote_media and exits 4; nothing is sent', async () => {
    const result = await runCli(['route', '--explain', '--request', join(home, 'body.json')], { home });
    expect(result.exitCode, result.stderr).toBe(4);
    expect(result.stdout).toContain(
      `- vllm:${MODEL} (local) — the request gives an image by URL (https://files.example.com/…), which the engine would fetch over the network itself: confidential data may reach local only and the policy does not allow it (media.remoteUrls confidential: refuse)`,
    );
    expect(result.stdout).not.toContain('sig=');
    // The gateway's own refusal (code remote_media_url), as `route` gives it since it shares the gateway's refusal.
    expect(result.stderr).toContain('error: this confidential request may not be sent: the request gives an image by URL (https://files.example.com/…)');
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
    expect(result.stdout).toContain('note: the request gives an image by URL (https://files.example.com/…): allowed by the policy (media.remoteUrls confidential: allow)');
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
