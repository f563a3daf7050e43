/**
 * Structured outputs across wires. Anthropic's form, from
 * platform.claude.com/docs/en/build-with-claude/structured-outputs: JSON outputs are
 * `output_config: {format: {type: "json_schema", schema}}`, generally available with no beta
 * header; "The output_format parameter has moved to output_config.format ... The old beta header
 * (structured-outputs-2025-11-13) and output_format parameter will continue working for a
 * transition period." The answer is valid JSON in a text block (`response.content[0].text`).
 */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { ANTHROPIC_JSON_INSTRUCTION, encodeAnthropicRequest } from '../../../src/wire/anthropic/adapter.js';
import { anthropicOutputSchema } from '../../../src/wire/anthropic/output-schema.js';
import { parseAnthropicMessagesRequest } from '../../../src/wire/anthropic/server.js';
import type { CanonicalRequest, JsonObject } from '../../../src/wire/canonical.js';
import { decodeGatewayRequest } from '../../../src/wire/request-family.js';
import { encodeOpenAIRequest } from '../../../src/wire/openai/adapter.js';
import { parseOpenAIChatRequest } from '../../../src/wire/openai/server.js';

const CITY_SCHEMA: JsonObject = {
  type: 'object',
  properties: { city: { type: 'string' }, population: { type: 'integer' } },
  required: ['city', 'population'],
  additionalProperties: false,
};

const ANTHROPIC = { baseUrl: 'https://api.anthropic.com', vendor: 'anthropic' as const };
const OTHER_ANTHROPIC_WIRE = { baseUrl: 'http://127.0.0.1:4000' };

function withFormat(responseFormat: CanonicalRequest['responseFormat']): CanonicalRequest {
  return { model: 'claude-sonnet-5-5', messages: [{ role: 'user', content: [{ type: 'text', text: 'Largest city of France?' }] }], stream: false, maxTokens: 256, system: 'Be terse.', ...(responseFormat === undefined ? {} : { responseFormat }) };
}

const bodyOf = (text: string): Record<string, unknown> => JSON.parse(text) as Record<string, unknown>;

