import { describe, expect, it } from 'vitest';
import { parseJsonDocument } from '../helpers/cli.js';
import { lastSent } from '../helpers/request-options.js';
import { inferenceExchanges, registeredEngineScenario } from '../helpers/scenario.js';

/**
 * `run --temperature 5` went out as `"temperature":5`, for the upstream to refuse (or, on a local
 * engine, to sample noise). The CLI takes what the gateway's OpenAI faces and MCP `complete` take,
 * 0 to 2 — OpenAI's range; the anthropic wire, whose range ends at 1, sends a higher one as 1 with a
 * warning — and refuses the rest before anything is sent: a usage error naming the range (exit 2).
 */
describe('run and route --temperature: from 0 to 2', () => {
  const setup = registeredEngineScenario('local', { kind: 'ollama' });

  it('outside the range: exit 2 naming it, nothing sent; at its ends: sent as given', { timeout: 90_000 }, async () => {
    const { scenario, engine } = setup;
    for (const value of ['5', '2.01', '-0.1', '-1']) {
      const before = inferenceExchanges(engine).length;
      for (const verb of ['run', 'route']) {
        const result = await scenario.cli([verb, 'hi', `--temperature=${value}`]);
        expect(result.exitCode, `${verb} ${value}: ${result.stderr}`).toBe(2);
        expect(result.stderr).toBe(`error: --temperature must be a number from 0 to 2, got "${value}"\nhint: for example --temperature 0.7`);
      }
      expect(inferenceExchanges(engine).length).toBe(before);
    }
    const json = await scenario.cli(['--json', 'run', 'hi', '--temperature', '3']);
    expect(json.exitCode).toBe(2);
    expect(parseJsonDocument(json.stdout)).toEqual({ ok: false, error: { code: 'usage', message: '--temperature must be a number from 0 to 2, got "3"', hint: 'for example --temperature 0.7' } });
    for (const value of [0, 2]) {
      const result = await scenario.cli(['run', 'hi', '--temperature', String(value), '--no-stream']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(lastSent(engine).temperature).toBe(value);
    }
  });
});
