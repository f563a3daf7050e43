import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { FakeEngine } from './fake-engines/index.js';
import { inferenceExchanges, type Scenario } from './scenario.js';

/** What `run`'s request options and MCP's matching arguments send in the tests: a 1×1 PNG. */
export const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
/**
 * Two large PNG files in `dir` (`image-0.png`, `image-1.png`), `bytes` each and sparse — a PNG
 * header, a byte that tells them apart, then zeros — so no disk space is used; their paths.
 */
export function sparsePngs(dir: string, bytes: number): [string, string] {
  const [first, second] = [0, 1].map((index) => {
    const path = join(dir, `image-${index}.png`);
    writeFileSync(path, Buffer.concat([PNG, Buffer.from([index])]));
    truncateSync(path, bytes);
    return path;
  });
  return [first!, second!];
}
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

/**
 * The evidence `evidenceId` holds exactly the bytes of the last exchange `engine` saw: read through
 * `evidence show --raw` (the default), or by this process from the store (`Scenario.storedRawEvidence`).
 */
export async function expectEvidenceHoldsExchange(scenario: Scenario, engine: FakeEngine, evidenceId: string, read: 'cli' | 'in-process' = 'cli'): Promise<void> {
  const exchange = inferenceExchanges(engine).at(-1)!;
  const raw = (which: 'request' | 'response'): Promise<Buffer> | Buffer => (read === 'cli' ? scenario.rawEvidence(evidenceId, which) : scenario.storedRawEvidence(evidenceId, which));
  expect(await raw('request')).toEqual(exchange.requestBody);
  expect(await raw('response')).toEqual(exchange.responseBody);
}

/** A PNG chunk: its length (big-endian), type, data and a CRC (zeros: nothing here checks it). */
export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]);
}
