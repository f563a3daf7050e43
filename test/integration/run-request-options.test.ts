import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { expectEvidenceHoldsExchange, lastSent, PERSON_SCHEMA, PNG, QUESTION, sparsePngs, TIME_TOOL, WEATHER_TOOL, type Json } from '../helpers/request-options.js';
import { ANTHROPIC_JSON_INSTRUCTION } from '../../src/wire/anthropic/adapter.js';
import { defaultModel, inferenceExchanges, providerYaml, Scenario } from '../helpers/scenario.js';

/**
 * `syndicate run` sends what gateway clients can — images, a JSON Schema, a reasoning effort,
 * tools — through the same canonical request and pipeline: each reaches the engine as its wire
 * spells it (the evidence holds those exact bytes), the classifier and the router's capability
 * rules see it as they see a gateway request's, and `route` explains the same flags.
 */

describe('syndicate run: images, a JSON Schema, a reasoning effort and tools', () => {
  let scenario: Scenario;
  let llama: FakeEngine;
  let noJinja: FakeEngine;
  let studio: FakeEngine;
  let openai: FakeEngine;
  const file = (name: string, content: string | Buffer): string => {
    const path = join(scenario.home, name);
    writeFileSync(path, content);
    return path;
  };
  let png: string;
  let tools: string;
  let schema: string;

  beforeAll(async () => {
    [llama, noJinja, studio, openai] = await Promise.all([
      startFakeEngine({ kind: 'llama.cpp', jinja: true }),
      startFakeEngine({ kind: 'llama.cpp', jinja: false }),
      startFakeEngine({ kind: 'lmstudio' }),
      startFakeEngine({ kind: 'openai' }),
    ]);
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    const records = [
      providerYaml({ id: 'llama', engine: llama, tags: ['vision', 'tools'] }),
      // Preferred for tools, but llama-server without --jinja refuses them (HTTP 500): the refusal is remembered.
      providerYaml({ id: 'nojinja', engine: noJinja, tags: ['tools'] }).replace('    capabilityClass: small', '    capabilityClass: small\n    priority: 10'),
      providerYaml({ id: 'studio', engine: studio, tags: ['reasoning'] }),
      // OpenAI's own API answers reasoning_effort with a 400 for a model that does not reason.
      providerYaml({ id: 'gpt', engine: openai, class: 'approved_hosted', authEnv: 'RUN_OPTIONS_OPENAI_KEY', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } }).replace('wire: openai', 'wire: openai\nvendor: openai'),
    ];
    await scenario.registerFilesInProcess(...records.map((record, index) => file(`provider-${index}.yaml`, record)));
    png = file('screen.png', PNG);
    tools = file('tools.json', JSON.stringify([WEATHER_TOOL, TIME_TOOL], null, 2));
    schema = file('person.schema.json', JSON.stringify(PERSON_SCHEMA));
  }, 90_000);

  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([llama, noJinja, studio, openai].map((engine) => engine?.close()));
  });

  it('--image: sent inline as a data: URL before the prompt, classified as image content (confidential), routed to vision models only', async () => {
    const { result, document } = await scenario.json(['run', 'What is in this screenshot?', '--image', png, '--no-stream']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ answer: DEFAULT_ANSWER, provider: { id: 'llama' }, sensitivity: 'confidential' });
    const sentMessages = [
      { role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG.toString('base64')}` } }, { type: 'text', text: 'What is in this screenshot?' }] },
    ];
    expect(lastSent(llama).messages).toEqual(sentMessages);
    await expectEvidenceHoldsExchange(scenario, llama, document.evidenceId as string, 'in-process');
    const envelope = scenario.storedEvidence(document.evidenceId as string) as Json;
    expect(envelope.sensitivity).toBe('confidential');
    expect(envelope.route.excluded).toContainEqual(expect.objectContaining({ provider: 'studio', model: 'qwen2.5-7b-instruct', rules: ['vision'], reasons: ['request has images but the model is not tagged vision'] }));

    // `route` explains the same flags: the models without the vision tag and the hosted one are left out.
    const routed = await scenario.json(['route', 'What is in this screenshot?', '--image', png]);
    expect(routed.result.exitCode, routed.result.stderr).toBe(0);
    const plan = routed.document.plan as Json;
    expect(plan.sensitivity).toBe('confidential');
    expect(plan.candidates.map((candidate: Json) => candidate.provider)).toEqual(['llama']);
    expect(plan.excluded.find((exclusion: Json) => exclusion.provider === 'studio').rules).toContain('vision');
    expect(plan.excluded.find((exclusion: Json) => exclusion.provider === 'gpt').rules).toContain('class_not_allowed');
  }, 90_000);

  it('several --image files whose request would be over the 32 MiB input limit together (each under it): exit 3 before anything is sent, --image - and a --session id that is no stored session too', async () => {
    const MIB = 1024 * 1024;
    const scratch = mkdtempSync(join(tmpdir(), 'syndicate-run-images-'));
    try {
      // 13 MiB each, sparse (a PNG header, then zeros): 17.3 MiB base64-encoded, so one fits and two do not.
      const images = sparsePngs(scratch, 13 * MIB);
      const before = inferenceExchanges(llama).length;
      const prompt = 'Compare these two screenshots.';
      const total = prompt.length + 'Be brief.'.length + 2 * 4 * Math.ceil((13 * MIB) / 3);
      const message = `this prompt with its 2 images would be ${(total / MIB).toFixed(1)} MiB (${total} bytes) as sent (images base64-encoded), more than the 32 MiB syndicate sends in one request: nothing was classified or sent`;
      const hint = 'send less with this prompt: fewer or smaller --image files (each is sent base64-encoded, 4/3 of its size)';
      const args = ['run', prompt, '--system', 'Be brief.', '--image', images[0], '--no-stream'];
      const [refused, human, fromStdin, labelled] = await Promise.all([
        scenario.json([...args, '--image', images[1]]),
        scenario.cli([...args, '--image', images[1]]),
        // Its size known only once read: measured then, before anything is sent.
        scenario.json([...args, '--image', '-'], { input: Buffer.concat([PNG, Buffer.from([1]), Buffer.alloc(13 * MIB - PNG.length - 1)]) }),
        // An id that is no stored session is only a label: the request is bounded as without one.
        scenario.json([...args, '--image', images[1], '--session', 'not-a-stored-session']),
      ]);
      expect(refused.result.exitCode, JSON.stringify(refused.document)).toBe(3);
      expect(refused.document.error).toEqual({ code: 'invalid_input', message, hint, details: { bytes: total, limitBytes: 32 * MIB, problems: [] } });
      expect({ exitCode: human.exitCode, stderr: human.stderr }).toEqual({ exitCode: 3, stderr: `error: ${message}\nhint: ${hint}` });
      for (const other of [fromStdin, labelled]) {
        expect(other.result.exitCode, JSON.stringify(other.document)).toBe(3);
        expect(other.document.error).toMatchObject({ code: 'invalid_input', message, hint });
      }
      expect(inferenceExchanges(llama)).toHaveLength(before);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 90_000);

  it('route --explain with --image files over the 32 MiB input limit together refuses as run does (exit 3, the same message and hint), --image - and a --session id that is no stored session too', async () => {
    const MIB = 1024 * 1024;
    const scratch = mkdtempSync(join(tmpdir(), 'syndicate-route-images-'));
    try {
      const images = sparsePngs(scratch, 13 * MIB);
      const prompt = 'Compare these two screenshots.';
      const stdinImage = Buffer.concat([PNG, Buffer.from([1]), Buffer.alloc(13 * MIB - PNG.length - 1)]);
      const asked = [prompt, '--system', 'Be brief.', '--image', images[0]];
      const [run, routed, routedJson, runFromStdin, routedFromStdin, routedLabelled] = await Promise.all([
        scenario.cli(['run', ...asked, '--image', images[1], '--no-stream']),
        scenario.cli(['route', '--explain', ...asked, '--image', images[1]]),
        scenario.json(['route', '--explain', ...asked, '--image', images[1]]),
        // Its size known only once read: measured then.
        scenario.json(['run', ...asked, '--image', '-', '--no-stream'], { input: stdinImage }),
        scenario.json(['route', '--explain', ...asked, '--image', '-'], { input: stdinImage }),
        scenario.json(['route', '--explain', ...asked, '--image', images[1], '--session', 'not-a-stored-session']),
      ]);
      expect(run.exitCode, run.stderr).toBe(3);
      expect(run.stderr).toContain('more than the 32 MiB syndicate sends in one request: nothing was classified or sent');
      expect({ exitCode: routed.exitCode, stdout: routed.stdout, stderr: routed.stderr }).toEqual({ exitCode: 3, stdout: '', stderr: run.stderr });
      expect(routedJson.result.exitCode).toBe(3);
      expect(routedJson.document.error).toMatchObject({ code: 'invalid_input', message: run.stderr.split('\n')[0]?.replace(/^error: /, '') });
      expect(runFromStdin.result.exitCode).toBe(3);
      for (const other of [routedFromStdin, routedLabelled]) {
        expect(other.result.exitCode, JSON.stringify(other.document)).toBe(3);
        expect(other.document.error).toEqual(runFromStdin.document.error);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 90_000);

  it('--image refuses a missing file and a file (or stdin) of another type (by its bytes, whatever its name): usage errors naming the file and the types; --tools with a stored session is refused', async () => {
    const fake = file('fake.png', 'this is text, not a PNG');
    const sent = inferenceExchanges(llama).length;
    const notImage = await scenario.json(['run', 'describe it', '--image', png, '--image', fake]);
    expect(notImage.result.exitCode).toBe(2);
    expect(notImage.document.error).toMatchObject({ code: 'usage', message: `--image ${fake} is not a PNG, JPEG, GIF or WebP image (told by its first bytes, not its name)` });
    const missing = await scenario.cli(['run', 'describe it', '--image', join(scenario.home, 'nope.png')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain(`--image: cannot read ${join(scenario.home, 'nope.png')}: no such file`);
    expect(missing.stderr).toContain('PNG, JPEG, GIF or WebP');
    const stdin = await scenario.cli(['run', 'describe it', '--image', '-'], { input: 'this is text, not a PNG' });
    expect(stdin.exitCode).toBe(2);
    expect(stdin.stderr).toContain('--image <stdin> is not a PNG, JPEG, GIF or WebP image');
    // A stored session keeps its images (test/integration/session-images.test.ts) but not tool calls: there is no way to give their results on the CLI.
    const session = scenario.startSessionInProcess();
    const inSession = await scenario.cli(['run', 'describe it', '--image', png, '--tools', tools, '--session', session]);
    expect(inSession.exitCode).toBe(2);
    expect(inSession.stderr).toContain('--tools does not apply to a stored session: it keeps its turns as text');
    expect(inSession.stderr).toContain(`hint: drop --tools, or drop --session ${session}`);
    expect(inferenceExchanges(llama)).toHaveLength(sent);
  }, 90_000);

  it('--schema: a json_schema answer format named after the file; invalid JSON is exit 3 with its line and column; --json-mode beside it is a usage error', async () => {
    const { result, document } = await scenario.json(['run', 'Who wrote Hamlet?', '--provider', 'llama', '--schema', schema]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(lastSent(llama).response_format).toEqual({ type: 'json_schema', json_schema: { name: 'person_schema', schema: PERSON_SCHEMA } });
    await expectEvidenceHoldsExchange(scenario, llama, document.evidenceId as string, 'in-process');
    // `--schema -`: the schema piped in, named `answer` (stdin has no file name).
    const piped = await scenario.json(['run', 'Who wrote Hamlet?', '--provider', 'llama', '--schema', '-'], { input: JSON.stringify(PERSON_SCHEMA) });
    expect(piped.result.exitCode, piped.result.stderr).toBe(0);
    expect(lastSent(llama).response_format).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema: PERSON_SCHEMA } });

    const broken = file('broken.json', '{\n  "type": "object",\n  "properties": {,}\n}\n');
    const invalid = await scenario.json(['run', 'Who wrote Hamlet?', '--schema', broken]);
    expect(invalid.result.exitCode).toBe(3);
    expect(invalid.document.error).toMatchObject({ code: 'invalid_input', message: `${broken} is not valid JSON: expected a property name in double quotes at line 3, column 18` });
    const both = await scenario.cli(['run', 'Who wrote Hamlet?', '--schema', schema, '--json-mode']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('--schema and --json-mode both ask for the form of the answer');
  }, 90_000);

  it('--reasoning-effort: sent as reasoning_effort where the server takes it; where no candidate can carry it, refused as the gateway refuses it (exit 4)', async () => {
    const { result, document } = await scenario.json(['run', 'What is two plus two?', '--provider', 'studio', '--reasoning-effort', 'high']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(lastSent(studio).reasoning_effort).toBe('high');
    await expectEvidenceHoldsExchange(scenario, studio, document.evidenceId as string, 'in-process');

    const sent = inferenceExchanges(openai).length;
    const refused = await scenario.json(['run', 'What is two plus two?', '--provider', 'gpt', '--reasoning-effort', 'low'], { env: { RUN_OPTIONS_OPENAI_KEY: 'not-a-real-key' } });
    expect(refused.result.exitCode).toBe(4);
    expect(refused.document.error).toMatchObject({ code: 'reasoning_effort_unsupported' });
    expect((refused.document.error as Json).message).toMatch(/^no model this public request may use accepts its reasoning_effort: gpt:gpt-4o-mini: /);
    expect(inferenceExchanges(openai)).toHaveLength(sent);
    const unknown = await scenario.cli(['run', 'What is two plus two?', '--reasoning-effort', 'extreme']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('none, minimal, low, medium, high, xhigh, max');
  }, 90_000);

  it('--tools: both forms sent in the wire form, tool calls printed one a line (and as toolCalls with --json); a tools refusal is remembered', async () => {
    // The preferred model's engine refuses tools (HTTP 500): run falls back to the next tools model. Streamed, the calls are printed when whole.
    const human = await scenario.cli(['run', QUESTION, '--tools', tools, '--tool-choice', 'required', '--stream']);
    expect(human.exitCode, human.stderr).toBe(0);
    // One line per call and nothing else (execa strips the final newline).
    expect(human.stdout).toBe(`tool call get_weather ${JSON.stringify({ city: DEFAULT_ANSWER })}`);
    expect(inferenceExchanges(noJinja)).toHaveLength(1);
    const sent = lastSent(llama);
    expect(sent.tools).toEqual([WEATHER_TOOL, { type: 'function', function: { name: 'get_time', description: 'Time now', parameters: TIME_TOOL.input_schema } }]);
    expect(sent.tool_choice).toBe('required');

    // The refusal is remembered: the next tools request never reaches that model; the answer as --json.
    const { result, document } = await scenario.json(['run', QUESTION, '--tools', tools, '--tool-choice', 'get_time']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(inferenceExchanges(noJinja)).toHaveLength(1);
    expect(lastSent(llama).tool_choice).toEqual({ type: 'function', function: { name: 'get_time' } });
    expect(document.finishReason).toBe('tool_calls');
    expect(document.toolCalls).toEqual([{ id: expect.any(String), name: 'get_time', arguments: JSON.stringify({ zone: DEFAULT_ANSWER }) }]);
    await expectEvidenceHoldsExchange(scenario, llama, document.evidenceId as string, 'in-process');

    // `route` applies the same rules: no tools tag, or a remembered refusal, keeps a model out.
    const routed = await scenario.json(['route', QUESTION, '--tools', tools]);
    const plan = routed.document.plan as Json;
    expect(plan.candidates.map((candidate: Json) => candidate.provider)).toEqual(['llama']);
    expect(plan.excluded.find((exclusion: Json) => exclusion.provider === 'studio').rules).toContain('tools');
    expect(plan.excluded.find((exclusion: Json) => exclusion.provider === 'nojinja').rules).toEqual(['tools_refused']);
  }, 90_000);

  it('--tools: a definition of neither form is exit 3 naming the file and pointer; --tool-choice naming no tool, or without --tools, is a usage error; route --request refuses the flags', async () => {
    const bad = file('bad-tools.json', JSON.stringify([WEATHER_TOOL, { type: 'function', function: { description: 'no name' } }]));
    const invalid = await scenario.json(['run', QUESTION, '--tools', bad]);
    expect(invalid.result.exitCode).toBe(3);
    expect(invalid.document.error).toMatchObject({ code: 'invalid_input', message: `${bad}: /1/function/name: is required` });
    expect((invalid.document.error as Json).details.problems).toEqual([expect.objectContaining({ file: bad, pointer: '/1/function/name' })]);
    const unknown = await scenario.cli(['run', QUESTION, '--tools', tools, '--tool-choice', 'get_stock']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain(`--tool-choice get_stock names no tool of ${tools}`);
    expect(unknown.stderr).toContain('auto, none, required or one of: get_weather, get_time');
    const alone = await scenario.cli(['run', QUESTION, '--tool-choice', 'auto']);
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr).toContain('--tool-choice applies to --tools only');
    const request = file('request.json', JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: QUESTION }] }));
    const routed = await scenario.cli(['route', '--request', request, '--tools', tools]);
    expect(routed.exitCode).toBe(2);
    expect(routed.stderr).toContain('--tools does not apply to --request: the body says it');
  }, 90_000);
});

describe('syndicate run: the same options on the anthropic wire', () => {
  let scenario: Scenario;
  let native: FakeEngine;
  let relay: FakeEngine;
  const file = (name: string, content: string | Buffer): string => {
    const path = join(scenario.home, name);
    writeFileSync(path, content);
    return path;
  };

  beforeAll(async () => {
    [native, relay] = await Promise.all([startFakeEngine({ kind: 'anthropic' }), startFakeEngine({ kind: 'anthropic' })]);
    scenario = await Scenario.create();
    const records = [
      // Anthropic's own API (vendor: anthropic) takes a JSON Schema natively; another server of the wire is told it in the system prompt.
      providerYaml({ id: 'claude', engine: native, tags: ['vision', 'tools'], authEnv: 'RUN_ANTHROPIC_KEY' }).replace('wire: anthropic', 'wire: anthropic\nvendor: anthropic'),
      providerYaml({ id: 'relay', engine: relay, tags: ['vision', 'tools'], authEnv: 'RUN_ANTHROPIC_KEY' }),
    ];
    await scenario.registerFilesInProcess(...records.map((record, index) => file(`provider-${index}.yaml`, record)));
  }, 90_000);

  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([native, relay].map((engine) => engine?.close()));
  });

  it('--image, --schema, --tools and --tool-choice: an Anthropic base64 image block, output_config.format (vendor: anthropic) or the instruction, Anthropic tools with input_schema', async () => {
    const png = file('screen.png', PNG);
    const tools = file('tools.json', JSON.stringify([WEATHER_TOOL, TIME_TOOL]));
    const schema = file('person.schema.json', JSON.stringify(PERSON_SCHEMA));
    const options = ['--image', png, '--schema', schema, '--tools', tools, '--tool-choice', 'get_weather', '--max-tokens', '256', '--system', 'Be brief.', '--no-stream'];
    const messages = [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG.toString('base64') } }, { type: 'text', text: QUESTION }] }];
    const anthropicTools = [
      { name: 'get_weather', description: 'Weather now', input_schema: WEATHER_TOOL.function.parameters },
      { name: 'get_time', description: 'Time now', input_schema: TIME_TOOL.input_schema },
    ];

    for (const [engine, provider] of [[native, 'claude'], [relay, 'relay']] as const) {
      const { result, document } = await scenario.json(['run', QUESTION, '--provider', provider, ...options], { env: { RUN_ANTHROPIC_KEY: 'sk-ant-fake-key' } });
      expect(result.exitCode, JSON.stringify(document)).toBe(0);
      expect(document).toMatchObject({ provider: { id: provider }, sensitivity: 'confidential', finishReason: 'tool_calls' });
      expect(document.toolCalls).toEqual([{ id: expect.any(String), name: 'get_weather', arguments: expect.any(String) }]);
      const exchange = inferenceExchanges(engine).at(-1)!;
      const model = defaultModel(engine);
      const expected =
        provider === 'claude'
          ? { model, max_tokens: 256, messages, system: 'Be brief.', tools: anthropicTools, tool_choice: { type: 'tool', name: 'get_weather' }, output_config: { format: { type: 'json_schema', schema: PERSON_SCHEMA } } }
          : {
              model,
              max_tokens: 256,
              messages,
              system: `Be brief.\n\n${ANTHROPIC_JSON_INSTRUCTION} It must validate against this JSON Schema: ${JSON.stringify(PERSON_SCHEMA)}`,
              tools: anthropicTools,
              tool_choice: { type: 'tool', name: 'get_weather' },
            };
      // The exact bytes: the fields in the order the adapter writes them.
      expect(exchange.requestBody.toString()).toBe(JSON.stringify(expected));
      expect(scenario.storedRawEvidence(document.evidenceId as string, 'request')).toEqual(exchange.requestBody);
    }
  }, 90_000);
});
