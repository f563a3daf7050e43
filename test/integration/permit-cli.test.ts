import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/prepared-home.js';
import { issuePermitInHome, registerFilesInHome, storedEvidenceList } from '../helpers/store.js';

function providerYaml(id: string, providerClass: string, baseUrl: string): string {
  return `apiVersion: syndicate/v1
kind: Provider
id: ${id}
class: ${providerClass}
wire: openai
baseUrl: ${baseUrl}
models:
  - id: llama3.2:3b
    contextWindow: 8192
    capabilityClass: small
    aliases: [llama-small]
`;
}

interface DenialSummary {
  kind: string;
  state: string;
  error: { code: string };
}

describe('syndicate permit', () => {
  let home: string;
  let cleanup: () => void = () => {};

  async function cli(args: string[]) {
    return runCli(args, { home });
  }

  /** Stores the record in this process, as `provider register` does (not this file's subject). */
  async function register(id: string, providerClass: string, baseUrl: string): Promise<void> {
    const file = join(home, `${id}.yaml`);
    writeFileSync(file, providerYaml(id, providerClass, baseUrl));
    await registerFilesInHome(home, file);
  }

  /** The refusals in evidence, newest first, as `evidence list --state denied` lists them (read in this process): these commands make no request, so each is a `permit_check`. */
  function denials(): DenialSummary[] {
    const rows = storedEvidenceList(home, { state: 'denied' }) as unknown as DenialSummary[];
    for (const row of rows) expect(row.kind).toBe('permit_check');
    return rows;
  }

  beforeAll(async () => {
    const temporary = await initialisedHome('syndicate-permit-cli-');
    home = temporary.home;
    cleanup = temporary.cleanup;
    await register('local-engine', 'local', 'http://127.0.0.1:11434/v1');
    await register('shady', 'blocked', 'https://shady.example.com/v1');
  });
  afterAll(() => cleanup());

  it('issue refuses, as the router would at every use, a permit for a class the policy never lets receive its sensitivity (exit 4, recorded)', async () => {
    await register('hosted-api', 'approved_hosted', 'https://api.example.com/v1');
    const before = denials().length;
    const refused = await cli(['--json', 'permit', 'issue', '--provider', 'hosted-api', '--model', 'llama-small', '--sensitivity', 'restricted']);
    expect(refused.exitCode).toBe(4);
    expect(refused.stdout).not.toMatch(/syn1\./);
    expect(parseJsonDocument(refused.stdout)).toMatchObject({
      ok: false,
      error: {
        code: 'route_denied',
        message: 'permit refused: hosted-api:llama3.2:3b may never receive restricted data: class approved_hosted may not receive restricted data (allowed: local)',
        hint: expect.stringMatching(/^data this sensitive stays on this host: register a local provider .*; `syndicate route --explain` shows every rule$/),
      },
    });
    expect(denials().length).toBe(before + 1);
    // A level the class may receive is issued as before.
    const allowed = await cli(['permit', 'issue', '--provider', 'hosted-api', '--model', 'llama-small', '--sensitivity', 'public']);
    expect(allowed.exitCode, allowed.stderr).toBe(0);
  });

  it('issue prints only the token; verify reports the scope without consuming it (exit 0 twice)', async () => {
    // Ten minutes: the three verifies below are three CLI starts, 5-10 s each on a loaded machine, which a 30 s permit need not outlive.
    const issued = await cli(['permit', 'issue', '--provider', 'local-engine', '--model', 'llama-small', '--ttl', '10m', '--sensitivity', 'internal']);
    expect(issued.exitCode, issued.stderr).toBe(0);
    const token = issued.stdout.trim();
    // execa strips the trailing newline: stdout is exactly one line, the token
    expect(issued.stdout).toBe(token);
    expect(issued.stdout).not.toContain('\n');
    expect(token).toMatch(/^syn1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(issued.stderr).toMatch(/^permit pmt_\w+ for local-engine@v1 model llama3\.2:3b, data up to internal; single use, expires /);

    for (let round = 0; round < 2; round += 1) {
      const verified = await cli(['permit', 'verify', token, '--provider', 'local-engine', '--model', 'llama3.2:3b', '--json']);
      expect(verified.exitCode, verified.stderr).toBe(0);
      const document = parseJsonDocument(verified.stdout);
      expect(document).toMatchObject({
        ok: true,
        valid: true,
        consumed: false,
        permit: { v: 1, provider: 'local-engine', providerVersion: 1, model: 'llama3.2:3b', maxSensitivity: 'internal' },
        provider: { id: 'local-engine', version: 1, class: 'local' },
      });
      expect(document.expiresInMs as number).toBeGreaterThan(0);
      expect(document.expiresInMs as number).toBeLessThanOrEqual(600_000);
    }
    const human = await cli(['permit', 'verify', token]);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/^valid: permit pmt_\w+ is unused and expires in \d+ s/);
    expect(human.stdout).toContain('local-engine@v1 (local)');
  });

  it('issue --json prints one document with the token, the payload and the provider version', async () => {
    const issued = await cli(['permit', 'issue', '--provider', 'local-engine', '--model', 'llama3.2:3b', '--session', 'ses_1', '--json']);
    expect(issued.exitCode, issued.stderr).toBe(0);
    expect(issued.stderr).toBe('');
    const document = parseJsonDocument(issued.stdout);
    expect(document).toMatchObject({
      ok: true,
      permit: { provider: 'local-engine', providerVersion: 1, model: 'llama3.2:3b', maxSensitivity: 'public', session: 'ses_1' },
      provider: { id: 'local-engine', version: 1, class: 'local' },
    });
    const permit = document.permit as { iat: number; exp: number };
    expect(permit.exp - permit.iat).toBe(60_000);
    expect(document.expiresAt).toBe(new Date(permit.exp).toISOString());
    expect(String(document.token)).toMatch(/^syn1\./);
  });

  it('a forged token exits 4 with the error JSON shape and leaves a denial row', async () => {
    // Issued in this process: what verify makes of the forged token is the subject.
    const [prefix, payload, signature] = issuePermitInHome(home, 'local-engine', 'llama3.2:3b').split('.') as [string, string, string];
    const forged = `${prefix}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    const before = denials().length;
    const result = await cli(['permit', 'verify', forged, '--json']);
    expect(result.exitCode).toBe(4);
    const document = parseJsonDocument(result.stdout);
    expect(Object.keys(document)).toEqual(['ok', 'error']);
    expect(document).toEqual({
      ok: false,
      error: {
        code: 'permit_forged',
        message: 'permit refused: the signature does not match (forged, tampered with, or signed with another key)',
        hint: 'issue a new permit with `syndicate permit issue` on this host; permits from another data directory are not valid here',
        details: { evidenceId: expect.stringMatching(/^ev_/) },
      },
    });
    expect(result.stderr).toBe('');
    const after = denials();
    expect(after).toHaveLength(before + 1);
    // The refusal names the denial row it left.
    expect(after[0]).toMatchObject({ id: (document as { error: { details: { evidenceId: string } } }).error.details.evidenceId, state: 'denied', error: { code: 'permit_forged' } });
  });

  it('refuses a token that is not a permit (exit 4, permit_malformed)', async () => {
    const result = await cli(['permit', 'verify', 'hello', '--json']);
    expect(result.exitCode).toBe(4);
    expect(parseJsonDocument(result.stdout)).toMatchObject({ ok: false, error: { code: 'permit_malformed' } });
  });

  it('refuses another model (exit 4, out of scope, naming both)', async () => {
    const token = issuePermitInHome(home, 'local-engine', 'llama3.2:3b');
    const result = await cli(['permit', 'verify', token, '--model', 'qwen2.5:7b']);
    expect(result.exitCode).toBe(4);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('out of scope — model: permit has "llama3.2:3b", invocation uses "qwen2.5:7b"');
  });

  it('refuses an expired permit (exit 4)', async () => {
    const token = issuePermitInHome(home, 'local-engine', 'llama3.2:3b', 1);
    const result = await cli(['permit', 'verify', token, '--json']);
    expect(result.exitCode).toBe(4);
    expect(parseJsonDocument(result.stdout)).toMatchObject({ ok: false, error: { code: 'permit_expired' } });
  });

  it('unknown provider exits 2; blocked provider exits 4 with a denial row; bad flags exit 2', async () => {
    const unknown = await cli(['permit', 'issue', '--provider', 'nope', '--model', 'x', '--json']);
    expect(unknown.exitCode).toBe(2);
    expect(parseJsonDocument(unknown.stdout)).toMatchObject({ ok: false, error: { code: 'usage', message: 'unknown provider "nope"' } });

    const before = denials().length;
    const blocked = await cli(['permit', 'issue', '--provider', 'shady', '--model', 'llama3.2:3b', '--json']);
    expect(blocked.exitCode).toBe(4);
    expect(parseJsonDocument(blocked.stdout)).toMatchObject({ ok: false, error: { code: 'provider_blocked' } });
    const after = denials();
    expect(after).toHaveLength(before + 1);
    expect(after[0]?.error.code).toBe('provider_blocked');

    // The provider is checked first: a typo is named as one, then the missing --model; with the provider known, its models.
    const typo = await cli(['permit', 'issue', '--provider', 'local-engin', '--json']);
    expect(typo.exitCode).toBe(2);
    expect(parseJsonDocument(typo.stdout)).toMatchObject({
      ok: false,
      error: { code: 'usage', message: 'unknown provider "local-engin" (did you mean "local-engine"?)', hint: expect.stringMatching(/^known providers: .*local-engine.*; then name one of its models with --model$/) },
    });
    const noModel = await cli(['permit', 'issue', '--provider', 'local-engine', '--json']);
    expect(noModel.exitCode).toBe(2);
    expect(parseJsonDocument(noModel.stdout)).toMatchObject({
      ok: false,
      error: { code: 'usage', message: '--model is missing: a permit is for one model of local-engine', hint: 'add --model with one of: llama3.2:3b' },
    });
    const noProvider = await cli(['permit', 'issue', '--model', 'llama3.2:3b']);
    expect(noProvider.exitCode).toBe(2);
    expect(noProvider.stderr).toMatch(/^error: required option '--provider <id>' not specified\n/);
    expect((await cli(['permit', 'issue', '--provider', 'local-engine', '--model', 'llama3.2:3b', '--ttl', 'soon'])).exitCode).toBe(2);
    expect((await cli(['permit', 'issue', '--provider', 'local-engine', '--model', 'llama3.2:3b', '--ttl', '2h'])).exitCode).toBe(2);
    // A bare --ttl (30 minutes? 30 seconds?) is refused with the units a permit may have, not read as seconds.
    const bareTtl = await cli(['permit', 'issue', '--provider', 'local-engine', '--model', 'llama3.2:3b', '--ttl', '30']);
    expect(bareTtl.exitCode).toBe(2);
    expect(bareTtl.stdout).toBe('');
    expect(bareTtl.stderr).toBe('error: --ttl "30" has no unit: 30 minutes or 30 seconds?\nhint: write the unit: --ttl 30m for 30 minutes (or 30s)');
    expect((await cli(['permit', 'issue', '--provider', 'local-engine', '--model', 'llama3.2:3b', '--sensitivity', 'secret'])).exitCode).toBe(2);
  });

  it('a permit issued before the provider was re-registered with a new base URL is refused (exit 4)', async () => {
    await register('moving', 'local', 'http://127.0.0.1:11434/v1');
    const token = issuePermitInHome(home, 'moving', 'llama3.2:3b');
    expect((await cli(['permit', 'verify', token])).exitCode).toBe(0);
    await register('moving', 'local', 'http://127.0.0.1:8080/v1');
    const result = await cli(['permit', 'verify', token, '--json']);
    expect(result.exitCode).toBe(4);
    const document = parseJsonDocument(result.stdout) as { error: { code: string; message: string; hint: string } };
    expect(document.error.code).toBe('permit_out_of_scope');
    expect(document.error.message).toContain('providerVersion: permit has 1, invocation uses 2');
    expect(document.error.hint).toContain('registered again');
  });

  it('refuses to use a permit key readable by others (exit 4, chmod hint)', async () => {
    const keyPath = join(home, 'permit.key');
    chmodSync(keyPath, 0o644);
    try {
      const result = await cli(['permit', 'issue', '--provider', 'local-engine', '--model', 'llama3.2:3b', '--json']);
      expect(result.exitCode).toBe(4);
      expect(parseJsonDocument(result.stdout)).toMatchObject({ ok: false, error: { code: 'permit_key_insecure', hint: expect.stringContaining(`chmod 600 ${keyPath}`) } });
    } finally {
      chmodSync(keyPath, 0o600);
    }
  });

  it('metrics count the refused permit checks apart from denied requests (none were made)', async () => {
    // A refusal of its own, beside whatever the earlier tests left: the tests may run in any order.
    const before = denials().length;
    expect((await cli(['permit', 'issue', '--provider', 'shady', '--model', 'llama3.2:3b', '--json'])).exitCode).toBe(4);
    const refused = denials().length;
    expect(refused).toBe(before + 1);
    const result = await cli(['--json', 'metrics', '--since', '1h']);
    expect(result.exitCode, result.stderr).toBe(0);
    const { metrics } = parseJsonDocument(result.stdout) as {
      metrics: { requests: { denied: number }; permitChecksRefused: number; bySensitivity: { denied: number }[]; unclassified: { denied: number } };
    };
    expect(metrics.requests.denied).toBe(0);
    expect(metrics.permitChecksRefused).toBe(refused);
    expect(metrics.bySensitivity.map((entry) => entry.denied)).toEqual([0, 0, 0, 0]);
    expect(metrics.unclassified.denied).toBe(0);
    const human = await cli(['metrics', '--since', '1h']);
    expect(human.stdout).toContain(', 0 denied\n');
    expect(human.stdout).toContain(`permits   ${refused} refused outside any request (permit issue/verify): not counted as denied requests\n`);
  });

  it('without init there is no key: exit 6 with a `syndicate init` hint', async () => {
    const bare = makeTempHome('syndicate-permit-bare-');
    try {
      const result = await runCli(['permit', 'verify', 'syn1.a.b', '--json'], { home: bare.home });
      expect(result.exitCode).toBe(6);
      expect(parseJsonDocument(result.stdout)).toMatchObject({ ok: false, error: { code: 'permit_key_missing', hint: expect.stringContaining('syndicate init') } });
    } finally {
      bare.cleanup();
    }
  });
});
