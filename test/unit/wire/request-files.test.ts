import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { parseJsonText } from '../../../src/validation/json-source.js';
import { inlineImageTypeOf } from '../../../src/wire/inline-image.js';
import { inlineImagePart, jsonSchemaFormatOf, toolChoiceOf, toolDefinitionsOf } from '../../../src/wire/request-files.js';

function thrown(action: () => unknown): InvalidInputError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return error as InvalidInputError;
  }
  throw new Error('expected an InvalidInputError');
}

describe('inline images (`run --image`): the type is told by the first bytes, never the name', () => {
  it.each([
    ['image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0])],
    ['image/jpeg', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])],
    ['image/gif', Buffer.from('GIF89a\x01\x00', 'latin1')],
    ['image/gif', Buffer.from('GIF87a\x01\x00', 'latin1')],
    ['image/webp', Buffer.from('RIFF\x24\x00\x00\x00WEBPVP8 ', 'latin1')],
  ])('%s', (mediaType, bytes) => {
    expect(inlineImageTypeOf(bytes)).toBe(mediaType);
    expect(inlineImagePart(bytes)).toEqual({ type: 'image', mediaType, data: bytes.toString('base64') });
  });

  it.each([
    ['text', Buffer.from('not an image')],
    ['a PNG signature cut short', Buffer.from([0x89, 0x50, 0x4e, 0x47])],
    ['a RIFF file that is no WebP (WAV)', Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1')],
    ['an SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')],
    ['nothing', Buffer.alloc(0)],
  ])('%s is none of them', (_, bytes) => {
    expect(inlineImageTypeOf(bytes)).toBeUndefined();
    expect(inlineImagePart(bytes)).toBeUndefined();
  });
});

describe('JSON files the operator wrote: a syntax error names the line and column, never the text', () => {
  it.each([
    ['{\n  "type": "object",\n  "properties": {,}\n}', 3, 18, 'a property name in double quotes'],
    ['{\n  "a": 1,\n}', 3, 1, 'a property name in double quotes (JSON has no trailing comma)'],
    ['[1, 2', 1, 6, '`,` or `]`'],
    ['{"secret": "sk-live-123"} trailing', 1, 27, 'the end of the file after the JSON value'],
    ['{"a": tru}', 1, 7, 'a value'],
    ['', 1, 1, 'a value'],
  ])('%j', (text, line, column, expected) => {
    const error = thrown(() => parseJsonText(text, 'answer.json'));
    expect(error.exitCode).toBe(3);
    expect(error.problems).toEqual([expect.objectContaining({ file: 'answer.json', pointer: '', line, column })]);
    expect(error.message).toContain(`answer.json is not valid JSON: expected ${expected}`);
    expect(error.message).toContain(`at line ${line}, column ${column}`);
    expect(error.message).not.toContain('sk-live');
  });

  it('valid JSON (a byte-order mark allowed) is its value', () => {
    expect(parseJsonText('\uFEFF{"a": [1, "b", null, true, -2.5e3]}', 'x.json')).toEqual({ a: [1, 'b', null, true, -2500] });
  });
});

describe('`run --schema`: a JSON Schema file as a json_schema answer format', () => {
  it('is named after the file, in the characters OpenAI takes', () => {
    expect(jsonSchemaFormatOf('{"type": "object"}', 'schemas/person.schema.json')).toEqual({ type: 'json_schema', name: 'person_schema', schema: { type: 'object' } });
  });

  it('must be an object', () => {
    const error = thrown(() => jsonSchemaFormatOf('[1]', 'list.json'));
    expect(error.problems).toEqual([expect.objectContaining({ file: 'list.json', pointer: '', message: 'must be a JSON Schema object' })]);
  });
});

describe('`run --tools`: tool definitions in OpenAI or Anthropic form', () => {
  const openAI = { type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };
  const anthropic = { name: 'get_time', description: 'Time now', input_schema: { type: 'object', properties: { zone: { type: 'string' } } } };

  it('reads both forms into canonical tools; a function without parameters takes none', () => {
    const tools = toolDefinitionsOf(JSON.stringify([openAI, anthropic, { type: 'function', function: { name: 'ping' } }]), 'tools.json');
    expect(tools).toEqual([
      { name: 'get_weather', description: 'Weather now', inputSchema: openAI.function.parameters },
      { name: 'get_time', description: 'Time now', inputSchema: anthropic.input_schema },
      { name: 'ping', inputSchema: { type: 'object', properties: {} } },
    ]);
  });

  it.each([
    [{ tools: [openAI] }, '', 'must be a non-empty JSON array of tool definitions'],
    [[], '', 'must be a non-empty JSON array of tool definitions'],
    [[openAI, { type: 'function', function: { description: 'no name' } }], '/1/function/name', 'is required'],
    [[{ type: 'function', name: 'flat' }], '/0', 'must be {"type": "function", "function": {"name", "description", "parameters"}}'],
    [[{ name: 'no_schema' }], '/0/input_schema', 'is required and must be a JSON Schema object'],
    [[{ type: 'web_search_20250305', name: 'web_search' }], '/0/type', 'server tool "web_search_20250305" is not supported through the gateway'],
    [['get_weather'], '/0', 'must be {"type": "function", "function": {"name", "description", "parameters"}} or {"name", "description", "input_schema"}'],
    [[openAI, openAI], '/1/name', 'names the tool "get_weather" a second time'],
  ])('%j: %s %s', (content, pointer, message) => {
    const error = thrown(() => toolDefinitionsOf(JSON.stringify(content), 'tools.json'));
    expect(error.exitCode).toBe(3);
    expect(error.problems[0]).toMatchObject({ file: 'tools.json', pointer, message });
    expect(error.message).toBe(`tools.json: ${pointer === '' ? '' : `${pointer}: `}${message}`);
    expect(error.hint).toBeDefined();
  });

  it('a tool choice is auto, none, required or a tool of the file', () => {
    const tools = toolDefinitionsOf(JSON.stringify([openAI]), 'tools.json');
    expect(['auto', 'none', 'required', 'get_weather', 'get_time'].map((value) => toolChoiceOf(value, tools))).toEqual(['auto', 'none', 'required', { name: 'get_weather' }, undefined]);
  });
});
