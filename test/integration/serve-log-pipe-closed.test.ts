/**
 * A gateway whose log pipe's reader goes away — `syndicate serve --access-log 2>&1 | logger`, a
 * `tee` or a log-rotation program killed or restarted — goes on serving: the lines it cannot write
 * are lost, nothing else. Before, the next access-log line (EPIPE on stderr, unhandled) killed the
 * gateway with exit 1: the request just answered was left pending (recorded `interrupted` by the
 * next command), the next ones were refused a connection, and nothing said why.
 */
import { execa, execaSync } from 'execa';
import { describe, expect, it, vi } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { isAlive, startServe } from '../helpers/serve.js';
import { registeredEngineScenario } from '../helpers/scenario.js';

/** util-linux's `script`, which runs a command on a pseudo-terminal of its own. */
const HAS_SCRIPT = execaSync('script', ['--version'], { reject: false }).exitCode === 0;

const setup = registeredEngineScenario('ollama', { kind: 'ollama' });

describe('serve whose stderr reader went away', () => {
  it('answers and records every request, then drains and exits 0 on SIGTERM', async () => {
    const gateway = await startServe(['serve', '--port', '0', '--access-log'], { SYNDICATE_HOME: setup.scenario.home });
    const token = (await setup.scenario.cli(['serve', '--print-token'])).stdout.trim();
    const ask = async (): Promise<Response> =>
      fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
      });
    const first = await ask();
    expect(first.status).toBe(200);
    await gateway.waitForStderr(' POST /v1/chat/completions 200 ');

    // The reader of the gateway's stderr pipe closes its end, as a killed `logger` does.
    gateway.server.stderr?.destroy();
    const evidenceIds: string[] = [];
    for (let index = 0; index < 3; index += 1) {
      const answer = await ask();
      expect(answer.status).toBe(200);
      await answer.text();
      evidenceIds.push(answer.headers.get('x-syndicate-evidence') ?? '');
    }
    const healthz = await fetch(`${gateway.url}/healthz`);
    expect(healthz.status).toBe(200);
    expect(isAlive(gateway.server.pid ?? 0)).toBe(true);

    gateway.server.kill('SIGTERM');
    const result = await gateway.server;
    expect(result.exitCode).toBe(0);
    for (const id of evidenceIds) expect((await setup.scenario.evidence(id)).state).toBe('completed');
  });
});

/**
 * The same for a gateway started on a terminal that then closed (an ssh session dropped, a tmux pane
 * killed): it takes the hangup's SIGHUP as a reload and serves on, and its next access-log line met
 * EIO — which killed it, mid-request, exactly as the closed pipe did.
 */
describe.runIf(HAS_SCRIPT)('serve whose terminal closed', () => {
  it('answers and records every request, and stops on SIGTERM', async () => {
    const terminal = execa('script', ['-qfc', `node ${JSON.stringify(BIN)} serve --port 0 --json --access-log`, '/dev/null'], {
      env: { SYNDICATE_HOME: setup.scenario.home, NO_COLOR: '1', FORCE_COLOR: '0' },
      reject: false,
    });
    const ready = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
      let output = '';
      terminal.stdout?.on('data', (data: Buffer) => {
        output += data.toString();
        const match = /\{"ok":true,"url":"([^"]+)".*"pid":(\d+)\}/.exec(output);
        if (match !== null) resolve({ url: match[1]!, pid: Number(match[2]) });
      });
      void terminal.then((result) => reject(new Error(`script exited early: ${String(result.stdout)}`)));
    });
    const token = (await setup.scenario.cli(['serve', '--print-token'])).stdout.trim();
    terminal.kill('SIGKILL');
    await terminal;

    const evidenceIds: string[] = [];
    for (let index = 0; index < 3; index += 1) {
      const answer = await fetch(`${ready.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
      });
      expect(answer.status).toBe(200);
      await answer.text();
      evidenceIds.push(answer.headers.get('x-syndicate-evidence') ?? '');
    }
    expect(isAlive(ready.pid)).toBe(true);
    process.kill(ready.pid, 'SIGTERM');
    await vi.waitFor(() => expect(isAlive(ready.pid)).toBe(false), { timeout: 60_000, interval: 50 });
    for (const id of evidenceIds) expect((await setup.scenario.evidence(id)).state).toBe('completed');
  });
});