describe('a json_schema format on the anthropic wire', () => {
  it('reaches Anthropic’s own API (vendor: anthropic) as output_config.format, with no beta header and no instruction in the system prompt', () => {
    const sent = encodeAnthropicRequest(withFormat({ type: 'json_schema', name: 'city', schema: CITY_SCHEMA, strict: true }), ANTHROPIC);
    const body = bodyOf(sent.body);
    expect(body['output_config']).toEqual({ format: { type: 'json_schema', schema: CITY_SCHEMA } });
    expect(body['output_format']).toBeUndefined();
    expect(body['system']).toBe('Be terse.');
    expect(sent.headers['anthropic-beta']).toBeUndefined();
    expect(sent.warnings).toEqual([]);
  });

  it('is still an instruction in the system prompt for another server of the wire, and the warning says how to get it natively', () => {
    const sent = encodeAnthropicRequest(withFormat({ type: 'json_schema', schema: CITY_SCHEMA }), OTHER_ANTHROPIC_WIRE);
    const body = bodyOf(sent.body);
    expect(body['output_config']).toBeUndefined();
    expect(body['system']).toBe(`Be terse.\n\n${ANTHROPIC_JSON_INSTRUCTION} It must validate against this JSON Schema: ${JSON.stringify(CITY_SCHEMA)}`);
    // Sent as words, not enforced: the gateway names the client's format field changed.
    expect(sent.warnings).toEqual([{ setting: 'responseFormat', message: expect.stringContaining('vendor: anthropic'), fields: [{ setting: 'responseFormat', effect: 'changed' }] }]);
  });

  it('json_object stays an instruction, even to Anthropic itself (structured outputs take a schema)', () => {
    const sent = encodeAnthropicRequest(withFormat({ type: 'json_object' }), ANTHROPIC);
    expect(bodyOf(sent.body)['output_config']).toBeUndefined();
    expect(bodyOf(sent.body)['system']).toBe(`Be terse.\n\n${ANTHROPIC_JSON_INSTRUCTION}`);
    expect(sent.warnings.map((warning) => warning.setting)).toEqual(['responseFormat']);
  });

  it('is fitted to the subset structured outputs take, as Anthropic’s SDKs fit it, and the warning names what the provider will not enforce', () => {
    const schema: JsonObject = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: {
        city: { type: 'string', minLength: 2, format: 'iri' },
        population: { type: 'integer', description: 'People.', minimum: 0 },
        tags: { type: 'array', items: { type: 'object', properties: { name: { type: 'string', pattern: '^[a-z]+$' } } }, minItems: 1, maxItems: 3 },
        kind: { oneOf: [{ type: 'string', enum: ['capital', 'town'] }, { type: 'null' }] },
      },
      required: ['city'],
    };
    const { schema: fitted, moved } = anthropicOutputSchema(schema);
    expect(fitted).toEqual({
      type: 'object',
      properties: {
        city: { type: 'string', description: '{minLength: 2, format: "iri"}' },
        population: { type: 'integer', description: 'People.\n\n{minimum: 0}' },
        tags: { type: 'array', items: { type: 'object', properties: { name: { type: 'string', pattern: '^[a-z]+$' } }, additionalProperties: false }, minItems: 1, description: '{maxItems: 3}' },
        kind: { anyOf: [{ type: 'string', enum: ['capital', 'town'] }, { type: 'null' }] },
      },
      required: ['city'],
      additionalProperties: false,
    });
    expect(moved).toEqual([
      { pointer: '/properties/city', keywords: ['minLength', 'format'] },
      { pointer: '/properties/population', keywords: ['minimum'] },
      { pointer: '/properties/tags', keywords: ['maxItems'] },
      { pointer: '/properties/kind', keywords: ['oneOf (sent as anyOf)'] },
    ]);
    const sent = encodeAnthropicRequest(withFormat({ type: 'json_schema', schema }), ANTHROPIC);
    expect(bodyOf(sent.body)['output_config']).toEqual({ format: { type: 'json_schema', schema: fitted } });
    expect(sent.warnings).toEqual([
      {
        setting: 'responseFormat',
        message: expect.stringContaining('/properties/city: minLength, format; /properties/population: minimum; /properties/tags: maxItems; /properties/kind: oneOf (sent as anyOf)'),
      },
    ]);
  });

  it('sits beside the effort a model that always thinks is sent in output_config, and stays when no thinking is sent', () => {
    const request: CanonicalRequest = { ...withFormat({ type: 'json_schema', schema: CITY_SCHEMA }), reasoningEffort: { effort: 'high', field: 'reasoning_effort' } };
    const body = bodyOf(encodeAnthropicRequest(request, { ...ANTHROPIC, modelDeviations: ['thinking_always_on'] }).body);
    expect(body['thinking']).toEqual({ type: 'adaptive' });
    expect(body['output_config']).toEqual({ effort: 'high', format: { type: 'json_schema', schema: CITY_SCHEMA } });
    const none = bodyOf(encodeAnthropicRequest({ ...request, reasoningEffort: { effort: 'none', field: 'reasoning_effort' } }, { ...ANTHROPIC, modelDeviations: ['thinking_always_on'] }).body);
    expect(none['output_config']).toEqual({ format: { type: 'json_schema', schema: CITY_SCHEMA } });
  });

  it('an OpenAI client’s response_format and the Responses API’s text.format reach it alike', () => {
    const chat = parseOpenAIChatRequest(
      JSON.stringify({ model: 'claude', messages: [{ role: 'user', content: 'Largest city?' }], response_format: { type: 'json_schema', json_schema: { name: 'city', schema: CITY_SCHEMA, strict: true } } }),
    );
    expect(bodyOf(encodeAnthropicRequest(chat.request, ANTHROPIC).body)['output_config']).toEqual({ format: { type: 'json_schema', schema: CITY_SCHEMA } });
  });
});

