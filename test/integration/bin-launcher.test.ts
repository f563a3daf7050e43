import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BIN, makeTempHome, runCli } from '../helpers/cli.js';
import { startServe } from '../helpers/serve.js';

// bin/syndicate.js is a shell script and an ES module at once: run as a program (the npm bin link),
// its shell part starts node, with --max-semi-space-size=4 and no more V8 helper threads than cores
// (at most node's default 4) for `serve` only.
const cores = Number(execFileSync('getconf', ['_NPROCESSORS_ONLN'], { encoding: 'utf8' }).trim());
const SERVE_OPTIONS = ['--max-semi-space-size=4', `--v8-pool-size=${Math.min(cores, 4)}`];

describe('bin/syndicate.js run as a program', () => {
  let fakeBin: string;
  beforeAll(() => {
    // A `node` first on PATH that prints the arguments it was given, one per line.
    fakeBin = mkdtempSync(join(tmpdir(), 'syndicate-fake-node-'));
    writeFileSync(join(fakeBin, 'node'), '#!/bin/sh\nfor a do printf "%s\\n" "$a"; done\n');
    chmodSync(join(fakeBin, 'node'), 0o755);
  });
  afterAll(() => rmSync(fakeBin, { recursive: true, force: true }));

  const nodeArguments = async (args: string[], env: Record<string, string> = {}): Promise<string[]> => {
    const result = await execa(BIN, args, { env: { ...env, PATH: `${fakeBin}${delimiter}${process.env.PATH ?? ''}` } });
    return result.stdout.split('\n');
  };

  it.each([
    [['serve'], true],
    [['serve', '--port', '0'], true],
    [['--json', 'serve', '--print-token'], true],
    [['--home', '/tmp/h', 'serve'], true],
    [['--home', 'serve', 'run', 'x'], false], // a home directory named "serve"
    [['run', 'serve'], false],
    [['--home=/tmp/h', 'serve'], false], // undecided, as namedCommand leaves it: V8's default
    [['evidence', 'verify'], false],
    [[], false],
  ])('%j: the serve options %s', async (args, bounded) => {
    const seen = await nodeArguments(args);
    expect(seen).toEqual(bounded ? [...SERVE_OPTIONS, BIN, ...args] : [BIN, ...args]);
  });

  it('keeps every argument whole (spaces, quotes, globs) and leaves a NODE_OPTIONS choice alone', async () => {
    const awkward = ['serve', '--cors-origin', 'http://a b', "it's", '*', ''];
    expect(await nodeArguments(awkward)).toEqual([...SERVE_OPTIONS, BIN, ...awkward]);
    // Each option NODE_OPTIONS names is left to it.
    expect(await nodeArguments(['serve'], { NODE_OPTIONS: '--max-semi-space-size=8' })).toEqual([SERVE_OPTIONS[1], BIN, 'serve']);
    expect(await nodeArguments(['serve'], { NODE_OPTIONS: '--v8-pool-size=1' })).toEqual([SERVE_OPTIONS[0], BIN, 'serve']);
    expect(await nodeArguments(['serve'], { NODE_OPTIONS: '--v8-pool-size=1 --max-semi-space-size=8' })).toEqual([BIN, 'serve']);
  });

  it('runs the real CLI through the shell part, by a symlink as npm links it', async () => {
    const linkDirectory = mkdtempSync(join(tmpdir(), 'syndicate-bin-link-'));
    try {
      symlinkSync(BIN, join(linkDirectory, 'syndicate'));
      const result = await execa(join(linkDirectory, 'syndicate'), ['--version', '--json']);
      expect(JSON.parse(result.stdout)).toEqual({ ok: true, version: expect.any(String) });
    } finally {
      rmSync(linkDirectory, { recursive: true, force: true });
    }
  });

  it.runIf(process.platform === 'linux')(
    'starts `syndicate serve` with its node options, and it serves',
    async () => {
      const { home, cleanup } = makeTempHome();
      try {
        expect((await runCli(['init'], { home })).exitCode).toBe(0);
        const { server, url } = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: home }, 60_000, { asProgram: true });
        try {
          const commandLine = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8').split('\0');
          expect(commandLine.slice(1, 4)).toEqual([...SERVE_OPTIONS, BIN]);
          expect((await fetch(`${url}/healthz`)).status).toBe(200);
        } finally {
          server.kill('SIGTERM');
          await server;
        }
      } finally {
        cleanup();
      }
    },
    90_000,
  );
});
