import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../helpers/cli.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { expectEvidenceHoldsExchange, lastSent, PERSON_SCHEMA, PNG, QUESTION, TIME_TOOL, WEATHER_TOOL, type Json } from '../helpers/request-options.js';
import { defaultModel, inferenceExchanges, providerYaml, Scenario } from '../helpers/scenario.js';

/**
 * `syndicate mcp`'s `complete` and `route_explain` take what `run` takes beyond the prompt —
 * images (MCP image content), a JSON Schema, a reasoning effort, tools and a tool choice —
 * checked by the same readers with the same messages, each naming the argument, and sent as
 * `run` sends them: the engine gets those bytes and the evidence holds them.
 */

const IMAGE = { type: 'image', data: PNG.toString('base64'), mimeType: 'image/png' };

describe('syndicate mcp: complete and route_explain take images, a JSON Schema, a reasoning effort and tools', () => {
  let scenario: Scenario;
  let llama: FakeEngine;
  let studio: FakeEngine;
  let client: Client;

  beforeAll(async () => {
    [llama, studio] = await Promise.all([startFakeEngine({ kind: 'llama.cpp', jinja: true }), startFakeEngine({ kind: 'lmstudio' })]);
    scenario = await Scenario.create();
    const records = [providerYaml({ id: 'llama', engine: llama, tags: ['vision', 'tools'] }), providerYaml({ id: 'studio', engine: studio, tags: ['reasoning'] })];
    const paths = records.map((record, index) => {
      const path = join(scenario.home, `provider-${index}.yaml`);
      writeFileSync(path, record);
      return path;
    });
    const registered = await scenario.cli(['provider', 'register', ...paths]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], cwd: REPO_ROOT, env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1' }, stderr: 'pipe' });
    client = new Client({ name: 'syndicate-test', version: '1.0.0' });
    await client.connect(transport);
  }, 90_000);

  afterAll(async () => {
    await client?.close();
    scenario?.cleanup();
    await Promise.all([llama?.close(), studio?.close()]);
  });

  const call = async (name: string, args: Record<string, unknown>): Promise<CallToolResult> => (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = (result: CallToolResult): string => result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');

  it('lists the new arguments, each with a description, on complete and route_explain', async () => {
    const { tools } = await client.listTools();
    for (const name of ['complete', 'route_explain']) {
      const properties = tools.find((tool) => tool.name === name)!.inputSchema.properties as Record<string, { description?: string }>;
      for (const argument of ['images', 'schema', 'jsonMode', 'reasoningEffort', 'tools', 'toolChoice', 'temperature']) {
        expect(properties[argument]?.description, `${name} ${argument}`).toEqual(expect.any(String));
      }
    }
  });

  it('complete: images go inline before the prompt (confidential, vision models only); a schema goes as a json_schema answer format', async () => {
    const result = await call('complete', { prompt: 'What is in this screenshot?', images: [IMAGE], schema: PERSON_SCHEMA });
    expect(result.isError, text(result)).toBeFalsy();
    const structured = result.structuredContent as Json;
    expect(structured).toMatchObject({ provider: { id: 'llama' }, sensitivity: 'confidential' });
    const sent = lastSent(llama);
    expect(sent.messages).toEqual([
      { role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG.toString('base64')}` } }, { type: 'text', text: 'What is in this screenshot?' }] },
    ]);
    expect(sent.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema: PERSON_SCHEMA } });
    await expectEvidenceHoldsExchange(scenario, llama, structured.evidenceId as string);
  });

  it('complete: tools in either form go in the wire form, the forced tool as tool_choice; the calls come back as toolCalls', async () => {
    const result = await call('complete', { prompt: QUESTION, tools: [WEATHER_TOOL, TIME_TOOL], toolChoice: 'get_time' });
    expect(result.isError, text(result)).toBeFalsy();
    const sent = lastSent(llama);
    expect(sent.tools).toEqual([WEATHER_TOOL, { type: 'function', function: { name: 'get_time', description: 'Time now', parameters: TIME_TOOL.input_schema } }]);
    expect(sent.tool_choice).toEqual({ type: 'function', function: { name: 'get_time' } });
    const structured = result.structuredContent as Json;
    expect(structured.finishReason).toBe('tool_calls');
    expect(structured.toolCalls).toEqual([{ id: expect.any(String), name: 'get_time', arguments: JSON.stringify({ zone: DEFAULT_ANSWER }) }]);
    // The text content says it too, one line per call, as `run` prints them.
    expect(text(result)).toBe(`tool call get_time ${JSON.stringify({ zone: DEFAULT_ANSWER })}`);
    await expectEvidenceHoldsExchange(scenario, llama, structured.evidenceId as string);
  });

  it('complete: jsonMode asks for any JSON object (response_format json_object); beside a schema it is a tool error', async () => {
    const result = await call('complete', { prompt: 'Name a city as JSON.', provider: 'llama', jsonMode: true });
    expect(result.isError, text(result)).toBeFalsy();
    expect(lastSent(llama).response_format).toEqual({ type: 'json_object' });
    const both = await call('complete', { prompt: 'Name a city as JSON.', jsonMode: true, schema: PERSON_SCHEMA });
    expect(both.isError).toBe(true);
    expect(text(both)).toContain('`schema` and `jsonMode` both ask for the form of the answer (usage)');
  });

  it('complete: a reasoning effort is sent as reasoning_effort, to a model that reasons', async () => {
    const result = await call('complete', { prompt: 'What is two plus two?', provider: 'studio', reasoningEffort: 'high', temperature: 0.3 });
    expect(result.isError, text(result)).toBeFalsy();
    expect(lastSent(studio)).toMatchObject({ reasoning_effort: 'high', temperature: 0.3 });
    await expectEvidenceHoldsExchange(scenario, studio, (result.structuredContent as Json).evidenceId as string);
  });

  it('an image as another MCP tool returned it (with its annotations and _meta) is taken as it came; a key MCP image content has not is still refused', async () => {
    const returned = { ...IMAGE, annotations: { audience: ['user', 'assistant'], priority: 0.5 }, _meta: { 'example.com/source': 'screenshot' } };
    const result = await call('complete', { prompt: 'What is in this screenshot?', images: [returned] });
    expect(result.isError, text(result)).toBeFalsy();
    expect(lastSent(llama).messages).toEqual([
      { role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG.toString('base64')}` } }, { type: 'text', text: 'What is in this screenshot?' }] },
    ]);
    const explained = await call('route_explain', { prompt: 'What is in this screenshot?', images: [returned] });
    expect(explained.isError, text(explained)).toBeFalsy();
    const misspelt = await call('complete', { prompt: 'What is in this screenshot?', images: [{ ...IMAGE, mimetype: 'image/png' }] });
    expect(misspelt.isError).toBe(true);
    expect(text(misspelt)).toMatch(/Unrecognized key[\s\S]*mimetype/);
  });

  it("bad images, tools and tool choices are tool errors with run's messages, naming the argument; nothing is sent", async () => {
    const sent = inferenceExchanges(llama).length + inferenceExchanges(studio).length;
    const text64 = Buffer.from('this is text, not a PNG').toString('base64');
    const cases: [Record<string, unknown>, string][] = [
      [
        { images: [IMAGE, { data: text64, mimeType: 'image/png' }] },
        '`images[1]` is not a PNG, JPEG, GIF or WebP image (told by its first bytes, not its `mimeType`) (usage)\nhint: convert it to PNG, JPEG, GIF or WebP, or send another image',
      ],
      [{ images: [{ ...IMAGE, mimeType: 'image/jpeg' }] }, '`images[0]` says it is image/jpeg and its bytes are image/png (usage)'],
      [{ toolChoice: 'auto' }, '`toolChoice` applies to `tools` only (usage)\nhint: add `tools`, or drop `toolChoice`'],
      [{ tools: [WEATHER_TOOL], toolChoice: 'get_stock' }, '`toolChoice` get_stock names no tool of `tools` (usage)\nhint: use auto, none, required or one of: get_weather'],
      [{ tools: [WEATHER_TOOL, { type: 'function', function: { description: 'no name' } }] }, '`tools`: /1/function/name: is required (invalid_input)'],
      [{ tools: [] }, '`tools`: must be a non-empty JSON array of tool definitions (invalid_input)'],
    ];
    for (const tool of ['complete', 'route_explain']) {
      for (const [args, message] of cases) {
        const result = await call(tool, { prompt: QUESTION, ...args });
        expect(result.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
        expect(text(result)).toContain(message);
      }
    }
    // Not base64 at all: refused by the input schema, the argument named.
    const garbled = await call('complete', { prompt: QUESTION, images: [{ data: 'not base64!', mimeType: 'image/png' }] });
    expect(garbled.isError).toBe(true);
    expect(text(garbled)).toMatch(/images[\s\S]*data/);
    // A stored session keeps text and images, not tool calls: `tools` beside one is refused.
    const started = await scenario.json(['session', 'start', '--name', 'texts']);
    expect(started.result.exitCode, started.result.stderr).toBe(0);
    const session = (started.document.session as Json).id as string;
    const refused = await call('complete', { prompt: QUESTION, session: 'texts', images: [IMAGE], tools: [WEATHER_TOOL] });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain(`\`tools\` does not apply to a stored session: it keeps its turns as text (usage)\nhint: drop \`tools\`, or drop \`session\` ${session}`);
    expect(inferenceExchanges(llama).length + inferenceExchanges(studio).length).toBe(sent);
  });

  it('complete: `images` with a stored session stay in its conversation; the next call sends them again, route_explain counts them', async () => {
    const started = await scenario.json(['session', 'start', '--name', 'screenshots', '--model', `llama:${defaultModel(llama)}`]);
    expect(started.result.exitCode, started.result.stderr).toBe(0);
    const first = await call('complete', { prompt: 'What is in this screenshot?', images: [IMAGE], session: 'screenshots' });
    expect(first.isError, text(first)).toBeFalsy();
    expect(first.structuredContent).toMatchObject({ sensitivity: 'confidential', session: { turn: 1 } });
    const second = await call('complete', { prompt: 'And its colour?', session: 'screenshots' });
    expect(second.isError, text(second)).toBeFalsy();
    expect(second.structuredContent).toMatchObject({ provider: { id: 'llama' }, sensitivity: 'confidential', session: { turn: 2 } });
    expect(lastSent(llama).messages).toEqual([
      { role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${IMAGE.data}` } }, { type: 'text', text: 'What is in this screenshot?' }] },
      { role: 'assistant', content: DEFAULT_ANSWER },
      { role: 'user', content: 'And its colour?' },
    ]);
    await expectEvidenceHoldsExchange(scenario, llama, (second.structuredContent as Json).evidenceId as string);
    const explained = await call('route_explain', { prompt: 'And the next one?', session: 'screenshots' });
    expect(explained.isError, text(explained)).toBeFalsy();
    expect((explained.structuredContent as Json).plan.sensitivity).toBe('confidential');
  });

  it('route_explain: explains what complete would send with them, as `route` does with the flags; beside a request body they are refused', async () => {
    const explained = await call('route_explain', { prompt: 'What is in this screenshot?', images: [IMAGE] });
    expect(explained.isError, text(explained)).toBeFalsy();
    const plan = (explained.structuredContent as Json).plan as Json;
    expect(plan.sensitivity).toBe('confidential');
    expect(plan.candidates.map((candidate: Json) => candidate.provider)).toEqual(['llama']);
    expect(plan.excluded.find((exclusion: Json) => exclusion.provider === 'studio').rules).toContain('vision');
    const png = join(scenario.home, 'screen.png');
    writeFileSync(png, PNG);
    const routed = await scenario.json(['route', 'What is in this screenshot?', '--image', png]);
    expect(routed.result.exitCode, routed.result.stderr).toBe(0);
    const targets = (candidates: Json[]): string[] => candidates.map((candidate) => `${candidate.provider}:${candidate.model}`);
    expect(targets((routed.document.plan as Json).candidates)).toEqual(targets(plan.candidates));

    const withTools = await call('route_explain', { prompt: QUESTION, tools: [WEATHER_TOOL] });
    expect(((withTools.structuredContent as Json).plan as Json).excluded.find((exclusion: Json) => exclusion.provider === 'studio').rules).toContain('tools');

    const body = { model: 'auto', messages: [{ role: 'user', content: QUESTION }] };
    for (const [name, value, carrier] of [
      ['tools', [WEATHER_TOOL], 'its `tools`'],
      ['images', [IMAGE], 'image parts in its messages'],
      ['reasoningEffort', 'low', 'its `reasoning_effort` (OpenAI) or `thinking` (Anthropic)'],
      ['temperature', 0.5, 'its `temperature`'],
    ] as const) {
      const refused = await call('route_explain', { request: body, [name]: value });
      expect(refused.isError, name).toBe(true);
      expect(text(refused)).toBe(`\`${name}\` does not apply to \`request\`: the body says it (usage)\nhint: set ${carrier} in the body`);
    }
  });
});
