import { expect } from 'vitest';
import type { FakeEngine } from './fake-engines/index.js';
import { inferenceExchanges, type Scenario } from './scenario.js';

/** What `run`'s request options and MCP's matching arguments send in the tests: a 1×1 PNG. */
export const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
/** A tool in OpenAI form. */
export const WEATHER_TOOL = { type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };
/** A tool in Anthropic form. */
export const TIME_TOOL = { name: 'get_time', description: 'Time now', input_schema: { type: 'object', properties: { zone: { type: 'string' } } } };
export const PERSON_SCHEMA = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false };
export const QUESTION = 'What is the weather in Paris?';

export type Json = Record<string, any>;

/** The body of the last inference request `engine` received, parsed. */
export function lastSent(engine: FakeEngine): Json {
  return JSON.parse(inferenceExchanges(engine).at(-1)!.requestBody.toString()) as Json;
}

/** The evidence `evidenceId` holds exactly the bytes of the last exchange `engine` saw. */
export async function expectEvidenceHoldsExchange(scenario: Scenario, engine: FakeEngine, evidenceId: string): Promise<void> {
  const exchange = inferenceExchanges(engine).at(-1)!;
  expect(await scenario.rawEvidence(evidenceId, 'request')).toEqual(exchange.requestBody);
  expect(await scenario.rawEvidence(evidenceId, 'response')).toEqual(exchange.responseBody);
}
