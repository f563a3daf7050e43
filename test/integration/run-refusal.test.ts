/**
 * A hosted OpenAI model's refusal (structured outputs: `message.refusal`, `content: null`;
 * streamed as `delta.refusal`) as `syndicate run` and the MCP `complete` tool report it: the
 * refusal is what the model answered — printed as the answer, with a note on stderr that the model
 * refused; `run --json` and `complete`'s structured content give it as `refusal` beside the (empty)
 * answer — instead of an empty answer. An Anthropic model's refusal (`stop_reason: "refusal"`: its
 * classifiers cut the answer, with no refusal message) prints what the model wrote before, with a
 * note on stderr that the provider stopped it; `--json` and `complete` say `finishReason:
 * content_filter`. And a run the policy refuses names its evidence on stderr, as an answered run's
 * summary does.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { connectMcpClient, toolText } from '../helpers/mcp.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';

const GPT_MODEL = 'gpt-4o-2024-08-06';
const REFUSAL = "I'm sorry, I cannot assist with that request.";
const SECRET_TEXT = 'deploy key AKIAIOSFODNN7EXAMPLE with secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const env = { RUN_REFUSAL_OPENAI_KEY: 'sk-fake' };
const fixture = (name: string, wire: 'openai' | 'anthropic' = 'openai'): string => readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'wire', wire, name), 'utf8');

let openai: FakeEngine;
let scenario: Scenario;

beforeAll(async () => {
  openai = await startFakeEngine({ kind: 'openai', models: [{ id: GPT_MODEL }], replay: { body: fixture('refusal.json'), stream: fixture('refusal.chunks.txt') } });
  scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
  await scenario.register({ id: 'gpt', engine: openai, class: 'approved_hosted', model: GPT_MODEL, authEnv: 'RUN_REFUSAL_OPENAI_KEY', price: { inputPerMTok: 2.5, outputPerMTok: 10 } });
}, 90_000);

afterAll(async () => {
  scenario?.cleanup();
  await openai?.close();
});

describe('syndicate run: a model that refuses', () => {
  it.each([['--no-stream'], ['--stream']])('prints the refusal as the answer, with a note on stderr that the model refused (%s)', async (streaming) => {
    const result = await scenario.cli(['run', 'Fill in the form.', streaming], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe(REFUSAL);
    expect(result.stderr).toContain('warning: the model refused to answer');
    expect(result.stderr).toMatch(new RegExp(`gpt@v1 ${GPT_MODEL} · public · .* · evidence \\S+`));
  }, 90_000);

  it.each([['--no-stream'], ['--stream']])('--json: the refusal beside the answer (%s)', async (streaming) => {
    const { result, document } = await scenario.json(['run', 'Fill in the form.', streaming], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ ok: true, answer: '', refusal: REFUSAL, finishReason: 'stop', reasoning: null });
  }, 90_000);

  it('run --session: the refused turn is stored with the refusal as its answer, and the next turn sends it back as the assistant said it', async () => {
    const started = await scenario.json(['session', 'start', '--model', `gpt:${GPT_MODEL}`]);
    expect(started.result.exitCode, started.result.stderr).toBe(0);
    const id = (started.document.session as { id: string }).id;
    for (const prompt of ['Fill in the form.', 'Why not?']) {
      const { result } = await scenario.json(['run', prompt, '--session', id, '--no-stream'], { env });
      expect(result.exitCode, result.stderr).toBe(0);
    }
    const shown = await scenario.json(['session', 'show', id]);
    const messages = (shown.document.session as { messages: { turn: number; role: string; text: string }[] }).messages;
    expect(messages.map((message) => [message.turn, message.role, message.text])).toEqual([
      [1, 'user', 'Fill in the form.'],
      [1, 'assistant', REFUSAL],
      [2, 'user', 'Why not?'],
      [2, 'assistant', REFUSAL],
    ]);
    const sent = JSON.parse(inferenceExchanges(openai).at(-1)!.requestBody.toString()) as { messages: { role: string; content: unknown }[] };
    expect(sent.messages.map((message) => [message.role, message.content])).toEqual([
      ['user', 'Fill in the form.'],
      ['assistant', REFUSAL],
      ['user', 'Why not?'],
    ]);
  }, 90_000);

  it('--json: an answer that is no refusal says `refusal: null`', async () => {
    const engine = await startFakeEngine({ kind: 'openai', models: [{ id: GPT_MODEL }] });
    const other = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    try {
      await other.register({ id: 'gpt', engine, class: 'approved_hosted', model: GPT_MODEL, authEnv: 'RUN_REFUSAL_OPENAI_KEY', price: { inputPerMTok: 2.5, outputPerMTok: 10 } });
      const { result, document } = await other.json(['run', 'Say hello.', '--no-stream'], { env });
      expect(result.exitCode, result.stdout).toBe(0);
      expect(document.answer).not.toBe('');
      expect(document.refusal).toBeNull();
    } finally {
      other.cleanup();
      await engine.close();
    }
  }, 90_000);

  it('a run the policy refuses names its evidence on stderr, after the error and its hint', async () => {
    const { document } = await scenario.json(['run', SECRET_TEXT], { env });
    expect(document).toMatchObject({ ok: false, error: { code: 'route_denied' } });
    const refused = await scenario.cli(['run', SECRET_TEXT, '--no-stream'], { env });
    expect(refused.exitCode).toBe(4);
    expect(refused.stdout).toBe('');
    const lines = refused.stderr.split('\n');
    expect(lines[0]).toMatch(/^error: /);
    // The error printed once: one error line, its hint, then the evidence the refusal recorded.
    expect(lines.filter((line) => line.startsWith('error:'))).toHaveLength(1);
    expect(lines.at(-2)).toMatch(/^hint: /);
    const evidenceId = /^evidence (\S+)$/.exec(lines.at(-1) ?? '')?.[1];
    expect(evidenceId, refused.stderr).toBeDefined();
    const envelope = await scenario.evidence(evidenceId ?? '');
    expect(envelope).toMatchObject({ id: evidenceId, state: 'denied' });
  }, 90_000);
});

describe('MCP complete: a model that refuses', () => {
  let client: Client;
  beforeAll(async () => {
    client = await connectMcpClient(scenario.home, env);
  }, 90_000);
  afterAll(async () => {
    await client?.close();
  });

  it('the refusal is the text content; the structured content says it was one (`refusal`), whole and streamed', async () => {
    const whole = (await client.callTool({ name: 'complete', arguments: { prompt: 'Fill in the form.' } })) as CallToolResult;
    expect(whole.isError, toolText(whole)).toBeFalsy();
    expect(toolText(whole)).toBe(REFUSAL);
    expect(whole.structuredContent).toMatchObject({ answer: '', refusal: REFUSAL });
    // With a progress token the call is streamed (`delta.refusal`).
    const streamed = (await client.callTool({ name: 'complete', arguments: { prompt: 'Fill in the form.' } }, CallToolResultSchema, { onprogress: () => {} })) as CallToolResult;
    expect(streamed.isError, toolText(streamed)).toBeFalsy();
    expect(toolText(streamed)).toBe(REFUSAL);
    expect(streamed.structuredContent).toMatchObject({ answer: '', refusal: REFUSAL });
    expect(JSON.parse(openai.exchanges.at(-1)?.requestBody.toString() ?? '{}')).toMatchObject({ stream: true });
  }, 90_000);
});

describe('an Anthropic refusal (stop_reason refusal): run and MCP complete', () => {
  const CLAUDE_MODEL = 'claude-sonnet-4-5-20250929';
  /** What the fixture's model wrote before its classifiers stopped it. */
  const CUT_TEXT = 'Here is how the first stage of the';
  const claudeEnv = { RUN_REFUSAL_ANTHROPIC_KEY: 'sk-ant-fake' };
  let claude: FakeEngine;
  let home: Scenario;
  let client: Client;

  beforeAll(async () => {
    claude = await startFakeEngine({ kind: 'anthropic', models: [{ id: CLAUDE_MODEL }], replay: { body: fixture('refusal.json', 'anthropic'), stream: fixture('refusal.chunks.txt', 'anthropic') } });
    home = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    await home.register({ id: 'claude', engine: claude, class: 'approved_hosted', model: CLAUDE_MODEL, authEnv: 'RUN_REFUSAL_ANTHROPIC_KEY', price: { inputPerMTok: 3, outputPerMTok: 15 } });
    client = await connectMcpClient(home.home, claudeEnv);
  }, 90_000);

  afterAll(async () => {
    await client?.close();
    home?.cleanup();
    await claude?.close();
  });

  it.each([['--no-stream'], ['--stream']])('run prints what the model wrote, with a note on stderr that the provider stopped it (%s)', async (streaming) => {
    const result = await home.cli(['run', 'Walk me through the exploit.', streaming], { env: claudeEnv });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe(CUT_TEXT);
    expect(result.stderr).toContain('warning: the provider stopped the answer for its content (stop reason refusal)');
    expect(result.stderr).not.toContain('the model refused to answer: its refusal');
  }, 90_000);

  it('run --json: finishReason content_filter, the text as the answer, refusal null', async () => {
    const { result, document } = await home.json(['run', 'Walk me through the exploit.'], { env: claudeEnv });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ ok: true, answer: CUT_TEXT, refusal: null, finishReason: 'content_filter' });
  }, 90_000);

  it('complete: the text content is what the model wrote; the structured content says finishReason content_filter', async () => {
    const whole = (await client.callTool({ name: 'complete', arguments: { prompt: 'Walk me through the exploit.' } })) as CallToolResult;
    expect(whole.isError, toolText(whole)).toBeFalsy();
    expect(toolText(whole)).toBe(CUT_TEXT);
    expect(whole.structuredContent).toMatchObject({ answer: CUT_TEXT, refusal: null, finishReason: 'content_filter' });
  }, 90_000);
});
