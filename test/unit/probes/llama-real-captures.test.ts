import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkResponseBody, checkStreamBody, checkToolCalls } from '../../../src/probes/wire-checks.js';

/**
 * The wire checks against byte-exact captures of a real llama-server (test/fixtures/llama.cpp-real,
 * README "Observed quirks"): what that server really sends must never read as a deviation.
 */
const DIRECTORY = join(import.meta.dirname, '..', '..', 'fixtures', 'llama.cpp-real');
const read = (file: string): string => readFileSync(join(DIRECTORY, file), 'utf8');
const expectation = { wire: 'openai' as const, requestedModel: 'tiny.gguf', declared: [] };

describe('wire checks on real llama-server captures', () => {
  it('a non-streamed answer conforms; timings is named as an extension', () => {
    const checks = checkResponseBody(read('chat-nonstream.json'), expectation);
    expect(checks.filter((check) => check.verdict !== 'pass')).toEqual([]);
    expect(checks.find((check) => check.name === 'wire.extensions')?.detail).toContain('timings');
  });

  it('a stream with include_usage conforms (usage and timings in the last chunk, then [DONE])', () => {
    const result = checkStreamBody(read('chat-stream-include-usage.sse.txt'), { ...expectation, prefix: 'streaming' });
    expect(result.checks.filter((check) => check.verdict !== 'pass')).toEqual([]);
    expect(result.usage).toBeDefined();
  });

  it('a stream without stream_options carries no usage: the check names approximate_token_counts', () => {
    const result = checkStreamBody(read('chat-stream.sse.txt'), { ...expectation, prefix: 'streaming' });
    expect(result.checks.find((check) => check.name === 'streaming.usage')).toMatchObject({ verdict: 'deviation', deviation: 'approximate_token_counts' });
    expect(result.checks.find((check) => check.name === 'streaming.terminal-marker')?.verdict).toBe('pass');
  });

  it('tool calls (JSON-text arguments, ids without a call_ prefix) never read as nonstandard', () => {
    const files = readdirSync(DIRECTORY).filter((file) => /^jinja-chat-tools-.*\.(json|sse\.txt)$/.test(file));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const streamed = file.endsWith('.sse.txt');
      const text = read(file);
      const name = /"name"\s*:\s*"([^"]+)"/.exec(text)?.[1] ?? 'get_weather';
      const checks = checkToolCalls(text, streamed, { ...expectation, toolName: name });
      expect(checks.filter((check) => check.verdict === 'deviation' || check.verdict === 'fail'), file).toEqual([]);
    }
  });
});
