/**
 * A policy.yaml another user can change (mode 0666, owned by another uid, or in a home directory
 * group or others can write) is what `doctor` fails; before, `run`, `route`, `mcp` and `serve`
 * applied it without a word, so another user on the host could loosen it (hosted models for
 * everything) and have the operator's data sent out. Now each refuses it as it refuses a policy it
 * cannot use (exit 4, `policy_insecure`, the fix in the hint), and a running gateway fails closed to
 * local providers until `chmod`/`chown` fixes it, without a restart. The permit key and the gateway
 * token in a directory others can write are refused the same way.
 *
 * Tests run as root here: every file and directory gets an explicit mode, and "another uid" is a
 * `chown` to 65534.
 */
import { chmodSync, chownSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { parseJsonDocument, runCli } from '../helpers/cli.js';
import { hostedPreferredScenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

const MODEL = 'claude-sonnet-4-20250514';
const setup = hostedPreferredScenario(MODEL, { claude: { price: { inputPerMTok: 3, outputPerMTok: 15 } } });
const env = { FAKE_ANTHROPIC_KEY: 'sk-ant-test' };
const userId = process.getuid?.() ?? 0;

let gateway: RunningServe | undefined;

function restore(): void {
  const home = setup.scenario.home;
  chmodSync(home, 0o700);
  chownSync(join(home, 'policy.yaml'), userId, process.getgid?.() ?? 0);
  chmodSync(join(home, 'policy.yaml'), 0o600);
}

afterEach(() => restore());

afterAll(async () => {
  gateway?.server.kill('SIGTERM');
  await gateway?.server;
});

/** The refusal of a policy others can change: exit 4, its code, the file, who can change it and the fix. */
function expectRefused(result: { exitCode: number; stdout: string }, detail: string, fix: string): void {
  expect(result.exitCode, result.stdout).toBe(4);
  const document = parseJsonDocument(result.stdout) as { ok: boolean; error: { code: string; message: string; hint: string } };
  expect(document.ok).toBe(false);
  expect(document.error.code).toBe('policy_insecure');
  expect(document.error.message).toContain(`refusing to use the policy at ${join(setup.scenario.home, 'policy.yaml')}`);
  expect(document.error.message).toContain(detail);
  expect(document.error.hint).toContain(fix);
}

describe.skipIf(process.platform === 'win32')('a policy another user can change', () => {
  it('run, route and mcp refuse it (exit 4) and work again once chmod fixes it', { timeout: 90_000 }, async () => {
    const home = setup.scenario.home;
    const policyPath = join(home, 'policy.yaml');
    chmodSync(policyPath, 0o666);
    const claudeCalls = setup.claude.exchanges.length;
    const ollamaCalls = setup.ollama.exchanges.length;

    const [run, route, mcp] = await Promise.all([
      runCli(['--json', 'run', 'Name the capital of France.', '--no-stream'], { home, env }),
      runCli(['--json', 'route', 'Name the capital of France.'], { home, env }),
      runCli(['--json', 'mcp'], { home, env }),
    ]);
    // `mcp` keeps stdout for the protocol: its JSON error document goes to stderr.
    const mcpDocument = { exitCode: mcp.exitCode, stdout: mcp.stderr.trim().split('\n').at(-1) ?? '' };
    for (const result of [run, route, mcpDocument]) expectRefused(result, `${policyPath} has mode 0666: group and others can change it`, `chmod 600 ${policyPath}`);
    expect(setup.claude.exchanges.length).toBe(claudeCalls);
    expect(setup.ollama.exchanges.length).toBe(ollamaCalls);

    chmodSync(policyPath, 0o600);
    const fixed = await runCli(['--json', 'route', 'Name the capital of France.'], { home, env });
    expect(fixed.exitCode, fixed.stderr).toBe(0);
  });

  it('refuses it in a home directory group or others can write, or owned by another uid', { timeout: 90_000 }, async () => {
    const home = setup.scenario.home;
    const policyPath = join(home, 'policy.yaml');
    chmodSync(home, 0o777);
    expectRefused(await runCli(['--json', 'route', 'hi'], { home, env }), `${home} has mode 0777: group and others can delete and replace the permit key, policy and store in it`, `chmod 700 ${home}`);
    chmodSync(home, 0o700);

    chownSync(policyPath, 65534, 65534);
    expectRefused(await runCli(['--json', 'route', 'hi'], { home, env }), `${policyPath} belongs to uid 65534, not to you (uid ${userId})`, 'keep it as a copy of your own');
    chownSync(policyPath, userId, process.getgid?.() ?? 0);
    expect((await runCli(['--json', 'route', 'hi'], { home, env })).exitCode).toBe(0);
  });

  it('serve refuses to start on it; a running gateway fails closed to local providers until chmod fixes it, without a restart', { timeout: 90_000 }, async () => {
    const home = setup.scenario.home;
    const policyPath = join(home, 'policy.yaml');
    chmodSync(policyPath, 0o646);
    const refused = await runCli(['--json', 'serve', '--port', '0'], { home, env });
    expectRefused(refused, `${policyPath} has mode 0646: others can change it`, `chmod 600 ${policyPath}`);
    chmodSync(policyPath, 0o600);

    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: home, ...env });
    const running = gateway;
    const token = readFileSync(join(home, 'gateway.token'), 'utf8').trim();
    const client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: token, maxRetries: 0 });
    // The provider that answered, or the refusal's status and code.
    const ask = async (model: string): Promise<string | null> => {
      try {
        const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Name the capital of France.' }] }).withResponse();
        return response.headers.get('x-syndicate-provider');
      } catch (error) {
        if (!(error instanceof OpenAI.APIError)) throw error;
        return `${error.status} ${(error.error as { code?: string } | undefined)?.code}`;
      }
    };
    const hosted = `claude:${MODEL}`;
    const failedClosed = async (): Promise<string | undefined> => {
      const text = await (await fetch(`${running.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
      return /^syndicate_gateway_policy_failed_closed (\d+)$/m.exec(text)?.[1];
    };
    const reloads = (): number => running.stderr().split('policy reloaded from').length - 1;
    expect(await ask(hosted)).toBe('claude');

    for (const [loosen, detail, fix, tighten] of [
      [() => chmodSync(policyPath, 0o664), `${policyPath} has mode 0664: its group can change it`, `chmod 600 ${policyPath}`, () => chmodSync(policyPath, 0o600)],
      [() => chownSync(policyPath, 65534, 65534), `${policyPath} belongs to uid 65534`, 'keep it as a copy of your own', () => chownSync(policyPath, userId, process.getgid?.() ?? 0)],
    ] as const) {
      const warnings = running.stderr().split('requests go to local providers only').length - 1;
      loosen();
      running.server.kill('SIGHUP');
      await vi.waitFor(() => expect(running.stderr().split('requests go to local providers only').length - 1).toBeGreaterThan(warnings), { timeout: 20_000, interval: 20 });
      expect(running.stderr()).toContain(`refusing to use the policy at ${policyPath}: ${detail}`);
      expect(running.stderr()).toContain(fix);
      const claudeCalls = setup.claude.exchanges.length;
      expect(await ask(hosted)).toBe('403 route_denied');
      expect(await ask('auto')).toBe('ollama');
      expect(setup.claude.exchanges.length).toBe(claudeCalls);
      expect(await failedClosed()).toBe('1');

      // Fixed, and no SIGHUP: the gateway's next look (within a second of a request) finds it.
      const reloadedBefore = reloads();
      tighten();
      await vi.waitFor(
        async () => {
          await failedClosed();
          expect(reloads()).toBeGreaterThan(reloadedBefore);
        },
        { timeout: 20_000, interval: 100 },
      );
      expect(await ask(hosted)).toBe('claude');
      expect(await failedClosed()).toBe('0');
    }

    // A home directory others can write: its policy fails closed, and its token (which others could
    // have replaced) is no longer accepted — every request refused until `chmod 700`.
    const warnings = running.stderr().split('requests go to local providers only').length - 1;
    chmodSync(home, 0o757);
    running.server.kill('SIGHUP');
    await vi.waitFor(() => expect(running.stderr().split('requests go to local providers only').length - 1).toBeGreaterThan(warnings), { timeout: 20_000, interval: 20 });
    expect(running.stderr()).toContain(`refusing to use the policy at ${policyPath}: ${home} has mode 0757: others can delete and replace`);
    expect(running.stderr()).toContain(`chmod 700 ${home}`);
    const claudeCalls = setup.claude.exchanges.length;
    expect(await ask(hosted)).toBe('503 token_unavailable');
    chmodSync(home, 0o700);
    await vi.waitFor(async () => expect(await ask(hosted)).toBe('claude'), { timeout: 20_000, interval: 100 });
    expect(setup.claude.exchanges.length).toBe(claudeCalls + 1);
    expect(await failedClosed()).toBe('0');
  });
});

describe.skipIf(process.platform === 'win32')('the permit key and gateway token in a directory others can write', () => {
  it('are refused (exit 4) as the policy is', { timeout: 90_000 }, async () => {
    const home = setup.scenario.home;
    const keyPath = join(home, 'permit.key');
    chmodSync(home, 0o777);
    const printed = await runCli(['--json', 'serve', '--print-token'], { home, env });
    expect(printed.exitCode).toBe(4);
    expect(parseJsonDocument(printed.stdout)).toMatchObject({ ok: false, error: { code: 'gateway_token_insecure', hint: `\`chmod 700 ${home}\`` } });
    chmodSync(home, 0o700);
    chmodSync(keyPath, 0o620);
    const run = await runCli(['--json', 'run', 'hi', '--no-stream'], { home, env });
    expect(run.exitCode).toBe(4);
    expect(parseJsonDocument(run.stdout)).toMatchObject({ ok: false, error: { code: 'permit_key_insecure', message: expect.stringContaining(`${keyPath} has mode 0620: its group can change it`) } });
    chmodSync(keyPath, 0o600);
  });
});
