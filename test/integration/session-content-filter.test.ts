/**
 * A stored session whose provider stops an answer for its content (Anthropic's `stop_reason:
 * "refusal"`: its classifiers cut the answer, no refusal message comes with it; Zhipu GLM's
 * `finish_reason: "sensitive"`). Anthropic's API
 * refuses every later turn of a conversation that still holds the refused one ("remove or rephrase
 * the turn"), so the turn is not kept: `run --session` prints what the model wrote and says on
 * stderr that the turn was not kept, `--json` and MCP `complete` say `turn: null, kept: false` (MCP
 * `complete` also in a note after its text content),
 * the evidence records the answer, and the next turn's request carries neither its prompt nor its
 * text. (A refusal statement of the model's own — OpenAI's `refusal` — is kept as the answer: run-refusal.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { connectMcpClient, toolText } from '../helpers/mcp.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';

const CLAUDE_MODEL = 'claude-sonnet-4-5-20250929';
/** What the fixture's model wrote before its classifiers stopped it. */
const CUT_TEXT = 'Here is how the first stage of the';
const FILTERED_PROMPT = 'Walk me through the exploit.';
const fixture = (name: string, wire: 'anthropic' | 'openai' = 'anthropic'): string => readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'wire', wire, name), 'utf8');

const GLM_MODEL = 'glm-5.3';
const env = { SESSION_FILTER_ANTHROPIC_KEY: 'sk-ant-fake', SESSION_FILTER_GLM_KEY: 'glm-fake' };

let claude: FakeEngine;
let glm: FakeEngine;
let scenario: Scenario;

beforeAll(async () => {
  [claude, glm] = await Promise.all([startFakeEngine({ kind: 'anthropic', models: [{ id: CLAUDE_MODEL }] }), startFakeEngine({ kind: 'openai', models: [{ id: GLM_MODEL }] })]);
  scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
  await scenario.registerInProcess(
    { id: 'claude', engine: claude, class: 'approved_hosted', model: CLAUDE_MODEL, authEnv: 'SESSION_FILTER_ANTHROPIC_KEY', price: { inputPerMTok: 3, outputPerMTok: 15 } },
    { id: 'glm', engine: glm, class: 'approved_hosted', model: GLM_MODEL, authEnv: 'SESSION_FILTER_GLM_KEY', price: { inputPerMTok: 0.6, outputPerMTok: 2.2 } },
  );
}, 90_000);

afterAll(async () => {
  scenario?.cleanup();
  await Promise.all([claude?.close(), glm?.close()]);
});

/** The next inference request is answered with the captured refusal: whole, or streamed as its SSE frames. */
function refuseNext(streamed: boolean): void {
  claude.setFault(
    streamed
      ? { status: 200, body: fixture('refusal.chunks.txt'), headers: { 'content-type': 'text/event-stream; charset=utf-8' } }
      : { status: 200, body: fixture('refusal.json') },
    1,
  );
}

/** A session named `name` started in this process, as `session start` starts it (no test here is about `session start`): its id. */
function startSession(name: string, model = `claude:${CLAUDE_MODEL}`): string {
  return scenario.startSessionInProcess({ name, model });
}

/** The stored turns of session `name`, as `session show --json` lists them, read by this process. */
function storedTurns(name: string): [number, string, string][] {
  const messages = (scenario.storedSession(name) as { messages: { turn: number; role: string; text: string }[] }).messages;
  return messages.map((message) => [message.turn, message.role, message.text]);
}

/** The last request the engine was sent: the conversation it carried. */
function lastRequestBody(engine: FakeEngine = claude): string {
  return inferenceExchanges(engine).at(-1)!.requestBody.toString();
}

