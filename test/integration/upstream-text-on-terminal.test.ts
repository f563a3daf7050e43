/**
 * What an upstream says in its error answer is printed in syndicate's own error line. A provider —
 * a hosted API, or whatever listens at a registered baseUrl — that puts terminal control sequences
 * in it reached the operator's terminal raw: a screen clear, a window title, OSC 52 (many terminals
 * write its payload to the clipboard), hidden text, a carriage return that draws a line of its
 * own. Control characters in what the CLI prints as a diagnostic are shown escaped (`\u001b`),
 * never sent to the terminal; the JSON document keeps the text as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { Scenario } from '../helpers/scenario.js';
import { onTerminal } from '../helpers/terminal.js';

const HOSTILE = 'bad \u001b[2J\u001b]0;pwned\u0007\u001b]52;c;ZWNobyBoaQ==\u0007 request \u001b[8mhidden\u001b[0m\rfake: ok \u009b31m';

describe('run: an upstream error message holding terminal control sequences', () => {
  let scenario: Scenario;
  let hosted: FakeEngine;

  beforeAll(async () => {
    hosted = await startFakeEngine({ kind: 'openai' });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    await scenario.register({ id: 'hosted', engine: hosted, class: 'approved_hosted', authEnv: 'HOSTED_TEST_KEY', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } });
  }, 90_000);
  afterAll(async () => {
    scenario?.cleanup();
    await hosted?.close();
  });

  const refuse = (): void => hosted.setFault({ status: 400, body: JSON.stringify({ error: { message: HOSTILE, type: 'invalid_request_error', param: null, code: null } }) }, 1);

  it('is printed with every control character escaped: nothing reaches the terminal but text', async () => {
    refuse();
    const result = await scenario.cli(['run', 'hello', '--provider', 'hosted', '--no-stream'], { env: { HOSTED_TEST_KEY: 'sk-test-key-0123456789' } });
    expect(result.exitCode, result.stderr).toBe(5);
    // eslint-disable-next-line no-control-regex
    expect(result.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    const errorLine = result.stderr.split('\n').find((line) => line.startsWith('error:')) ?? '';
    expect(errorLine).toContain('bad \\u001b[2J\\u001b]0;pwned\\u0007\\u001b]52;c;ZWNobyBoaQ==\\u0007 request \\u001b[8mhidden\\u001b[0m\\u000dfake: ok \\u009b31m');
  }, 90_000);

  it('--json keeps the message as the upstream wrote it, JSON-escaped', async () => {
    refuse();
    const { result, document } = await scenario.json(['run', 'hello', '--provider', 'hosted', '--no-stream'], { env: { HOSTED_TEST_KEY: 'sk-test-key-0123456789' } });
    expect(result.exitCode, result.stderr).toBe(5);
    expect((document.error as { message: string }).message).toBe(`hosted answered HTTP 400: ${HOSTILE}`);
  }, 90_000);
});

/**
 * A model's answer is the operator's data, but a model steered by what it read (a web page, a file,
 * a tool result) can answer the same sequences. On a terminal `run` shows them escaped; through a
 * pipe or into a file the answer is written as the model sent it, byte for byte.
 */
describe("run: a model's answer holding terminal control sequences", () => {
  let scenario: Scenario;
  let engine: FakeEngine;
  const ANSWER = `${HOSTILE} end\r\n`;
  const ACTING = ['\u001b[2J', '\u001b]0;pwned', '\u001b]52;c;', '\u001b[8m', '\rfake', '\u009b31m'];

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp', answer: ANSWER, reasoning: `thinking \u001b]52;c;cmVhc29u\u0007 done` });
    scenario = await Scenario.create();
    await scenario.registerInProcess({ id: 'local', engine });
  }, 90_000);
  afterAll(async () => {
    scenario?.cleanup();
    await engine?.close();
  });

  for (const streamed of [true, false]) {
    it(`on a terminal (${streamed ? 'streamed' : '--no-stream'}): shown with its control characters escaped, the reasoning too`, async () => {
      const result = await onTerminal(`run hello --show-reasoning${streamed ? '' : ' --no-stream'}`, { home: scenario.home, columns: 100 });
      expect(result.exitCode, result.output).toBe(0);
      for (const sequence of ACTING) expect(result.output).not.toContain(sequence);
      // The reasoning is dimmed chunk by chunk as it streams: read without syndicate's own dim codes.
      const text = result.output.replace(/\u001b\[2m|\u001b\[22m/g, '');
      expect(text).toContain('bad \\u001b[2J\\u001b]0;pwned\\u0007\\u001b]52;c;ZWNobyBoaQ==\\u0007 request \\u001b[8mhidden\\u001b[0m\\u000dfake: ok \\u009b31m end');
      expect(text).toContain('thinking \\u001b]52;c;cmVhc29u\\u0007 done');
    }, 90_000);
  }

  it('through a pipe: exactly as the model sent it', async () => {
    const result = await scenario.cli(['run', 'hello', '--no-stream']);
    expect(result.exitCode, result.stderr).toBe(0);
    // execa strips the last line end; every control character before it arrived as sent.
    expect(result.stdout).toBe(ANSWER.slice(0, -'\r\n'.length));
  }, 90_000);
});