describe('an Anthropic client’s structured-output format', () => {
  const base = { model: 'local:qwen3', max_tokens: 256, messages: [{ role: 'user', content: 'Largest city of France?' }] };
  const problemsOf = (body: unknown): Array<{ pointer: string; message: string }> => {
    try {
      parseAnthropicMessagesRequest(JSON.stringify(body));
    } catch (error) {
      return (error as InvalidInputError).problems.map(({ pointer, message }) => ({ pointer, message }));
    }
    return [];
  };

  it('output_config.format (GA) and output_format (the beta’s) are read into the canonical format, not named as ignored', () => {
    for (const body of [{ ...base, output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } } }, { ...base, output_format: { type: 'json_schema', schema: CITY_SCHEMA } }]) {
      const parsed = parseAnthropicMessagesRequest(JSON.stringify(body));
      expect(parsed.request.responseFormat).toEqual({ type: 'json_schema', schema: CITY_SCHEMA, enforced: true });
      expect(parsed.ignoredFields).toEqual([]);
    }
  });

  it('is sent to an openai-wire server as response_format json_schema, strict as Anthropic enforces it when the schema fits strict mode', () => {
    const parsed = parseAnthropicMessagesRequest(JSON.stringify({ ...base, output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } } }));
    for (const target of [{ baseUrl: 'http://127.0.0.1:8000/v1', engine: 'vllm' as const }, { baseUrl: 'https://api.openai.com/v1', vendor: 'openai' as const }]) {
      const sent = encodeOpenAIRequest({ ...parsed.request, model: 'qwen3' }, target);
      expect(bodyOf(sent.body)['response_format']).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema: CITY_SCHEMA, strict: true } });
      expect(sent.warnings).toEqual([]);
    }
  });

  it('a schema strict mode refuses (an open object, an optional property, an unsupported keyword) is sent without strict, said', () => {
    const unfit: Array<[JsonObject, string]> = [
      [{ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, 'the root: additionalProperties is not false'],
      [{ ...CITY_SCHEMA, required: ['city'] }, 'the root: property population is not in required'],
      [{ ...CITY_SCHEMA, properties: { city: { type: 'string', minLength: 1 }, population: { type: 'integer' } } }, '/properties/city: keyword minLength is not supported in strict mode'],
      [{ type: 'object', properties: { where: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }, required: ['where'], additionalProperties: false }, '/properties/where: additionalProperties is not false'],
      [{ type: 'array', items: CITY_SCHEMA }, 'the root is not of type object'],
    ];
    for (const [schema, misfit] of unfit) {
      const parsed = parseAnthropicMessagesRequest(JSON.stringify({ ...base, output_config: { format: { type: 'json_schema', schema } } }));
      const sent = encodeOpenAIRequest({ ...parsed.request, model: 'gpt-5' }, { baseUrl: 'https://api.openai.com/v1', vendor: 'openai' });
      expect(bodyOf(sent.body)['response_format']).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema } });
      expect(sent.warnings).toEqual([
        { setting: 'responseFormat', message: expect.stringContaining(`does not fit OpenAI's strict structured outputs (${misfit}), so it was sent without strict`), fields: [{ setting: 'responseFormat', effect: 'changed' }] },
      ]);
      // To an engine, which enforces the schema by grammar with or without strict, the format is not changed.
      const toEngine = encodeOpenAIRequest({ ...parsed.request, model: 'gpt-5' }, { baseUrl: 'http://127.0.0.1:8000/v1', engine: 'vllm' });
      expect(toEngine.warnings.flatMap((warning) => warning.fields ?? [])).toEqual([]);
    }
  });

  it("an OpenAI client's strict goes as it sent it, or not at all, whatever the schema", () => {
    const openAI = (strict?: boolean): CanonicalRequest => withFormat({ type: 'json_schema', schema: CITY_SCHEMA, ...(strict === undefined ? {} : { strict }) });
    const formatSent = (request: CanonicalRequest): unknown => bodyOf(encodeOpenAIRequest(request, { baseUrl: 'https://api.openai.com/v1', vendor: 'openai' }).body)['response_format'];
    expect(formatSent(openAI())).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema: CITY_SCHEMA } });
    expect(formatSent(openAI(false))).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema: CITY_SCHEMA, strict: false } });
  });

  it('and to Anthropic itself as output_config.format, whichever spelling the client used', () => {
    const parsed = parseAnthropicMessagesRequest(JSON.stringify({ ...base, output_format: { type: 'json_schema', schema: CITY_SCHEMA } }));
    expect(bodyOf(encodeAnthropicRequest(parsed.request, ANTHROPIC).body)['output_config']).toEqual({ format: { type: 'json_schema', schema: CITY_SCHEMA } });
  });

  it('other output_config settings are named as ignored, the format (and effort) still read', () => {
    const outputConfig = { effort: 'low', task_budget: { type: 'tokens', total: 400000 }, format: { type: 'json_schema', schema: CITY_SCHEMA } };
    const parsed = parseAnthropicMessagesRequest(JSON.stringify({ ...base, metadata: { user_id: 'u' }, output_config: outputConfig }));
    expect(parsed.ignoredFields).toEqual(['metadata', 'output_config.task_budget']);
    expect(parsed.request.responseFormat).toEqual({ type: 'json_schema', schema: CITY_SCHEMA, enforced: true });
    expect(parsed.request.reasoningEffort).toEqual({ effort: 'low', field: 'output_config.effort' });
  });

  it('tells `route --request` the body is an Anthropic one, either spelling', () => {
    for (const format of [{ output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } } }, { output_format: { type: 'json_schema', schema: CITY_SCHEMA } }]) {
      const decoded = decodeGatewayRequest(JSON.stringify({ ...base, ...format }), 'body.json');
      expect(decoded.family).toBe('anthropic');
      expect(decoded.request.responseFormat).toEqual({ type: 'json_schema', schema: CITY_SCHEMA, enforced: true });
    }
  });

  it('a malformed format is a 400 naming the field; both spellings at once too', () => {
    expect(problemsOf({ ...base, output_config: { format: { type: 'json_object' } } })).toEqual([{ pointer: '/output_config/format/type', message: 'must be "json_schema"' }]);
    expect(problemsOf({ ...base, output_format: { type: 'json_schema' } })).toEqual([{ pointer: '/output_format/schema', message: 'is required and must be a JSON Schema object' }]);
    expect(problemsOf({ ...base, output_config: 'json' })).toEqual([{ pointer: '/output_config', message: 'must be an object' }]);
    expect(problemsOf({ ...base, output_format: { type: 'json_schema', schema: CITY_SCHEMA }, output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } } })).toEqual([
      { pointer: '/output_format', message: 'cannot be sent with output_config.format' },
    ]);
  });
});
