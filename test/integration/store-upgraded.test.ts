/**
 * A home upgraded by a newer syndicate (here: this build's migrations and one more, 28), seen by
 * this build — the downgrade. A command opening it refuses it (exit 6) and leaves it as it was; a
 * gateway that had it open before the upgrade refuses every request after it, sending nothing,
 * where it went on writing rows of its older schema (a build from before migration 21 wrote
 * session turns without their chain link, which `evidence verify` then reported as tampering).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, type Migration } from '../../src/store/migrations/index.js';
import { openStore } from '../../src/store/store.js';
import { inferenceExchanges, registeredEngineScenario } from '../helpers/scenario.js';
import { servedEngineScenario } from '../helpers/serve.js';

const KNOWN = Math.max(...MIGRATIONS.map((migration) => migration.version));
const FUTURE: Migration = { version: KNOWN + 1, name: 'a-newer-syndicate', sql: 'CREATE TABLE a_newer_syndicate (id INTEGER PRIMARY KEY);' };

/** What a newer syndicate does to the home on its first command: migrates its store. */
function upgradeStore(home: string): void {
  openStore(join(home, 'syndicate.db'), { migrations: [...MIGRATIONS, FUTURE] }).close();
}

function storeRows(home: string): { migrations: number[]; evidence: number } {
  const store = openStore(join(home, 'syndicate.db'), { migrations: [...MIGRATIONS, FUTURE] });
  try {
    return { migrations: store.appliedMigrations(), evidence: store.db.prepare('SELECT count(*) FROM evidence').pluck(true).get() as number };
  } finally {
    store.close();
  }
}

describe('a command of this build on a store a newer syndicate migrated', () => {
  const setup = registeredEngineScenario('local', { kind: 'ollama' });

  it('refuses it (exit 6), naming both schemas and the upgrade, and leaves it as it was', { timeout: 90_000 }, async () => {
    const answered = await setup.scenario.cli(['run', 'What is the capital of France?']);
    expect(answered.exitCode, answered.stderr).toBe(0);
    upgradeStore(setup.scenario.home);
    const before = storeRows(setup.scenario.home);
    const sentBefore = inferenceExchanges(setup.engine).length;

    for (const args of [['run', 'What is the capital of France?'], ['evidence', 'verify'], ['metrics'], ['provider', 'list'], ['init']]) {
      const refused = await setup.scenario.cli(args);
      expect(refused.exitCode, `${args.join(' ')}: ${refused.stderr}`).toBe(6);
      expect(refused.stderr).toBe(
        `error: the store at ${join(setup.scenario.home, 'syndicate.db')} was written by a newer syndicate (schema ${KNOWN + 1} > ${KNOWN})\n` +
          'hint: upgrade syndicate, or point --home at another data directory',
      );
    }
    const json = await setup.scenario.json(['run', 'What is the capital of France?']);
    expect(json.result.exitCode).toBe(6);
    expect(json.document).toMatchObject({ ok: false, error: { code: 'store_failure' } });
    expect(inferenceExchanges(setup.engine).length).toBe(sentBefore);
    expect(storeRows(setup.scenario.home)).toEqual(before);
  });
});

describe('a gateway of this build running while a newer syndicate migrates its store', () => {
  const setup = servedEngineScenario('local', { kind: 'ollama' });

  it('refuses every request after the upgrade with the restart to do, sending nothing and recording nothing, and /healthz says store_upgraded (503)', { timeout: 90_000 }, async () => {
    const token = readFileSync(join(setup.scenario.home, 'gateway.token'), 'utf8').trim();
    const client = new OpenAI({ baseURL: `${setup.gateway.url}/v1`, apiKey: token, maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    expect((await ask()).choices[0]?.message.content).toBeTruthy();
    expect((await fetch(`${setup.gateway.url}/healthz`)).status).toBe(200);

    upgradeStore(setup.scenario.home);
    const before = storeRows(setup.scenario.home);
    const sentBefore = inferenceExchanges(setup.engine).length;

    const refused = await ask().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    const { status, error } = refused as InstanceType<typeof OpenAI.APIError>;
    expect(status).toBe(500);
    expect(error).toMatchObject({ code: 'store_failure' });
    expect((error as { message: string }).message).toContain(`was upgraded by a newer syndicate while this process was running (schema ${KNOWN + 1} > ${KNOWN})`);
    expect((error as { message: string }).message).toContain('it writes nothing more to it until restarted with the newer syndicate');
    expect(inferenceExchanges(setup.engine).length).toBe(sentBefore);
    expect(storeRows(setup.scenario.home)).toEqual(before);
    // A monitor sees it down, to restart it with the newer build.
    const health = await fetch(`${setup.gateway.url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'store_upgraded' });
  });
});
