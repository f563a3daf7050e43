import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { connectMcpClient, toolText } from '../helpers/mcp.js';
import { hostedPreferredScenario, inferenceExchanges } from '../helpers/scenario.js';
import { startServe } from '../helpers/serve.js';

/**
 * A security officer's policy read back as a CISO would ask it: which detector set a request's
 * level, which rule kept Anthropic out — in `route --explain`, in the evidence of `run`, the
 * gateway and MCP alike — without the matched text ever being printed or recorded there.
 */
const POLICY = [
  'sensitivity:',
  '  public: [local, approved_hosted]',
  '  internal: [local, approved_hosted]',
  'patterns:',
  '  - name: internal-hostnames',
  '    level: confidential',
  '    regex: "\\\\b[a-z0-9-]+\\\\.corp\\\\.acme\\\\.example\\\\b"',
  '  - name: code-names',
  '    level: confidential',
  '    keywords: [bluefin, "project nightjar"]',
  'workflows:',
  '  interactive:',
  '    prefer: [hosted]',
  'trustTiers:',
  '  operator:',
  '    maxSensitivity: restricted',
  '    allowedClasses: [local, approved_hosted]',
  '  code-review:',
  '    maxSensitivity: internal',
  '    allowedClasses: [local, approved_hosted]',
].join('\n');

const HOST_PROMPT = 'Why does db01.corp.acme.example refuse connections?';
const CODE_NAME_PROMPT = 'Summarise the status of Project Nightjar.';
const KEY = { FAKE_ANTHROPIC_KEY: 'sk-ant-fake-key' };

describe('policy decisions: what set the level, in the explanation and the evidence', () => {
  const setup = hostedPreferredScenario('claude-sonnet-4-20250514', {}, POLICY);

  it('route --explain names the detector and the pattern that set the level, not the host name', async () => {
    const explained = await setup.scenario.cli(['route', '--explain', HOST_PROMPT], { env: KEY });
    expect(explained.exitCode, explained.stderr).toBe(0);
    expect(explained.stdout).toContain("because: operator pattern 'internal-hostnames' (operator.pattern at messages[0].content[0])");
    expect(explained.stdout).toContain('claude:claude-sonnet-4-20250514 (approved_hosted) — class approved_hosted may not receive confidential data (allowed: local)');
    expect(explained.stdout).not.toContain('db01');
    const plain = await setup.scenario.cli(['route', '--explain', 'Name the capital of France.'], { env: KEY });
    expect(plain.stdout).toContain('because: no detector matched');
    const raised = await setup.scenario.json(['route', 'Name the capital of France.', '--sensitivity', 'internal'], { env: KEY });
    expect((raised.document.plan as { levelSources: unknown }).levelSources).toEqual([{ detector: 'caller', reason: expect.stringContaining('the caller asked for at least internal'), locations: [] }]);
  });

  it('run keeps the request local, and its evidence says which pattern did so, without the text', async () => {
    const before = inferenceExchanges(setup.claude).length;
    const { result, document } = await setup.scenario.json(['run', HOST_PROMPT], { env: KEY });
    expect(result.exitCode, result.stderr).toBe(0);
    expect((document.provider as { id: string }).id).toBe('ollama');
    expect(inferenceExchanges(setup.claude).length).toBe(before);
    const evidence = await setup.scenario.evidence(document.evidenceId as string);
    expect((evidence.route as { levelSources: unknown }).levelSources).toEqual([
      { detector: 'operator.pattern', reason: "operator pattern 'internal-hostnames'", locations: ['messages[0].content[0]'] },
    ]);
    // `evidence list --json` carries the same level sources on the row, without the text.
    const listed = await setup.scenario.json(['evidence', 'list', '--limit', '1000']);
    const row = (listed.document.evidence as { id: string; levelSources: unknown }[]).find((entry) => entry.id === document.evidenceId);
    expect(row?.levelSources).toEqual((evidence.route as { levelSources: unknown }).levelSources);
    expect(listed.result.stdout).not.toContain('db01');
    const shown = await setup.scenario.cli(['evidence', 'show', document.evidenceId as string]);
    expect(shown.stdout).toMatch(/^because +operator pattern 'internal-hostnames' \(operator\.pattern at messages\[0\]\.content\[0\]\)$/m);
    expect(shown.stdout).toMatch(/^left out +claude:claude-sonnet-4-20250514: class approved_hosted may not receive confidential data/m);
    expect(shown.stdout).not.toContain('db01');
  });

  it('the gateway keeps a code name local and records why; a code-review caller is refused with the reason recorded', async () => {
    const token = readFileSync(join(setup.scenario.home, 'gateway.token'), 'utf8').trim();
    for (const tier of ['operator', 'code-review']) {
      const { server, url } = await startServe(['serve', '--port', '0', '--trust-tier', tier], { SYNDICATE_HOME: setup.scenario.home, ...KEY });
      try {
        const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: token, maxRetries: 0 });
        const before = inferenceExchanges(setup.claude).length;
        const { data, response } = await client.chat.completions
          .create({ model: 'auto', messages: [{ role: 'user', content: CODE_NAME_PROMPT }] })
          .withResponse()
          .then((answered) => answered, (caught: unknown) => ({ data: undefined, response: undefined, caught }));
        expect(inferenceExchanges(setup.claude).length).toBe(before);
        let evidenceId: string | null;
        if (tier === 'operator') {
          expect(data?.choices[0]?.message.content).toBeTruthy();
          evidenceId = response?.headers.get('x-syndicate-evidence') ?? null;
        } else {
          expect(data).toBeUndefined();
          const { document } = await setup.scenario.json(['evidence', 'list', '--limit', '1']);
          evidenceId = ((document.evidence as { id: string }[])[0] as { id: string }).id;
        }
        expect(evidenceId).toBeTruthy();
        const evidence = await setup.scenario.evidence(evidenceId as string);
        expect(evidence.state).toBe(tier === 'operator' ? 'completed' : 'denied');
        expect((evidence.route as { levelSources: unknown }).levelSources).toEqual([
          { detector: 'operator.pattern', reason: "operator pattern 'code-names' (keyword)", locations: ['messages[0].content[0]'] },
        ]);
        expect(JSON.stringify(evidence.route)).not.toMatch(/nightjar/i);
      } finally {
        server.kill('SIGTERM');
        await server;
      }
    }
  }, 90_000);

  it('MCP route_explain and complete say the same, and complete stays local', async () => {
    const client = await connectMcpClient(setup.scenario.home, KEY);
    try {
      const explained = await client.callTool({ name: 'route_explain', arguments: { prompt: HOST_PROMPT } });
      expect(toolText(explained as Parameters<typeof toolText>[0])).toContain("because: operator pattern 'internal-hostnames' (operator.pattern at messages[0].content[0])");
      const before = inferenceExchanges(setup.claude).length;
      const completed = await client.callTool({ name: 'complete', arguments: { prompt: CODE_NAME_PROMPT } });
      const structured = completed.structuredContent as { provider: { id: string }; evidenceId: string };
      expect(structured.provider.id).toBe('ollama');
      expect(inferenceExchanges(setup.claude).length).toBe(before);
      const evidence = await setup.scenario.evidence(structured.evidenceId);
      expect((evidence.route as { levelSources: { detector: string }[] }).levelSources.map((source) => source.detector)).toEqual(['operator.pattern']);
    } finally {
      await client.close();
    }
  }, 90_000);
});