describe('run --session: an answer the provider stopped for its content', () => {
  it.each([['--no-stream'], ['--stream']])('is printed, not kept in the session (one warning on stderr says so), and the next turn does not carry it (%s)', async (streaming) => {
    const name = `filtered${streaming}`;
    startSession(name);
    const first = await scenario.cli(['run', 'What is the capital of France?', '--session', name, streaming], { env });
    expect(first.exitCode, first.stderr).toBe(0);

    refuseNext(streaming === '--stream');
    // --max-tokens: the anthropic wire's own warning (none given, 1024 sent) is not printed beside it.
    const filtered = await scenario.cli(['run', FILTERED_PROMPT, '--session', name, streaming, '--max-tokens', '256'], { env });
    // The model answered: exit 0, what it wrote printed.
    expect(filtered.exitCode, filtered.stderr).toBe(0);
    expect(filtered.stdout).toBe(CUT_TEXT);
    const warnings = filtered.stderr.split('\n').filter((line) => line.startsWith('warning:'));
    expect(warnings).toEqual([
      `warning: the provider stopped the answer for its content (stop reason refusal): what is printed is what the model wrote before; the turn is not kept in session ${name}: rephrase the prompt`,
    ]);
    expect(filtered.stderr).toMatch(/ · session \S+ turn not kept/);
    expect(storedTurns(name)).toEqual([
      [1, 'user', 'What is the capital of France?'],
      [1, 'assistant', DEFAULT_ANSWER],
    ]);

    const third = await scenario.cli(['run', 'And of Italy?', '--session', name, streaming], { env });
    expect(third.exitCode, third.stderr).toBe(0);
    const sent = JSON.parse(lastRequestBody()) as { messages: { role: string; content: unknown }[] };
    expect(JSON.stringify(sent.messages)).not.toContain(FILTERED_PROMPT);
    expect(JSON.stringify(sent.messages)).not.toContain(CUT_TEXT);
    expect(sent.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user']);
    expect(third.stderr).toMatch(/ · session \S+ turn 2$/m);
    expect((storedTurns(name)).map(([turn, role, text]) => [turn, role, text])).toEqual([
      [1, 'user', 'What is the capital of France?'],
      [1, 'assistant', DEFAULT_ANSWER],
      [2, 'user', 'And of Italy?'],
      [2, 'assistant', DEFAULT_ANSWER],
    ]);
  }, 90_000);

  it('--json: `session` says the turn was not kept (turn null, kept false); the evidence records the answer under the session', async () => {
    const id = startSession('filteredjson');
    const first = await scenario.json(['run', 'What is the capital of France?', '--session', 'filteredjson'], { env });
    expect(first.result.exitCode, first.result.stderr).toBe(0);
    expect(first.document.session).toEqual({ id, turn: 1, kept: true });

    refuseNext(false);
    const { result, document } = await scenario.json(['run', FILTERED_PROMPT, '--session', 'filteredjson'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ ok: true, answer: CUT_TEXT, refusal: null, finishReason: 'content_filter', session: { id, turn: null, kept: false } });
    expect(scenario.storedEvidence(document.evidenceId as string)).toMatchObject({ state: 'completed', sessionId: id });
    expect(storedTurns('filteredjson')).toHaveLength(2);
  }, 90_000);

  it("Zhipu GLM's `finish_reason: \"sensitive\"` (its safety review stopped the answer) is such a stop: not kept, and the next turn does not carry it", async () => {
    const id = startSession('filteredglm', `glm:${GLM_MODEL}`);
    expect((await scenario.json(['run', 'What is the capital of France?', '--session', 'filteredglm'], { env })).document.session).toEqual({ id, turn: 1, kept: true });
    glm.setFault({ status: 200, body: fixture('glm-sensitive.json', 'openai') }, 1);
    const { result, document } = await scenario.json(['run', FILTERED_PROMPT, '--session', 'filteredglm', '--no-stream'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ ok: true, finishReason: 'content_filter', session: { id, turn: null, kept: false } });
    expect(storedTurns('filteredglm')).toHaveLength(2);
    const third = await scenario.json(['run', 'And of Italy?', '--session', 'filteredglm', '--no-stream'], { env });
    expect(third.document.session).toEqual({ id, turn: 2, kept: true });
    expect(lastRequestBody(glm)).not.toContain(FILTERED_PROMPT);
  }, 90_000);
});

describe('MCP complete in a stored session: an answer the provider stopped for its content', () => {
  let client: Client;
  beforeAll(async () => {
    client = await connectMcpClient(scenario.home, env);
  }, 90_000);
  afterAll(async () => {
    await client?.close();
  });

  it.each([['whole'], ['streamed']])('is the text content with a note that it is not kept (structured `session`: turn null, kept false), and the next turn does not carry it (%s)', async (how) => {
    const name = `mcpfiltered${how}`;
    const id = startSession(name);
    // With a progress token the call is streamed.
    const complete = async (prompt: string): Promise<CallToolResult> =>
      (await client.callTool({ name: 'complete', arguments: { prompt, session: name } }, CallToolResultSchema, how === 'streamed' ? { onprogress: () => {} } : {})) as CallToolResult;

    const first = await complete('What is the capital of France?');
    expect(first.isError, toolText(first)).toBeFalsy();
    expect(first.structuredContent).toMatchObject({ session: { id, turn: 1, kept: true } });

    refuseNext(how === 'streamed');
    const filtered = await complete(FILTERED_PROMPT);
    expect(filtered.isError, toolText(filtered)).toBeFalsy();
    // The text many hosts show the model alone says it too, after the cut answer.
    expect(toolText(filtered)).toBe(`${CUT_TEXT}\n\n[the provider stopped the answer for its content (stop reason refusal): the turn is not kept in session ${name}; rephrase the prompt]`);
    expect(filtered.structuredContent).toMatchObject({ answer: CUT_TEXT, finishReason: 'content_filter', session: { id, turn: null, kept: false } });
    expect((JSON.parse(lastRequestBody()) as { stream?: boolean }).stream === true).toBe(how === 'streamed');
    expect(storedTurns(name)).toHaveLength(2);

    const third = await complete('And of Italy?');
    expect(third.isError, toolText(third)).toBeFalsy();
    expect(third.structuredContent).toMatchObject({ session: { id, turn: 2, kept: true } });
    const sent = lastRequestBody();
    expect(sent).not.toContain(FILTERED_PROMPT);
    expect(sent).not.toContain(CUT_TEXT);
    expect(sent).toContain('What is the capital of France?');
    expect((storedTurns(name)).map(([turn, role]) => [turn, role])).toEqual([
      [1, 'user'],
      [1, 'assistant'],
      [2, 'user'],
      [2, 'assistant'],
    ]);
  }, 90_000);
});
