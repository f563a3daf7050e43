import { closeSync, existsSync, ftruncateSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INPUT_LIMIT_BYTES } from '../../src/validation/input-file.js';
import { BIN, makeTempHome, parseJsonDocument, REPO_ROOT, runCli } from '../helpers/cli.js';

/** What `yes` writes, without end: lines of "y" in 64 KiB chunks, as fast as the reader takes them. */
function endlessYes(): { stream: Readable; written: () => number } {
  const chunk = Buffer.from('y\n'.repeat(32 * 1024));
  let written = 0;
  const stream = new Readable({
    read() {
      written += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, written: () => written };
}

/**
 * Input from stdin and from named files is bounded (INPUT_LIMIT_BYTES, the gateway's body limit):
 * beyond it the command stops reading and refuses it (exit 3) instead of holding all of it
 * (`yes | syndicate run -` grew to 4 GB in 20 s).
 */
describe('inputs over the input limit', () => {
  const temporary = makeTempHome('syndicate-input-limit-');
  const home = temporary.home;
  const limit = `${INPUT_LIMIT_BYTES / (1024 * 1024)} MiB`;
  beforeAll(async () => {
    expect((await runCli(['init'], { home })).exitCode).toBe(0);
  }, 90_000);
  afterAll(() => temporary.cleanup());

  for (const words of [['run', '-'], ['run'], ['route', '-'], ['embed', '-'], ['classify'], ['classify', '--file', '-'], ['policy', 'check', '-']]) {
    it(`\`yes | syndicate ${words.join(' ')}\`: refused once past the limit (exit 3), stdin left unread`, { timeout: 90_000 }, async () => {
      const yes = endlessYes();
      const child = execa('node', [BIN, '--json', ...words], { cwd: REPO_ROOT, env: { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' }, reject: false, stdin: 'pipe' });
      // The reader going away ends the writer, as `yes` ends on EPIPE.
      yes.stream.pipe(child.stdin as NodeJS.WritableStream).on('error', () => undefined);
      child.stdin?.on('error', () => undefined);
      const result = await child;
      yes.stream.destroy();
      expect(result.exitCode, String(result.stderr)).toBe(3);
      expect(parseJsonDocument(String(result.stdout))).toEqual({
        ok: false,
        error: {
          code: 'invalid_input',
          message: `<stdin> holds more than ${limit}, the most syndicate reads of one input: nothing was read past that, classified or sent`,
          hint: `check what is piped in (a command that never ends, such as \`yes\`, a whole log, a disk image); pipe at most ${limit}, e.g. \`head -c 1M FILE | …\``,
          details: { file: '<stdin>', limitBytes: INPUT_LIMIT_BYTES, problems: [] },
        },
      });
      // It stopped reading soon after the limit: what the pipe and the stream's buffers hold beyond it, not the rest.
      expect(yes.written()).toBeLessThan(INPUT_LIMIT_BYTES * 2);
    });
  }

  it('a named file over the limit is refused by its size, before it is read (exit 3); --image one is a usage error (exit 2)', { timeout: 90_000 }, async () => {
    // Sparse: no disk space used.
    const file = join(home, 'big.txt');
    const fd = openSync(file, 'w');
    ftruncateSync(fd, INPUT_LIMIT_BYTES + 1);
    closeSync(fd);
    const classify = await runCli(['classify', '--file', file, '--json'], { home });
    expect(classify.exitCode, classify.stderr).toBe(3);
    expect((parseJsonDocument(classify.stdout) as { error: { message: string; hint: string } }).error).toMatchObject({
      message: `${file} holds more than ${limit}, the most syndicate reads of one input: nothing was read past that, classified or sent`,
      hint: `check that the path names the file meant (not a whole log, a disk image or a device); give one of at most ${limit}`,
    });
    const policy = await runCli(['policy', 'check', file], { home });
    expect(policy.exitCode, policy.stderr).toBe(3);
    expect(policy.stderr).toContain(`error: ${file} holds more than ${limit}`);
    const image = await runCli(['run', 'what is this?', '--image', file], { home });
    expect(image.exitCode, image.stderr).toBe(2);
    expect(image.stderr).toContain(`error: --image: ${file} holds more than ${limit}`);
  });

  it.runIf(existsSync('/dev/zero'))('a device without end (/dev/zero) is refused once past the limit (exit 3)', { timeout: 90_000 }, async () => {
    const result = await runCli(['classify', '--file', '/dev/zero'], { home });
    expect(result.exitCode, result.stderr).toBe(3);
    expect(result.stderr).toContain(`error: /dev/zero holds more than ${limit}`);
  });
});
