import Database from 'better-sqlite3';
import { execa } from 'execa';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../helpers/cli.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, providerYaml, Scenario } from '../helpers/scenario.js';
import { storedEvidenceList, storedProviders } from '../helpers/store.js';

/**
 * No call reaches a model without a valid per-invocation permit: every refusal exits 4, makes
 * no upstream call, and is itself a denial row in the evidence.
 */
describe('syndicate run --permit', () => {
  let scenario: Scenario;
  let engine: FakeEngine;
  let moved: FakeEngine;

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp' });
    moved = await startFakeEngine({ kind: 'llama.cpp' });
    scenario = await Scenario.create();
    await scenario.registerInProcess({ id: 'llama', engine }, { id: 'other', engine: moved });
  });
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([engine.close(), moved.close()]);
  });

  /** A permit for public data, issued in this process (`permit issue` itself is test/integration/permit-cli.test.ts's subject). */
  function issue(providerId: string, ttlMs?: number): string {
    return scenario.issuePermitInProcess(providerId, 'qwen2.5-0.5b-instruct-q4_k_m.gguf', ttlMs);
  }

  /**
   * A refusal `where` it must happen: `before routing` (the token's signature, or a flag that
   * contradicts it: no attempt is made, so none is reported) or `at the attempt` (the permit checked
   * against the store and the route: the one attempt, refused, is reported and is the denial's row).
   */
  async function expectRefused(args: string[], code: string, where: 'before routing' | 'at the attempt'): Promise<void> {
    const calls = inferenceExchanges(engine).length + inferenceExchanges(moved).length;
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--no-stream', ...args]);
    expect(result.exitCode, result.stderr).toBe(4);
    const error = document.error as { code: string; details?: { evidenceId?: string; attempts?: { evidenceId?: string; outcome?: string }[] } };
    expect(error.code).toBe(code);
    expect(inferenceExchanges(engine).length + inferenceExchanges(moved).length).toBe(calls);
    const rows = storedEvidenceList(scenario.home, { state: 'denied' }) as { error: { code: string } | null }[];
    expect(rows.some((row) => row.error?.code === code)).toBe(true);
    // The denial's own row, where a script reads every refusal's: `details.evidenceId` (refused before routing or at the attempt alike).
    const evidenceId = error.details?.evidenceId;
    expect(evidenceId, JSON.stringify(error.details)).toEqual(expect.stringMatching(/^ev_/));
    expect(scenario.storedEvidence(evidenceId!)).toMatchObject({ state: 'denied', error: { code } });
    if (where === 'before routing') {
      expect(error.details?.attempts, JSON.stringify(error.details)).toBeUndefined();
    } else {
      // A refusal at the attempt keeps its attempts too: the one made, refused, being that row.
      expect(error.details?.attempts, JSON.stringify(error.details)).toEqual([expect.objectContaining({ outcome: 'failed', evidenceId })]);
    }
  }

  it('a pre-issued permit is used once: the second use is refused as a replay', async () => {
    const token = issue('llama');
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--no-stream', '--permit', token]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document.answer).toBe(DEFAULT_ANSWER);
    await expectRefused(['--permit', token], 'permit_replayed', 'at the attempt');
  });

  it("a permit issued for a stored session by its name is bound to the session's id, as `run --session NAME` uses it", async () => {
    const sessionId = scenario.startSessionInProcess({ name: 'permit-triage', model: 'llama:qwen2.5-0.5b-instruct-q4_k_m.gguf' });
    // Issued through the CLI: its resolution of the session's name is the subject.
    const issued = await scenario.cli(['permit', 'issue', '--provider', 'llama', '--model', 'qwen2.5-0.5b-instruct-q4_k_m.gguf', '--session', 'permit-triage']);
    expect(issued.exitCode, issued.stderr).toBe(0);
    const token = issued.stdout.trim();
    for (const session of ['permit-triage', sessionId]) {
      const verified = await scenario.json(['permit', 'verify', token, '--session', session]);
      expect(verified.result.exitCode, verified.result.stderr).toBe(0);
      expect((verified.document.permit as { session: string }).session).toBe(sessionId);
    }
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--no-stream', '--session', 'permit-triage', '--permit', token]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document.answer).toBe(DEFAULT_ANSWER);
  });

  it('a forged permit (payload edited, signature kept) is refused', async () => {
    const token = issue('llama');
    const [prefix, payload, signature] = token.split('.');
    const decoded = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    decoded.maxSensitivity = 'restricted';
    const forged = [prefix, Buffer.from(JSON.stringify(decoded)).toString('base64url'), signature].join('.');
    await expectRefused(['--permit', forged], 'permit_forged', 'before routing');
  });

  it('an expired permit is refused', async () => {
    const token = issue('llama', 1000);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await expectRefused(['--permit', token], 'permit_expired', 'at the attempt');
  });

  it('a permit for another model is refused as out of scope', async () => {
    const token = issue('llama');
    await expectRefused(['--permit', token, '--provider', 'other'], 'permit_out_of_scope', 'before routing');
  });

  it('--provider or --model that contradicts the permit: the refusal says so and offers dropping the flag or the exact permit issue command', async () => {
    const token = issue('llama');
    const permitId = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { id: string }).id;
    const refused = async (args: string[]) => {
      const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--no-stream', '--permit', token, ...args]);
      expect(result.exitCode, result.stderr).toBe(4);
      return document.error as { code: string; message: string; hint: string };
    };
    expect(await refused(['--provider', 'other'])).toMatchObject({
      code: 'permit_out_of_scope',
      message: `--provider other contradicts permit ${permitId}, which names provider llama model qwen2.5-0.5b-instruct-q4_k_m.gguf`,
      hint:
        "drop --provider to run on the permit's llama:qwen2.5-0.5b-instruct-q4_k_m.gguf, or issue a permit for other and present that one: " +
        '`syndicate permit issue --provider other --model qwen2.5-0.5b-instruct-q4_k_m.gguf --sensitivity public`',
    });
    // A model of another provider named by --model, and another model of the permit's provider named by --provider id:model.
    await scenario.registerInProcess({ id: 'pair', engine: moved, model: 'llama3.2:1b' });
    expect(await refused(['--model', 'llama3.2:1b'])).toMatchObject({
      message: `--model llama3.2:1b contradicts permit ${permitId}, which names provider llama model qwen2.5-0.5b-instruct-q4_k_m.gguf`,
      hint: expect.stringMatching(/^drop --model to run on the permit's llama:qwen2\.5-0\.5b-instruct-q4_k_m\.gguf, or issue a permit for pair:llama3\.2:1b and present that one: `syndicate permit issue --provider pair --model llama3\.2:1b --sensitivity public`$/),
    });
    expect((await refused(['--provider', 'pair:llama3.2:1b'])).message).toBe(
      `--provider pair contradicts permit ${permitId}, which names provider llama model qwen2.5-0.5b-instruct-q4_k_m.gguf`,
    );
    // Refused without using it: the permit still serves what it was issued for.
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--no-stream', '--permit', token, '--provider', 'llama']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document.answer).toBe(DEFAULT_ANSWER);
  });

  it("--provider naming the permit's own provider runs on the permit's model, not on whichever of its models routing ranks first", async () => {
    const { writeFileSync } = await import('node:fs');
    const path = join(scenario.home, 'two-models.yaml');
    // The permit's model is the one routing ranks last (lower priority).
    writeFileSync(
      path,
      providerYaml({ id: 'two-models', engine }).replace(
        'models:\n',
        'models:\n  - id: "preferred.gguf"\n    contextWindow: 32768\n    capabilityClass: small\n    priority: 100\n',
      ),
    );
    await scenario.registerFilesInProcess(path);
    const token = issue('two-models');
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--no-stream', '--permit', token, '--provider', 'two-models']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ model: 'qwen2.5-0.5b-instruct-q4_k_m.gguf', provider: { id: 'two-models' } });
  });

  it("a permit for another provider is refused as out of scope when the one named has no key set, not skipped with 'export the key'", async () => {
    const hosted = await startFakeEngine({ kind: 'anthropic' });
    const keyless = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    try {
      await keyless.registerInProcess(
        { id: 'llama', engine },
        { id: 'claude', engine: hosted, class: 'approved_hosted', authEnv: 'SYNDICATE_TEST_KEY_NEVER_SET', price: { inputPerMTok: 3, outputPerMTok: 15 } },
      );
      const token = keyless.issuePermitInProcess('llama', 'qwen2.5-0.5b-instruct-q4_k_m.gguf');
      const { result, document } = await keyless.json(['run', 'Name the capital of France.', '--no-stream', '--provider', 'claude', '--permit', token]);
      expect(result.exitCode, result.stderr).toBe(4);
      expect(document.error).toMatchObject({ code: 'permit_out_of_scope' });
      expect((document.error as { hint: string }).hint).not.toContain('SYNDICATE_TEST_KEY_NEVER_SET');
      expect(inferenceExchanges(hosted)).toHaveLength(0);
      // Not consumed by the refusal: it still serves the provider it was issued for.
      const verified = await keyless.cli(['permit', 'verify', token]);
      expect(verified.exitCode, verified.stderr).toBe(0);
    } finally {
      keyless.cleanup();
      await hosted.close();
    }
  });

  it('a permit issued before the provider was re-registered with a new base URL is refused', async () => {
    const token = issue('other');
    const replacement = await startFakeEngine({ kind: 'llama.cpp' });
    try {
      const path = join(scenario.home, 'other-moved.yaml');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(path, providerYaml({ id: 'other', engine: replacement }));
      await scenario.registerFilesInProcess(path);
      expect(storedProviders(scenario.home).find((provider) => provider.id === 'other')).toMatchObject({ currentVersion: 2 });
      await expectRefused(['--permit', token], 'permit_out_of_scope', 'at the attempt');
      expect(inferenceExchanges(replacement)).toHaveLength(0);
    } finally {
      await replacement.close();
    }
  });

  it('a blocked provider gets no permit and no call', async () => {
    const blocked = await startFakeEngine({ kind: 'openai' });
    try {
      const path = join(scenario.home, 'blocked.yaml');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(path, providerYaml({ id: 'blocked-one', engine: blocked, class: 'blocked' }));
      await scenario.registerFilesInProcess(path);
      const refused = await scenario.json(['permit', 'issue', '--provider', 'blocked-one', '--model', 'gpt-4o-mini']);
      expect(refused.result.exitCode).toBe(4);
      expect((refused.document.error as { code: string }).code).toBe('provider_blocked');
      const run = await scenario.json(['run', 'Name the capital of France.', '--no-stream', '--provider', 'blocked-one']);
      expect(run.result.exitCode).toBe(4);
      expect(inferenceExchanges(blocked)).toHaveLength(0);
    } finally {
      await blocked.close();
    }
  });

  it('two processes racing the same permit: exactly one is served, the other is refused as a replay', async () => {
    const token = issue('llama');
    const before = inferenceExchanges(engine).length;
    const runOnce = () =>
      execa('node', [BIN, '--json', 'run', 'Name the capital of France.', '--no-stream', '--permit', token], {
        cwd: REPO_ROOT,
        env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1' },
        reject: false,
      });
    const results = await Promise.all([runOnce(), runOnce()]);
    expect(results.map((result) => result.exitCode).sort()).toEqual([0, 4]);
    const refused = results.find((result) => result.exitCode === 4)!;
    expect(JSON.parse(String(refused.stdout)).error.code).toBe('permit_replayed');
    expect(inferenceExchanges(engine).length - before).toBe(1);
  });

  it('every refusal is a chained denial row and the chain still verifies', async () => {
    // The bytes of an envelope live in evidence_chunks (seq 0 the request, then the response).
    // A refused `permit issue` makes no request: it is a `permit_check`; a refused run is a denial.
    const refusals = (): { kind: string; state: string; chunks: number }[] => {
      const db = new Database(join(scenario.home, 'syndicate.db'), { readonly: true });
      try {
        return db
          .prepare("SELECT kind, state, (SELECT count(*) FROM evidence_chunks WHERE evidence_id = evidence.id) AS chunks FROM evidence WHERE kind IN ('denial', 'permit_check')")
          .all() as { kind: string; state: string; chunks: number }[];
      } finally {
        db.close();
      }
    };
    const count = (rows: { kind: string }[], kind: string): number => rows.filter((row) => row.kind === kind).length;
    // Refusals of its own, beside whatever the earlier tests left: the tests may run in any order.
    const before = refusals();
    const [prefix, payload, signature] = issue('llama').split('.');
    const decoded = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    decoded.model = 'another.gguf';
    await expectRefused(['--permit', [prefix, Buffer.from(JSON.stringify(decoded)).toString('base64url'), signature].join('.')], 'permit_forged', 'before routing');
    const path = join(scenario.home, 'blocked-refusals.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, providerYaml({ id: 'blocked-refusals', engine: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' } as FakeEngine, class: 'blocked' }));
    await scenario.registerFilesInProcess(path);
    expect((await scenario.json(['permit', 'issue', '--provider', 'blocked-refusals', '--model', 'gpt-4o-mini'])).result.exitCode).toBe(4);

    const rows = refusals();
    expect(count(rows, 'denial')).toBe(count(before, 'denial') + 1);
    expect(count(rows, 'permit_check')).toBe(count(before, 'permit_check') + 1);
    for (const row of rows) {
      expect(row.state).toBe('denied');
      expect(row.chunks).toBe(0);
    }
    expect((await scenario.cli(['evidence', 'verify'])).exitCode).toBe(0);
  });
});
