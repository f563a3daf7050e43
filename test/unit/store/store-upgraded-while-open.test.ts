/**
 * A store migrated by a newer syndicate while a process of an older build keeps it open (the
 * package upgraded under a running gateway or MCP server): that process writes nothing more. It
 * went on writing rows of its own schema — a build from before migration 21 appended session turns
 * without their chain link, which `evidence verify` then reported as a session changed outside
 * syndicate (exit 1). Here the older build is this one with its last migration left out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../../src/errors.js';
import { statementsFor } from '../../../src/evidence/statements.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import { MIGRATIONS } from '../../../src/store/migrations/index.js';
import { openStore, type Store } from '../../../src/store/store.js';

const NEWEST = Math.max(...MIGRATIONS.map((migration) => migration.version));
const OLDER_BUILD = MIGRATIONS.filter((migration) => migration.version < NEWEST);

describe('a store upgraded by a newer syndicate while this process has it open', () => {
  let directory: string;
  let path: string;
  const opened: Store[] = [];
  const open = (migrations = MIGRATIONS): Store => {
    const store = openStore(path, { migrations });
    opened.push(store);
    return store;
  };
  /** One row of a table every build since migration 15 writes alike: an engine event, `model` naming the write. */
  const recordEngineEvent = (store: Store, model: string): void => {
    store.statement("INSERT INTO engine_events (created_at, provider_id, model, kind, pid) VALUES ('2026-12-06T10:00:00.000Z', 'ollama', ?, 'load', 1)").run(model);
  };
  const engineEvents = (store: Store): string[] => store.db.prepare('SELECT model FROM engine_events ORDER BY id').pluck(true).all() as string[];

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-upgraded-while-open-'));
    path = join(directory, 'syndicate.db');
  });
  afterEach(() => {
    for (const store of opened.splice(0)) store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('refuses every write transaction of the older process (exit 6, naming both schemas and the restart), writing nothing', () => {
    const older = open(OLDER_BUILD);
    older.transaction(() => recordEngineEvent(older, 'before'));

    const newer = open();
    expect(newer.appliedMigrations()).toContain(NEWEST);

    let refusal: unknown;
    try {
      older.transaction(() => recordEngineEvent(older, 'after'));
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(StoreError);
    expect((refusal as StoreError).exitCode).toBe(6);
    expect((refusal as StoreError).message).toBe(
      `the store at ${path} was upgraded by a newer syndicate while this process was running (schema ${NEWEST} > ${NEWEST - 1}): it writes nothing more to it until restarted with the newer syndicate`,
    );
    expect((refusal as StoreError).hint).toBe('stop this process (a gateway, an MCP server) and start it again with the newer syndicate');
    // The evidence recorder's own transactions, and a gateway's group commit.
    expect(() => statementsFor(older).transaction(() => recordEngineEvent(older, 'evidence'))).toThrow(/upgraded by a newer syndicate while this process was running/);
    expect(engineEvents(newer)).toEqual(['before']);
  });

  it('rejects every unit of a gateway batch, committing none of them', async () => {
    const older = open(OLDER_BUILD);
    const committer = new GroupCommitter(older);
    await committer.run(() => recordEngineEvent(older, 'before'));

    const newer = open();
    const units = [committer.run(() => recordEngineEvent(older, 'first')), committer.run(() => recordEngineEvent(older, 'second'))];
    for (const unit of units) await expect(unit).rejects.toThrow(/upgraded by a newer syndicate while this process was running/);
    expect(older.db.inTransaction).toBe(false);
    expect(engineEvents(newer)).toEqual(['before']);
  });

  it('still writes after a schema change that is no newer migration: another process of its own build, an index of the operator', () => {
    const store = open();
    const sameBuild = open();
    sameBuild.db.exec('CREATE INDEX operator_engine_events_kind ON engine_events(kind)');
    store.transaction(() => recordEngineEvent(store, 'store'));
    statementsFor(store).transaction(() => recordEngineEvent(store, 'evidence'));
    // Nested transactions (savepoints) inside one that passed.
    store.transaction(() => store.transaction(() => recordEngineEvent(store, 'nested')));
    expect(engineEvents(sameBuild)).toEqual(['store', 'evidence', 'nested']);
  });
});
