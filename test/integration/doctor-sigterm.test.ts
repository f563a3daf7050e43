import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, parseJsonDocument, REPO_ROOT, runCli } from '../helpers/cli.js';
import { writeFakeNodeLlamaCpp } from '../helpers/fake-node-llama-cpp.js';
import { initialisedHome } from '../helpers/prepared-home.js';

/**
 * `doctor` checks the embedded engine by loading node-llama-cpp, whose lock files load signal-exit:
 * a SIGINT, SIGTERM and SIGHUP listener of its own for the rest of the process. `timeout`, `kill` or
 * a CI runner's SIGTERM after that must still stop it (143, its `--json` document saying so), not
 * be left to a listener that does nothing while it is not alone.
 */
describe('doctor stopped by SIGTERM after the embedded engine check loaded signal-exit', () => {
  const engineDirectory = mkdtempSync(join(tmpdir(), 'syndicate-doctor-sigterm-engine-'));
  let home: string;
  let cleanup: () => void;
  let silent: Server;
  let connections = 0;

  beforeAll(async () => {
    writeFakeNodeLlamaCpp(engineDirectory);
    ({ home, cleanup } = await initialisedHome('syndicate-doctor-sigterm-'));
    // Accepts the health probe's connection and never answers: doctor waits on it.
    silent = createServer((socket) => {
      connections += 1;
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const record = join(home, 'silent.yaml');
    writeFileSync(
      record,
      [
        'apiVersion: syndicate/v1',
        'kind: Provider',
        'id: silent',
        'class: local',
        'wire: openai',
        `baseUrl: http://127.0.0.1:${port}/v1`,
        'models:',
        '  - id: "qwen"',
        '    contextWindow: 4096',
        '    capabilityClass: small',
        'deviations: []',
        '',
      ].join('\n'),
    );
    const registered = await runCli(['provider', 'register', record], { home });
    expect(registered.exitCode, registered.stderr).toBe(0);
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    cleanup();
    rmSync(engineDirectory, { recursive: true, force: true });
  });

  it('exits 143 with the interrupted document (it went on to the end of its checks and exited 1: the SIGTERM was ignored)', { timeout: 90_000 }, async () => {
    const before = connections;
    const child = execa('node', [BIN, '--json', 'doctor'], {
      cwd: REPO_ROOT,
      env: { SYNDICATE_HOME: home, SYNDICATE_ENGINE_DIR: engineDirectory, FAKE_LLAMA_SIGNAL_EXIT: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
      reject: false,
    });
    // The engine check (which added the listeners) comes before the engines' health probes.
    await expect.poll(() => connections, { timeout: 60_000, interval: 10 }).toBeGreaterThan(before);
    child.kill('SIGTERM');
    const ended = await child;
    expect(ended.exitCode, String(ended.stdout)).toBe(143);
    expect(parseJsonDocument(String(ended.stdout))).toEqual({
      ok: false,
      error: { code: 'interrupted', message: 'terminated (SIGTERM) before the command ended', hint: expect.any(String) },
    });
    expect(String(ended.stderr)).toContain('terminated (SIGTERM) before the command ended');
  });
});
