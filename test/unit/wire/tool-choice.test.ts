import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { parseAnthropicMessagesRequest } from '../../../src/wire/anthropic/server.js';
import { parseResponsesRequest } from '../../../src/wire/openai/responses-server.js';
import { parseOpenAIChatRequest } from '../../../src/wire/openai/server.js';

const weather = { name: 'get_weather', parameters: { type: 'object', properties: {} } };
const parsers = {
  'chat completions': (toolChoice: unknown, withTools: boolean) =>
    parseOpenAIChatRequest(
      JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], tool_choice: toolChoice, ...(withTools ? { tools: [{ type: 'function', function: weather }] } : {}) }),
    ),
  responses: (toolChoice: unknown, withTools: boolean) =>
    parseResponsesRequest(JSON.stringify({ model: 'auto', input: 'hi', tool_choice: toolChoice, ...(withTools ? { tools: [{ type: 'function', ...weather }] } : {}) })),
  messages: (toolChoice: unknown, withTools: boolean) =>
    parseAnthropicMessagesRequest(
      JSON.stringify({
        model: 'auto',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
        tool_choice: toolChoice,
        ...(withTools ? { tools: [{ name: weather.name, input_schema: weather.parameters }] } : {}),
      }),
    ),
};
const forcing = {
  'chat completions': { auto: 'auto', required: 'required', named: (name: string) => ({ type: 'function', function: { name } }) },
  responses: { auto: 'auto', required: 'required', named: (name: string) => ({ type: 'function', name }) },
  messages: { auto: { type: 'auto' }, required: { type: 'any' }, named: (name: string) => ({ type: 'tool', name }) },
};

/** A tool choice that forces a call the request cannot make is refused before anything is routed or recorded. */
describe('tool_choice without the tool it forces', () => {
  for (const [api, parse] of Object.entries(parsers)) {
    const { auto, required, named } = forcing[api as keyof typeof forcing];
    it(`${api}: forcing a tool call with no tools is a 400 at /tool_choice`, () => {
      const error = (() => {
        try {
          parse(required, false);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).problems[0]).toMatchObject({ pointer: '/tool_choice', message: 'asks for a tool call, but the request defines no tools' });
    });
    it(`${api}: naming a tool that is not defined is a 400 naming the defined ones`, () => {
      expect(() => parse(named('get_time'), true)).toThrow(/names a (function|tool) that is not among the tools \(get_weather\)/);
      expect(parse(named('get_weather'), true).request.toolChoice).toEqual({ name: 'get_weather' });
      expect(parse(required, true).request.toolChoice).toBe('required');
      expect(parse(auto, false).request.toolChoice).toBe('auto');
    });
  }
});
